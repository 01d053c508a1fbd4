"""Physics and biology of the simulated ranch: pure numpy functions of time arrays and parameters."""

"""The buoy and gateway agent: drivers, edge QC, store-and-forward and the technician's CLI."""

"""Carbon stocks, the island budget, uncertainty and MRV reports."""

"""Early warnings: hypoxia, heatwaves, storms, biomass loss, broken moorings, silent devices."""

"""Domain models over the data: the carbon budget (:mod:`models.carbon`) and early warnings (:mod:`models.alerts`)."""

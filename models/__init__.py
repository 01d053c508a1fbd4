"""Domain models over the data: the carbon budget (:mod:`blueranch.models.carbon`) and early warnings
(:mod:`blueranch.models.alerts`)."""

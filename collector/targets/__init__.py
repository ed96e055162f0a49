"""Target files (the project's CSV, Citizen Lab test lists), host names and country codes."""

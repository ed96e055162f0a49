"""The collector's commands: `vantage collector ...` and the queries (`vantage status|timeline|...`)."""

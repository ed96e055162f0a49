"""The Vantage probe: measurement engine, one-off measurements and the daemon."""

"""`vantage probe measure`: one-off measurements, their target parsing and output (table, JSON lines)."""

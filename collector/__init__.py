"""The Vantage collector: enrollment, ingest, work assignment, verdicts and queries."""

"""The collector's Prometheus metrics and the /metrics server."""

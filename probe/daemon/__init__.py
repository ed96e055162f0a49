"""The probe daemon: `vantage probe run`.

Pure pieces (no I/O, no clock, no randomness): config, policy, scheduler,
backoff, pool. Edges: credentials (files), outbox (SQLite), client/uploader/
heartbeat (gRPC), metrics (Prometheus), runner (the asyncio main loop).
See docs/probe.md for how a volunteer runs it.
"""

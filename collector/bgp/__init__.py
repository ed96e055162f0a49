"""The routing signal: BGP route feeds in, per-AS visibility out (issue 17).

`model.py` is the contract between the feeds (live BGP through ExaBGP, RIPE RIS Live, MRT files),
the per-round visibility computation and the verdict engine, which takes `AsRouting` values as one
more input.
"""

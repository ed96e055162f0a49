"""Target discovery: from the address space of ASes and countries to measured targets (docs/discovery.md).

Pure modules, one purpose each: config (knobs), space (ranges -> /24 blocks), policy (what may be
probed), history (per-block response bitmaps, scores), census (the schedule), campaigns,
plan (one round's tasks), hitlist (ISI/IPv6 parsers), selection (targets), coverage.
"""

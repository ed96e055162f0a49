"""Traceroute: TTL-limited ICMP, UDP and TCP SYN probes, Paris-style (docs/probe-engine.md)."""

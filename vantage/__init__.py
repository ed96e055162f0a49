"""Vantage: open, distributed active measurement of Internet shutdowns and censorship."""

# The package's version, also pyproject.toml's (tool.setuptools.dynamic). A literal rather
# than importlib.metadata.version("vantage"): that lookup scans the installed distributions
# and cost ~40 ms at every start of the `vantage` command (`python -X importtime`).
__version__ = "0.1.0"

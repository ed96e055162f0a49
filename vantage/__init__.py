"""Vantage: open, distributed active measurement of Internet shutdowns and censorship."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vantage")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

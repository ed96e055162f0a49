"""`--bgp-source` values: which route feeds a collector reads (pure; one place for the schemes).

exabgp:unix:PATH      listen on a unix stream socket at PATH for ExaBGP's JSON lines (the
                      relay, relay.py, run by ExaBGP's `process`, writes them there)
ris-live:URL          a RIS Live websocket (ws:// or wss://), e.g.
                      wss://ris-live.ripe.net/v1/ws/?client=vantage (never a default)
mrt:PATH[,PATH...]    replay MRT files in order: a RIB dump, then update files
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SCHEMES", "BgpSource", "ExabgpSource", "MrtSource", "RisLiveSource", "parse_bgp_source"]


@dataclass(frozen=True, slots=True)
class ExabgpSource:
    socket_path: Path

    @property
    def name(self) -> str:
        return f"exabgp:unix:{self.socket_path}"


@dataclass(frozen=True, slots=True)
class RisLiveSource:
    url: str

    @property
    def name(self) -> str:
        return f"ris-live:{self.url}"


@dataclass(frozen=True, slots=True)
class MrtSource:
    paths: tuple[Path, ...]

    @property
    def name(self) -> str:
        return "mrt:" + ",".join(str(path) for path in self.paths)


BgpSource = ExabgpSource | RisLiveSource | MrtSource
SCHEMES = ("exabgp:unix:PATH", "ris-live:URL", "mrt:PATH[,PATH...]")


def parse_bgp_source(text: str) -> BgpSource:
    """One `--bgp-source` value; ValueError names what is wrong and the forms accepted."""
    scheme, _, rest = text.partition(":")
    if scheme == "exabgp":
        kind, _, path = rest.partition(":")
        if kind != "unix" or not path:
            raise ValueError(f"{text!r}: an ExaBGP source is exabgp:unix:PATH")
        return ExabgpSource(Path(path))
    if scheme == "ris-live":
        if not rest.startswith(("ws://", "wss://")):
            raise ValueError(f"{text!r}: a RIS Live source is ris-live:ws://... or ris-live:wss://...")
        return RisLiveSource(rest)
    if scheme == "mrt":
        paths = tuple(Path(path) for path in rest.split(",") if path)
        if not paths:
            raise ValueError(f"{text!r}: an MRT source is mrt:PATH[,PATH...]")
        return MrtSource(paths)
    raise ValueError(f"{text!r}: a BGP source is one of {', '.join(SCHEMES)}")

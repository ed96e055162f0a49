"""Read MRT files with mrtparse (an edge: it opens files; the records are decoded by mrt.py)."""

from __future__ import annotations

import importlib
import signal
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from vantage.collector.bgp.messages import FeedMessage
from vantage.collector.bgp.mrt import MrtDecoder
from vantage.collector.bgp.parse_error import ParseError

__all__ = ["read_mrt"]


def _import_mrtparse() -> ModuleType:
    """mrtparse/__init__.py calls signal.signal(SIGPIPE, SIG_DFL) when imported: in the
    collector that would let a write to a closed socket kill the process (Python ignores
    SIGPIPE so that it raises BrokenPipeError), and off the main thread the call raises. The
    import runs with signal.signal made a no-op, so the process keeps its handlers."""
    real = signal.signal

    def keep(signalnum: Any, handler: Any) -> Any:
        return signal.getsignal(signalnum)

    signal.signal = keep
    try:
        return importlib.import_module("mrtparse")
    finally:
        signal.signal = real


mrtparse = _import_mrtparse()


def read_mrt(path: Path) -> Iterator[FeedMessage | ParseError]:
    """Each record of the file in order, decoded, or the error that rejected it (named by its
    position in the file); a bad record loses nothing before or after it. gzip and bzip2
    files are read as such (mrtparse looks at the magic bytes)."""
    decoder = MrtDecoder()
    for index, entry in enumerate(mrtparse.Reader(str(path))):
        where = f"{path.name} record {index}"
        if entry.err:
            yield ParseError(where, "bad_record", str(entry.err_msg))
            continue
        try:
            yield decoder.decode(entry.data)
        except ParseError as exc:
            yield ParseError(f"{where}: {exc.field}", exc.reason, str(exc).partition(": ")[2])

"""The routing signal's state: one table fed by every source, with their statuses and tallies.

Pure: the sources' edges (feeds.py) hand it lines and statuses with the time; the round loop
asks `snapshot(at)`. It is not thread-safe on its own: feeds.py holds the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from vantage.collector.bgp import exabgp_json, mrt, ris_live
from vantage.collector.bgp.messages import FeedMessage
from vantage.collector.bgp.model import AsRouting, FeedStatus
from vantage.collector.bgp.parse_error import ParseError, RejectTally
from vantage.collector.bgp.table import RoutingTable, VisibilityRules

__all__ = ["FORMATS", "RoutingFeed"]

# The text formats by name (MRT is read from files by mrt_files.py, not from lines).
FORMATS: Mapping[str, Callable[[str | bytes], FeedMessage]] = {
    exabgp_json.FORMAT: exabgp_json.parse_exabgp,
    ris_live.FORMAT: ris_live.parse_ris_live,
}
MRT_FORMAT = mrt.FORMAT


class RoutingFeed:
    def __init__(self, rules: VisibilityRules | None = None) -> None:
        self.table = RoutingTable(rules)
        self.tally = RejectTally()
        self._status: dict[str, FeedStatus] = {}
        self.notices: dict[str, str] = {}

    def set_status(self, status: FeedStatus) -> None:
        self._status[status.source] = status
        self.table.set_source(status.source, connected=status.connected, table_loaded=status.table_loaded)

    def mark_loaded(self, source: str, at_unix_s: float) -> None:
        status = self._status.get(source)
        if status is not None and not status.table_loaded:
            self.set_status(replace(status, table_loaded=True, since_unix_s=at_unix_s))

    @property
    def statuses(self) -> list[FeedStatus]:
        return [self._status[name] for name in sorted(self._status)]

    def line(self, source: str, fmt: str, text: str | bytes) -> ParseError | None:
        """One message of a text format; returns the error that rejected it (counted), if any."""
        try:
            message = FORMATS[fmt](text)
        except ParseError as exc:
            self.tally.rejected(fmt, exc)
            return exc
        self.message(source, fmt, message)
        return None

    def message(self, source: str, fmt: str, message: FeedMessage) -> None:
        self.tally.parsed(fmt)
        if message.notice:
            self.notices[source] = message.notice
        self.table.apply(source, message)

    def rejected(self, fmt: str, error: ParseError) -> None:
        self.tally.rejected(fmt, error)

    def snapshot(self, at_unix_s: float) -> Mapping[int, AsRouting]:
        return self.table.visibility(at_unix_s)

"""The one error every route-feed parser raises, and the tally of rejections by reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

__all__ = ["ParseError", "RejectTally"]


class ParseError(ValueError):
    """A feed message that cannot be read: `field` names the offending field (a dotted path
    into the message, e.g. "data.announcements[0].prefixes[1]"), `reason` is a short fixed word
    to count rejections by (a bounded metric label), the message says what was wrong."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = reason


class RejectTally:
    """Messages parsed and rejected, per format and reason (read by the metrics)."""

    def __init__(self) -> None:
        self._parsed: Counter[str] = Counter()
        self._rejected: Counter[tuple[str, str]] = Counter()

    def parsed(self, fmt: str) -> None:
        self._parsed[fmt] += 1

    def rejected(self, fmt: str, error: ParseError) -> None:
        self._rejected[(fmt, error.reason)] += 1

    @property
    def parsed_counts(self) -> Mapping[str, int]:
        return dict(self._parsed)

    @property
    def rejected_counts(self) -> Mapping[tuple[str, str], int]:
        return dict(self._rejected)

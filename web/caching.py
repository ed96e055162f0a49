"""HTTP freshness from the round: a page is fresh until the collector's next round is due.

Round N starts at its `start` and lasts `length`; it is computed after it ends,
so round N+1 is due at start + 2 x length (QueryService.GetLatestRound says
which round is the latest). The ETag names the round (and the software version
and the form, since one address answers several): the same round, the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

# A page is never fresh for less than this (a round that is late must not make every
# request reach the collector) nor more than this (a stalled collector is noticed).
MIN_FRESH_S = 5
MAX_FRESH_S = 3600
# Grace after the next round is due, for the collector to compute and store it.
ROUND_GRACE_S = 5
# A page whose next round is overdue (a stalled collector, an archive) reloads itself this
# seldom, not every MIN_FRESH_S.
OVERDUE_REFRESH_S = 300


@dataclass(frozen=True, slots=True)
class Freshness:
    etag: str
    max_age_s: int
    refresh_s: int  # when a page open in a browser reloads itself (web/static/refresh.js)

    @property
    def cache_control(self) -> str:
        return f"public, max-age={self.max_age_s}"


def freshness(
    round_number: int,
    round_start_unix_s: float,
    round_length_s: float,
    *,
    now_unix_s: float,
    version: str,
    variant: str,
) -> Freshness:
    etag = f'"{version}-{round_number}-{variant}"'
    if round_number <= 0 or round_length_s <= 0:
        return Freshness(etag, MIN_FRESH_S, OVERDUE_REFRESH_S)
    until_due_s = round_start_unix_s + 2 * round_length_s + ROUND_GRACE_S - now_unix_s
    max_age = int(min(MAX_FRESH_S, max(MIN_FRESH_S, until_due_s)))
    return Freshness(etag, max_age, max_age if until_due_s > 0 else OVERDUE_REFRESH_S)


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 section 13.1.2: If-None-Match with a list of tags (weak comparison) or '*'."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags

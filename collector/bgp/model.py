"""Plain values shared by the route feeds, the visibility computation and the verdict engine.

A feed, whatever its source, yields `RouteUpdate`s and says whether it is connected
(`FeedStatus`); the routing table built from them gives, once per round, one `AsRouting` per
origin AS. The verdict engine reads only `AsRouting`: it never sees a feed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["AsRouting", "FeedStatus", "RouteUpdate", "RoutingSnapshot", "RoutingState"]


class RoutingState(enum.IntEnum):
    """What the routes say about one AS's address space in one round, against its baseline."""

    UNKNOWN = 0  # no feed, a feed that is down or still loading its table, or no baseline yet
    VISIBLE = 1  # about as much of the space is visible as in the baseline
    PARTIAL = 2  # part of the space is gone from the table
    WITHDRAWN = 3  # (almost) none of the baseline space is visible


@dataclass(frozen=True, slots=True)
class RouteUpdate:
    """One prefix announced or withdrawn by one peer of a route collector.

    `peer` names the session the route was heard on (for RIS Live "rrc00/192.0.2.1", for MRT
    the peer's address, for ExaBGP the neighbour's address); `as_path` is empty for a
    withdrawal, and its last element is the origin AS otherwise (an AS_SET origin is None).
    """

    peer: str
    peer_asn: int
    prefix: str  # normalised network, e.g. "198.51.100.0/24"
    withdrawn: bool
    as_path: tuple[int, ...]
    origin_asn: int | None
    at_unix_s: float


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """Whether a feed is connected and has its table (a fresh session replays it first)."""

    source: str
    connected: bool
    table_loaded: bool
    since_unix_s: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AsRouting:
    """One origin AS's visibility in the routing table at one instant, against its baseline.

    A prefix counts as visible when more than half of the full-feed peers carry a route to it
    (IODA's rule); addresses are counted over the union of visible prefixes, so a more specific
    announced inside a covering one is not counted twice.
    """

    asn: int
    state: RoutingState
    visible_prefixes: int
    baseline_prefixes: int
    visible_addresses: int
    baseline_addresses: int
    full_feed_peers: int
    reason: str  # one line a person can read, e.g. "2/12 prefixes visible (4% of the address space)"
    # Baseline prefixes now carried with another origin AS (a hijack-like re-announcement of
    # the same prefix): neither visible for this AS nor counted as lost (collector/bgp/table.py).
    contested_prefixes: int = 0

    @property
    def visible_fraction(self) -> float | None:
        if self.baseline_addresses <= 0:
            return None
        return self.visible_addresses / self.baseline_addresses


# What the round loop asks once per round: the routing view at an instant (unix seconds), for
# the ASes it is judging. An AS without an entry has no routing signal (treated as UNKNOWN).
RoutingSnapshot = Callable[[float], Mapping[int, AsRouting]]

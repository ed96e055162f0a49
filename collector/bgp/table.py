"""The routing table and each origin AS's visibility in it (pure: time is an argument).

Theory of operation. Every peer (a BGP session of a route collector) gets a bit; the table maps
each prefix to {origin AS: bitmask of the peers whose best route to the prefix has that
origin}, so a million prefixes heard from twenty peers cost a million small dicts, not twenty
million entries. A peer keeps one route per prefix: an announcement replaces the peer's
previous route (BGP's implicit withdrawal), a withdrawal clears its bit, a session that goes
down clears its bit everywhere.

Once per round, `visibility(at)`:
  1. picks the full-feed peers: live (their source connected, their session up, their table
     loaded) and carrying at least FULL_FEED_FRACTION of the largest live table (a peer that
     was full-feed stays so down to FULL_FEED_KEEP_FRACTION);
  2. counts a prefix visible for an origin when more than half of the full-feed peers carry it
     with that origin (IODA's rule, see AsRouting);
  3. learns each AS's baseline from what is visible, only while there are full-feed peers: the
     prefixes it was seen originating within the baseline window (both kept up to date from
     the prefixes that changed since the last round, so a round costs what changed);
  4. compares: the visible share of the baseline's IPv4 address space (its prefixes when it
     has no IPv4 space) gives VISIBLE, PARTIAL or WITHDRAWN; with no full-feed peer (the feed
     is down or still loading) every AS is UNKNOWN, never WITHDRAWN.

A baseline prefix now originated by another AS (a hijack-like re-announcement of the same
prefix) is neither the owner's visibility nor its loss: it is counted apart (`contested`) and
kept out of the missing share. A more specific announced by another AS is that AS's
visibility, never the owner's (the table is keyed by exact prefix and origin).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vantage.collector.bgp.messages import FeedMessage
from vantage.collector.bgp.model import AsRouting, RouteUpdate, RoutingState
from vantage.collector.bgp.prefixes import prefix_key
from vantage.collector.bgp.union import ipv4_space

__all__ = [
    "DEFAULT_BASELINE_WINDOW_S",
    "DEFAULT_FULL_FEED_FRACTION",
    "DEFAULT_FULL_FEED_KEEP_FRACTION",
    "DEFAULT_VISIBLE_FRACTION",
    "DEFAULT_WITHDRAWN_FRACTION",
    "PeerView",
    "RoutingTable",
    "VisibilityRules",
]

# CAIDA's BGPStream routing-tables plugin (used by IODA) calls a peer full-feed when it carries
# at least 400,000 IPv4 prefixes, about 90% of the table when the rule was set; a fixed count
# does not fit a lab of ten prefixes, so the rule is relative: 90% of the largest live table.
DEFAULT_FULL_FEED_FRACTION = 0.9
# A full-feed peer stays one while it keeps half the largest table: a withdrawal seen by some
# peers before others (or a country's cut in a small table) must not drop the very peers that
# saw it from the count; a peer losing half the table has a broken feed, not a cut to report.
DEFAULT_FULL_FEED_KEEP_FRACTION = 0.5
# An AS keeps in its baseline the prefixes it was seen originating in the last week: long
# enough to outlast a shutdown of days (Kazakhstan, January 2022, five days), short enough to
# forget space the AS really gave up.
DEFAULT_BASELINE_WINDOW_S = 7 * 86400.0
# VISIBLE at 80% of the baseline space or more; WITHDRAWN at 5% or less ("almost none": an AS
# keeping one stray /24 of a /16 is still cut); PARTIAL between.
DEFAULT_VISIBLE_FRACTION = 0.8
_VISIBLE_NOW = float("inf")  # a baseline entry's "last seen" while the prefix is visible
# How often baselines forget what fell out of their window (see _expire): an hour of a week.
DEFAULT_EXPIRY_EVERY_S = 3600.0
DEFAULT_WITHDRAWN_FRACTION = 0.05


@dataclass(frozen=True, slots=True)
class VisibilityRules:
    full_feed_fraction: float = DEFAULT_FULL_FEED_FRACTION
    full_feed_keep_fraction: float = DEFAULT_FULL_FEED_KEEP_FRACTION
    baseline_window_s: float = DEFAULT_BASELINE_WINDOW_S
    visible_fraction: float = DEFAULT_VISIBLE_FRACTION
    withdrawn_fraction: float = DEFAULT_WITHDRAWN_FRACTION
    expiry_every_s: float = DEFAULT_EXPIRY_EVERY_S


class _Peer:
    __slots__ = ("bit", "loaded", "routes", "source", "up")

    def __init__(self, bit: int, source: str) -> None:
        self.bit = bit
        self.source = source
        self.routes = 0
        self.up = True
        self.loaded = False


@dataclass(frozen=True, slots=True)
class PeerView:
    """One peer as the metrics and `vantage status` show it."""

    peer: str
    source: str
    routes: int
    up: bool
    loaded: bool
    full_feed: bool


class RoutingTable:
    def __init__(self, rules: VisibilityRules | None = None) -> None:
        self.rules = rules or VisibilityRules()
        self._routes: dict[int, dict[int | None, int]] = {}
        self._peers: dict[str, _Peer] = {}
        self._free_bits: list[int] = []
        self._next_bit = 0
        self._source_up: dict[str, bool] = {}
        self._source_loaded: dict[str, bool] = {}
        # asn -> {prefix key: last unix second it was visible for that AS}
        self._baseline: dict[int, dict[int, float]] = {}
        self._baseline_space: dict[int, int] = {}  # asn -> IPv4 addresses of its baseline
        self._last_expiry_s = float("-inf")
        self.last_visibility: Mapping[int, AsRouting] = {}
        # The visible prefixes as of the last computation, kept up to date from the prefixes
        # touched since (`_dirty`) while the full-feed set stays the same: a round costs what
        # changed, not the table.
        self._dirty: set[int] = set()
        self._visible_origin: dict[int, int] = {}  # prefix -> the origin more than half carry
        self._visible_keys: dict[int, set[int]] = {}  # origin -> its visible prefixes
        self._computed_for: tuple[int, int] | None = None  # (full-feed mask, peers needed)
        self._previous_at = float("-inf")
        self._full_feed_names: frozenset[str] = frozenset()

    # -- feeding -----------------------------------------------------------------------------

    def apply(self, source: str, message: FeedMessage) -> None:
        for state in message.peer_states:
            if state.up:
                self._peer(state.peer, source).up = True
            else:
                self.peer_down(state.peer)
        for update in message.updates:
            self.update(source, update)
        for name in message.end_of_rib:
            self._peer(name, source).loaded = True

    def update(self, source: str, update: RouteUpdate) -> None:
        peer = self._peer(update.peer, source)
        key = prefix_key(update.prefix)
        if update.withdrawn:
            self._withdraw(peer, key)
        else:
            self._announce(peer, key, update.origin_asn)

    def load_routes(
        self, source: str, peers: Iterable[str], routes: Iterable[tuple[str, int | None]]
    ) -> None:
        """Many peers carrying the same routes at once (a RIB dump's entries, a benchmark)."""
        members = [self._peer(name, source) for name in peers]
        mask = 0
        for peer in members:
            mask |= 1 << peer.bit
        fresh = 0
        for prefix, origin in routes:
            key = prefix_key(prefix)
            if key not in self._routes:  # the common case of a first load: one dict for all
                self._routes[key] = {origin: mask}
                self._dirty.add(key)
                fresh += 1
                continue
            for peer in members:
                self._announce(peer, key, origin)
        for peer in members:
            peer.routes += fresh

    def set_source(self, source: str, *, connected: bool, table_loaded: bool) -> None:
        """A feed's status (FeedStatus): a source that disconnects takes its peers out of the
        count, without touching their routes (they come back fresh or are replaced)."""
        self._source_up[source] = connected
        self._source_loaded[source] = table_loaded

    def peer_down(self, name: str) -> None:
        peer = self._peers.get(name)
        if peer is None:
            return
        bit = 1 << peer.bit
        for key in [key for key, origins in self._routes.items() if any(m & bit for m in origins.values())]:
            self._withdraw(peer, key)
        peer.up = False
        peer.loaded = False

    def _peer(self, name: str, source: str) -> _Peer:
        peer = self._peers.get(name)
        if peer is None:
            bit = self._free_bits.pop() if self._free_bits else self._next_bit
            if bit == self._next_bit:
                self._next_bit += 1
            peer = self._peers[name] = _Peer(bit, source)
        return peer

    def _announce(self, peer: _Peer, key: int, origin: int | None) -> None:
        self._dirty.add(key)
        bit = 1 << peer.bit
        origins = self._routes.get(key)
        if origins is None:
            self._routes[key] = {origin: bit}
            peer.routes += 1
            return
        current = origins.get(origin, 0)
        if current & bit:
            return
        had = False
        for other, mask in list(origins.items()):
            if mask & bit:
                had = True
                if mask == bit:
                    del origins[other]
                else:
                    origins[other] = mask & ~bit
        origins[origin] = current | bit
        if not had:
            peer.routes += 1

    def _withdraw(self, peer: _Peer, key: int) -> None:
        origins = self._routes.get(key)
        if origins is None:
            return
        self._dirty.add(key)
        bit = 1 << peer.bit
        for origin, mask in list(origins.items()):
            if mask & bit:
                peer.routes -= 1
                if mask == bit:
                    del origins[origin]
                else:
                    origins[origin] = mask & ~bit
        if not origins:
            del self._routes[key]

    # -- reading -----------------------------------------------------------------------------

    @property
    def prefix_count(self) -> int:
        return len(self._routes)

    def _live(self, peer: _Peer) -> bool:
        return (
            peer.up
            and self._source_up.get(peer.source, True)
            and (peer.loaded or self._source_loaded.get(peer.source, False))
        )

    def peers(self) -> list[PeerView]:
        full = self._full_feed()
        return [
            PeerView(name, p.source, p.routes, p.up, self._live(p), name in full)
            for name, p in sorted(self._peers.items())
        ]

    def _full_feed(self) -> dict[str, _Peer]:
        live = {name: peer for name, peer in self._peers.items() if self._live(peer)}
        if not live:
            return {}
        largest = max(peer.routes for peer in live.values())
        if largest == 0:
            return {}
        floor = self.rules.full_feed_fraction * largest
        keep = self.rules.full_feed_keep_fraction * largest
        previous = self._full_feed_names
        return {
            name: peer
            for name, peer in live.items()
            if peer.routes >= floor or (name in previous and peer.routes >= keep)
        }

    def visibility(self, at_unix_s: float) -> dict[int, AsRouting]:
        full = self._full_feed()
        self._full_feed_names = frozenset(full)
        if not full:
            result = self._unknown(self._why_unknown())
            self.last_visibility = result
            return result
        full_mask = 0
        for peer in full.values():
            full_mask |= 1 << peer.bit
        need = len(full) // 2 + 1  # more than half
        routes = self._routes
        pairs: Iterable[tuple[int, dict[int | None, int] | None]]
        if self._computed_for == (full_mask, need):
            pairs = [(key, routes.get(key)) for key in self._dirty]
        else:  # the whole table, and what was visible and is gone from it
            gone = [(key, None) for key in self._visible_origin if key not in routes]
            pairs = itertools.chain(routes.items(), gone)
            self._computed_for = (full_mask, need)
        self._refresh(pairs, full_mask, need)
        self._dirty = set()
        self._previous_at = at_unix_s
        self._expire(at_unix_s)
        result = self._compare(full_mask, need, len(full))
        self.last_visibility = result
        return result

    def _refresh(
        self, pairs: Iterable[tuple[int, dict[int | None, int] | None]], full_mask: int, need: int
    ) -> None:
        """Bring the visible prefixes and the baselines up to date for these (prefix, routes).

        A baseline entry holds the last time the prefix was visible for the AS, infinity while
        it still is: learning costs one write per change, not one per prefix per round."""
        visible_origin = self._visible_origin
        visible_keys = self._visible_keys
        baseline = self._baseline
        previous_at = self._previous_at
        appeared: dict[int, list[int]] = {}  # origin -> prefixes now visible for it
        for key, origins in pairs:
            now: int | None = None
            if origins:
                for origin, mask in origins.items():
                    if origin is not None and (mask & full_mask).bit_count() >= need:
                        now = origin
                        break
            before = visible_origin.get(key)
            if before == now:
                continue
            if before is not None:
                visible_keys[before].discard(key)
                baseline[before][key] = previous_at  # last seen at the previous round
            if now is None:
                del visible_origin[key]
                continue
            visible_origin[key] = now
            mine = appeared.get(now)
            if mine is None:
                appeared[now] = [key]
            else:
                mine.append(key)
        for origin, keys in appeared.items():
            shown = visible_keys.get(origin)
            if shown is None:
                visible_keys[origin] = set(keys)
            else:
                shown.update(keys)
            seen = baseline.get(origin)
            if seen is None:
                baseline[origin] = dict.fromkeys(keys, _VISIBLE_NOW)
                self._baseline_space.pop(origin, None)
                continue
            size = len(seen)
            seen.update(dict.fromkeys(keys, _VISIBLE_NOW))
            if len(seen) != size:
                self._baseline_space.pop(origin, None)  # its space is recomputed

    def _expire(self, at_unix_s: float) -> None:
        # Forgetting is exact to within expiry_every_s: a sweep of every baseline is a second's
        # work at a full table, not worth paying every round of a window of days.
        if at_unix_s - self._last_expiry_s < self.rules.expiry_every_s:
            return
        self._last_expiry_s = at_unix_s
        oldest = at_unix_s - self.rules.baseline_window_s
        baseline = self._baseline
        for asn in list(baseline):
            seen = baseline[asn]
            stale = [key for key, last in seen.items() if last < oldest]
            if stale:
                for key in stale:
                    del seen[key]
                self._baseline_space.pop(asn, None)
                if not seen:
                    del baseline[asn]

    def _baseline_spaces(self) -> Mapping[int, int]:
        missing = [asn for asn in self._baseline if asn not in self._baseline_space]
        if missing:
            self._baseline_space.update(dict.fromkeys(missing, 0))
            self._baseline_space.update(_space({asn: self._baseline[asn] for asn in missing}))
        return self._baseline_space

    def _compare(self, full_mask: int, need: int, full_feed: int) -> dict[int, AsRouting]:
        baseline_space = self._baseline_spaces()
        # Visible keys are a subset of the baseline (learned as they appear): the same count is
        # the same set, whose space is known. Only ASes that lost prefixes need their own union.
        visible = self._visible_keys
        empty: set[int] = set()
        short = {
            asn: list(visible.get(asn, empty))
            for asn, seen in self._baseline.items()
            if len(visible.get(asn, empty)) != len(seen)
        }
        contested: dict[int, list[int]] = {}
        hijackers: dict[int, set[int | None]] = {}
        for asn, mine in short.items():
            mine_set = set(mine)
            for key in self._baseline[asn]:
                if key in mine_set:
                    continue
                for origin, mask in self._routes.get(key, {}).items():
                    if origin != asn and (mask & full_mask).bit_count() >= need:
                        contested.setdefault(asn, []).append(key)
                        hijackers.setdefault(asn, set()).add(origin)
        short_space = _space(short)
        held_space = _space({asn: [*short[asn], *keys] for asn, keys in contested.items()})
        rules = self.rules
        result: dict[int, AsRouting] = {}
        previous = self.last_visibility
        suffix = f" from {full_feed} full-feed peer{'s' if full_feed != 1 else ''}"
        for asn, seen in self._baseline.items():
            total = len(seen)
            base_addresses = baseline_space.get(asn, 0)
            if asn in short:
                shown = len(short[asn])
                addresses = short_space.get(asn, 0)
                others = len(contested.get(asn, ()))
                held = held_space.get(asn, addresses) if others else addresses
            else:
                # All of its baseline visible: most ASes, most rounds. The last round's value
                # stands when nothing it says has changed (building 75,000 of them is the cost).
                kept = previous.get(asn)
                if (
                    kept is not None
                    and kept.visible_prefixes == total == kept.baseline_prefixes
                    and kept.baseline_addresses == base_addresses
                    and kept.full_feed_peers == full_feed
                    and not kept.contested_prefixes
                ):
                    result[asn] = kept
                    continue
                shown, addresses, others, held = total, base_addresses, 0, base_addresses
            share = held / base_addresses if base_addresses > 0 else (shown + others) / total
            if share >= rules.visible_fraction:
                state = RoutingState.VISIBLE
            elif share <= rules.withdrawn_fraction:
                state = RoutingState.WITHDRAWN
            else:
                state = RoutingState.PARTIAL
            reason = f"{shown}/{total} prefixes visible"
            if base_addresses > 0:
                reason += f" ({addresses / base_addresses:.0%} of the address space)"
            reason += suffix
            if others:
                names = ", ".join(
                    f"AS{origin}" if origin is not None else "an AS_SET"
                    for origin in sorted_origins(hijackers[asn])
                )
                reason += f"; {others} announced by {names} instead"
            result[asn] = AsRouting(
                asn=asn,
                state=state,
                visible_prefixes=shown,
                baseline_prefixes=total,
                visible_addresses=addresses,
                baseline_addresses=base_addresses,
                full_feed_peers=full_feed,
                reason=reason,
                contested_prefixes=others,
            )
        return result

    def _why_unknown(self) -> str:
        if not self._peers:
            return "no route feed peer yet"
        down = sorted(source for source, up in self._source_up.items() if not up)
        if down:
            return f"route feed down: {', '.join(down)}"
        return "no full-feed peer: sessions down or tables still loading"

    def _unknown(self, reason: str) -> dict[int, AsRouting]:
        baseline_space = self._baseline_spaces()
        return {
            asn: AsRouting(
                asn=asn,
                state=RoutingState.UNKNOWN,
                visible_prefixes=0,
                baseline_prefixes=len(seen),
                visible_addresses=0,
                baseline_addresses=baseline_space.get(asn, 0),
                full_feed_peers=0,
                reason=reason,
            )
            for asn, seen in self._baseline.items()
        }


def sorted_origins(origins: Iterable[int | None]) -> list[int | None]:
    return sorted(origins, key=lambda origin: -1 if origin is None else origin)


def _space(keys_by_asn: Mapping[int, Iterable[int]]) -> dict[int, int]:
    """IPv4 addresses of the union of each AS's prefixes."""
    asns: list[int] = []
    keys: list[int] = []
    for asn, own in keys_by_asn.items():
        before = len(keys)
        keys.extend(own)
        asns.extend([asn] * (len(keys) - before))
    return ipv4_space(asns, keys)

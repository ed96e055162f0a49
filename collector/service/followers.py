"""Several collectors, one sequence of rounds: catch-up after a leader change,
and relaying rounds computed elsewhere to this collector's watchers.

Theory of operation:
- Every collector runs the round loop; `Storage.claim_round` lets only one
  compute each round (on PostgreSQL, only the leader: postgres_leader.py).
- When the leader dies mid-round, the round it was computing (or had not yet
  reached) stays uncomputed. The collector that wins the next claim first
  computes the rounds after the latest computed one, oldest first
  (`missed_rounds`), so the engine state advances round by round and no round
  is skipped; a round claimed by the dead leader is taken over by the storage.
  Catch-up is bounded: after a longer outage of every collector the old
  rounds stay uncomputed rather than delaying the current one.
- A collector that did not compute a round still serves WatchEvents: the
  `EventRelay` polls the rounds table and publishes the events of every round
  computed by another collector since it last looked (watchers on a follower
  see events one poll interval after the leader stored them). It relays the same way what a
  recomputation on another collector changed (EVENT_CHANGE_REVISED, WITHDRAWN): the reviser
  stores it with its last revision (`Storage.event_changes_after`, by key).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from vantage.collector.storage.base import Storage

if TYPE_CHECKING:
    from vantage.collector.service.app import CollectorApp

log = logging.getLogger("vantage.collector")

# A new leader catches up on at most this many uncomputed rounds: the round a
# dying leader was computing plus one it may not have reached is 2; one more
# covers a slow takeover (TCP keepalive on a partitioned leader, ~25 s).
MAX_CATCH_UP_ROUNDS = 3
# Watchers on a follower see a round's events within this poll interval (a
# tenth of a round, between 0.5 s for the lab's short rounds and 5 s for the
# default 300 s round): one indexed query per poll.
MIN_FOLLOW_POLL_S = 0.5
MAX_FOLLOW_POLL_S = 5.0
# The event changes kept for followers to relay (Storage.prune_event_changes, after each finished
# recomputation): a follower reads up to 1,000 per poll, every few seconds, and a recomputation
# changes a few events, so only a follower stalled for thousands of revisions could miss some;
# its watchers then learn the open events when they reconnect (include_open), as after any stall.
EVENT_CHANGES_KEPT = 10_000
# Relay at most this many rounds at once (a follower that was stalled for long
# sends the recent rounds only; include_open tells reconnecting watchers the rest).
MAX_RELAY_ROUNDS = 12


def follow_poll_s(round_seconds: float) -> float:
    return min(MAX_FOLLOW_POLL_S, max(MIN_FOLLOW_POLL_S, round_seconds / 10))


def missed_rounds(storage: Storage, due_round: int, *, limit: int = MAX_CATCH_UP_ROUNDS) -> list[int]:
    """Rounds before `due_round` and after the latest computed one, oldest first (blocking)."""
    latest = storage.latest_round()
    if latest is None or latest.number >= due_round - 1:
        return []
    return list(range(max(latest.number + 1, due_round - limit), due_round))


class EventRelay:
    """Publishes to this collector's watchers the events of rounds other collectors computed."""

    def __init__(self, app: CollectorApp) -> None:
        self.app = app
        self.poll_s = follow_poll_s(app.config.round_seconds)
        self.last_relayed_round: int | None = None  # None: not looked yet
        self.last_change_key: int | None = None  # event changes relayed up to here
        self._computed_here: set[int] = set()

    def computed_here(self, number: int) -> None:
        """This collector computed `number` and published its events itself."""
        self._computed_here.add(number)

    async def follow(self) -> None:
        await self._follow_rounds()
        await self._follow_changes()

    async def _follow_changes(self) -> None:
        """Publish the event changes other collectors' recomputations stored since the last look
        (from now on at the first look: reconnecting watchers ask for open events)."""
        app = self.app
        try:
            if self.last_change_key is None:
                self.last_change_key = await app.blocking(app.storage.last_event_change_key)
                return
            changes = await app.blocking(app.storage.event_changes_after, self.last_change_key)
        except Exception:
            log.exception("reading the event changes of other collectors failed")
            return  # retried at the next poll
        for key, changed_by, event in changes:
            if changed_by != app.config.collector_id:  # the reviser sent its own
                app.events.publish([event])
            self.last_change_key = key

    async def _follow_rounds(self) -> None:
        app = self.app
        try:
            latest = await app.blocking(app.storage.latest_round)
        except Exception:
            log.exception("following the rounds of other collectors failed")
            return
        if latest is None:
            return
        if self.last_relayed_round is None:
            # Start from now: watchers that connect later ask for open events (include_open).
            self.last_relayed_round = latest.number
            return
        if latest.number <= self.last_relayed_round:
            return
        first = max(self.last_relayed_round + 1, latest.number - MAX_RELAY_ROUNDS + 1)
        for number in range(first, latest.number + 1):
            if number in self._computed_here:
                continue
            try:
                events = await app.blocking(app.storage.list_events, updated_round=number)
            except Exception:
                log.exception("reading the events of round %d failed", number)
                return  # retried at the next poll
            app.events.publish(events)
            self.last_relayed_round = number
        self.last_relayed_round = latest.number
        self._computed_here = {n for n in self._computed_here if n > latest.number}
        if latest.computed_by != app.config.collector_id:
            app.suspect_probes = frozenset(latest.suspect_probes) | frozenset(latest.offline_probes)

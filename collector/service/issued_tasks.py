"""Results are believed only for work the collector gave that probe (issue 19).

A measurement names the task it answers (`task_id`) and the round it ran in (`round`). It is
believed when that task was issued to the submitting probe in round R (GetWork,
collector/service/work.py) and the measurement's round is R, or a later round up to
PLAN_REPEAT_S after R: a probe that cannot reach a collector repeats its last plan, same task
ids, once per round, numbering the rounds forward (probe/daemon/scheduler.py). A one-off
measurement (no task id and round 0) belongs to no round: it is stored as evidence and no
verdict reads it (a round reads only its own round's items, collector/wire/measurements.py).
Anything else (a task never issued, issued to another probe, a round outside the window, a
round without a task id) is rejected alone with TASK_NOT_ISSUED.

Where the answer comes from: the issued tasks of the probes that asked for work recently are
kept here (a dict task_id → issued round per probe: the last PLANS_PER_PROBE plans of at most
PROBES_REMEMBERED probes, least recently used dropped), filled as GetWork hands them out, so
the common batch costs one dict lookup per item. A task id not found there is looked up in
storage (`Storage.issued_task_rounds`, the issued_tasks table's primary key) before it is
refused: a restarted collector, or another collector on the same PostgreSQL database, believes
what any of them issued. Tasks are kept in storage as long as their round (retention).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from vantage.collector.storage.base import Storage

# How long a probe repeats its last plan while offline: the probe's default max_offline_s
# (DEFAULT_MAX_OFFLINE_S in probe/daemon/scheduler.py, one day). Results of a plan repeated
# longer than this (a volunteer who raised the probe's limit) are not believed.
PLAN_REPEAT_S = 24 * 3600.0
# Probes whose issued tasks are kept in memory, and how many of each probe's latest plans
# (rounds): a probe uploads the plan it just ran, or repeats the last one it got. Anything
# older is read from storage when a result names it.
PROBES_REMEMBERED = 4096
PLANS_PER_PROBE = 2


def repeat_rounds(round_seconds: float) -> int:
    """Rounds after its own in which a task's result is still believed (the offline repeat)."""
    return math.ceil(PLAN_REPEAT_S / round_seconds) + 1


def unbelieved_items(
    task_ids: Sequence[str], item_rounds: Sequence[int], issued: Mapping[str, int], window_rounds: int
) -> list[int]:
    """Positions of the items whose (task id, round) is not work issued (pure).

    `issued`: task_id → the round it was issued in, for the submitting probe. A one-off item
    (task id "" and round 0) is believed (it reaches no round)."""
    get = issued.get
    bad: list[int] = []
    for position, (task_id, round_number) in enumerate(zip(task_ids, item_rounds, strict=True)):
        issued_round = get(task_id)
        if (issued_round is None or not issued_round <= round_number <= issued_round + window_rounds) and (
            task_id or round_number
        ):
            bad.append(position)
    return bad


def rejection_message(task_id: str, round_number: int, issued_round: int | None) -> str:
    shown = repr(task_id[:64])
    if not task_id:
        return f"round {round_number} names no task (a one-off measurement has round 0)"
    if issued_round is None:
        return f"task {shown} was not issued to this probe"
    return (
        f"task {shown} was issued in round {issued_round}; round {round_number} is outside"
        f" the rounds its plan may be repeated in"
    )


class IssuedTasks:
    """The issued tasks of recently planned probes, and the check ingest runs (thread-safe)."""

    def __init__(
        self,
        storage: Storage,
        round_seconds: float,
        *,
        probes: int = PROBES_REMEMBERED,
        plans_per_probe: int = PLANS_PER_PROBE,
    ) -> None:
        self.storage = storage
        self.window_rounds = repeat_rounds(round_seconds)
        self._capacity = probes
        self._plans_per_probe = plans_per_probe
        self._lock = threading.Lock()
        # probe_id → (task_id → issued round); replaced, never changed in place, so that a
        # reader can use the dict it got without the lock.
        self._probes: OrderedDict[str, dict[str, int]] = OrderedDict()

    def note(self, probe_id: str, round_number: int, task_ids: Sequence[str]) -> None:
        """Tasks GetWork issued to the probe (after storage recorded them)."""
        self._add(probe_id, dict.fromkeys(task_ids, round_number))

    def _add(self, probe_id: str, tasks: Mapping[str, int]) -> None:
        with self._lock:
            merged = {**self._probes.get(probe_id, {}), **tasks}
            rounds = sorted(set(merged.values()))
            if len(rounds) > self._plans_per_probe:
                oldest_kept = rounds[-self._plans_per_probe]
                merged = {task_id: r for task_id, r in merged.items() if r >= oldest_kept}
            self._probes[probe_id] = merged
            self._probes.move_to_end(probe_id)
            while len(self._probes) > self._capacity:
                self._probes.popitem(last=False)

    def _known(self, probe_id: str) -> dict[str, int]:
        with self._lock:
            known = self._probes.get(probe_id)
            if known is None:
                return {}
            self._probes.move_to_end(probe_id)
            return known

    def check(
        self, probe_id: str, task_ids: Sequence[str], item_rounds: Sequence[int]
    ) -> list[tuple[int, str]]:
        """(position, message) of each item not believed. Blocking: a task id not in memory is
        looked up in storage (StorageError propagates: the batch is not acked)."""
        known = self._known(probe_id)
        window = self.window_rounds
        bad = unbelieved_items(task_ids, item_rounds, known, window)
        if not bad:
            return []
        missing = {task_ids[p] for p in bad if task_ids[p] and task_ids[p] not in known}
        if missing:
            found = self.storage.issued_task_rounds(probe_id, missing)
            if found:
                self._add(probe_id, found)  # the next batch of the same plan is answered here
                known = {**known, **found}
                still = unbelieved_items(
                    [task_ids[p] for p in bad], [item_rounds[p] for p in bad], known, window
                )
                bad = [bad[i] for i in still]
        return [(p, rejection_message(task_ids[p], item_rounds[p], known.get(task_ids[p]))) for p in bad]

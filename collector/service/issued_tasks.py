"""Results are believed only for work the collector gave that probe (issue 19).

A measurement names the task it answers (`task_id`) and the round it ran in (`round`). It is
believed when that task was issued to the submitting probe in round R (GetWork,
collector/service/work.py), the measurement's round is R or a later round up to the plan
repeat window after R (`CollectorConfig.plan_repeat_s`, `--plan-repeat`: a probe that cannot
reach a collector repeats its last plan, same task ids, once per round, numbering the rounds
forward, probe/daemon/scheduler.py), and the measurement is about that task's target. A
one-off measurement (no task id and round 0) belongs to no round: it is stored as evidence and
no verdict reads it (a round reads only its own round's items, collector/wire/measurements.py).

Two reasons, because they are two faults: TASK_NOT_ISSUED (field `task_id`) when the collector
never gave this probe that work (a task never issued, issued to another probe, a round outside
the window, a round without a task id); TASK_MISMATCH (the field that differs) when the task is
this probe's but the result speaks of another target: another protocol or target_id, or another
address than the one the task names. The target id and the address are what place a result in
an AS (collector/wire/observations.py), so without this check one issued task would let a probe
speak for any AS. Not compared: the address of a task that names none (HTTP by host name: the
probe resolves it) and that of any HTTP task (a result that followed a redirect carries the last
host's address; a probe could claim a redirect anyway, so a flag for it would prove nothing);
the port (it moves no AS, and one more field per item costs ingest; see docs/ingest.md). Each
item is judged alone.

Where the answer comes from: the issued tasks of the probes that asked for work recently are
kept here (a dict task_id → IssuedTarget per probe: the last PLANS_PER_PROBE plans of at most
PROBES_REMEMBERED probes, least recently used dropped), filled as GetWork hands them out, so
the common batch costs one dict lookup per item. An IssuedTarget (round and target) is shared by
every probe given that target in that round, so a task costs the map what the round number
alone did. A task id not found there is looked up in storage (`Storage.issued_task_targets`,
the issued_tasks table's primary key) before it is refused: a restarted collector, or another
collector on the same PostgreSQL database, believes what any of them issued. Tasks are kept in
storage as long as their round (retention).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import IssuedTarget
from vantage.collector.wire.validation import RejectReason, ResultTarget, ResultTargets, normalized_address
from vantage.kinds import Protocol

# Probes whose issued tasks are kept in memory, and how many of each probe's latest plans
# (rounds): a probe uploads the plan it just ran, or repeats the last one it got. Anything
# older is read from storage when a result names it.
PROBES_REMEMBERED = 4096
PLANS_PER_PROBE = 2
# Distinct targets of the latest round whose IssuedTarget is shared between probes; past it
# new ones are not shared (memory, not correctness: a fleet's targets fit many times over).
SHARED_TARGETS = 65536
_HTTP = int(Protocol.HTTP)


def repeat_rounds(round_seconds: float, plan_repeat_s: float) -> int:
    """Rounds after its own in which a task's result is still believed (the offline repeat)."""
    return math.ceil(plan_repeat_s / round_seconds) + 1


def issued_target(round_number: int, protocol: int, target_id: str, address: str) -> IssuedTarget:
    """The target a task names, its address as ingest compares it (canonical text)."""
    canonical = (normalized_address(address) or address) if address else ""
    return IssuedTarget(round_number, protocol, target_id, canonical)


class Refused(NamedTuple):
    """Why one item is not believed."""

    position: int  # among the items validation accepted
    reason: RejectReason
    field: str
    message: str


def unbelieved_items(
    task_ids: Sequence[str],
    item_rounds: Sequence[int],
    addresses: Sequence[str],
    targets: ResultTargets,
    issued: Mapping[str, IssuedTarget],
    window_rounds: int,
) -> list[int]:
    """Positions of the items not believed (pure): no task issued for their (task id, round),
    or a result about another target than its task's (see the module's rules).

    `issued`: task_id → what was issued, for the submitting probe; `addresses`: the items'
    canonical addresses ("" when none). A one-off item (task id "" and round 0) is believed
    (it reaches no round)."""
    get = issued.get
    bad: list[int] = []
    for position, (task_id, round_number, address, result_protocol, result_target_id) in enumerate(
        zip(task_ids, item_rounds, addresses, *targets, strict=True)
    ):
        found = get(task_id)
        if found is None:
            if task_id or round_number:
                bad.append(position)
            continue
        issued_round, protocol, target_id, issued_address = found
        if not (
            issued_round <= round_number <= issued_round + window_rounds
            and result_protocol == protocol
            and result_target_id == target_id
            and (not issued_address or address == issued_address or protocol == _HTTP)
        ):
            bad.append(position)
    return bad


def refusal(
    position: int,
    task_id: str,
    round_number: int,
    address: str,
    target: ResultTarget,
    issued: IssuedTarget | None,
    window_rounds: int,
) -> Refused:
    """Why the item at `position` is not believed (unbelieved_items found it)."""
    shown = repr(task_id[:64])

    def not_issued(message: str) -> Refused:
        return Refused(position, RejectReason.TASK_NOT_ISSUED, "task_id", message)

    if not task_id:
        return not_issued(f"round {round_number} names no task (a one-off measurement has round 0)")
    if issued is None:
        return not_issued(f"task {shown} was not issued to this probe")
    if not issued.round <= round_number <= issued.round + window_rounds:
        return not_issued(
            f"task {shown} was issued in round {issued.round}; round {round_number} is outside"
            " the rounds its plan may be repeated in"
        )
    protocol, target_id = target

    def mismatch(field: str, said: object, asked: object) -> Refused:
        return Refused(
            position,
            RejectReason.TASK_MISMATCH,
            field,
            f"task {shown} asked for {field} {asked!r}, the result says {said!r}",
        )

    if protocol != issued.protocol:
        return mismatch("protocol", protocol, issued.protocol)
    if target_id != issued.target_id:
        return mismatch("target.target_id", target_id[:64], issued.target_id[:64])
    return mismatch("target.address", address[:64], issued.address)


class IssuedTasks:
    """The issued tasks of recently planned probes, and the check ingest runs (thread-safe)."""

    def __init__(
        self,
        storage: Storage,
        round_seconds: float,
        plan_repeat_s: float,
        *,
        probes: int = PROBES_REMEMBERED,
        plans_per_probe: int = PLANS_PER_PROBE,
    ) -> None:
        self.storage = storage
        self.window_rounds = repeat_rounds(round_seconds, plan_repeat_s)
        self._capacity = probes
        self._plans_per_probe = plans_per_probe
        self._lock = threading.Lock()
        # probe_id → (task_id → what was issued); replaced, never changed in place, so that a
        # reader can use the dict it got without the lock.
        self._probes: OrderedDict[str, dict[str, IssuedTarget]] = OrderedDict()
        # The latest round's IssuedTargets, each kept once (see SHARED_TARGETS).
        self._shared: dict[IssuedTarget, IssuedTarget] = {}
        self._shared_round = -1

    def note(self, probe_id: str, tasks: Iterable[tuple[str, IssuedTarget]]) -> None:
        """Tasks GetWork issued to the probe (after storage recorded them): (task id, target)."""
        with self._lock:
            shared = self._shared
            noted: dict[str, IssuedTarget] = {}
            for task_id, target in tasks:
                if target.round > self._shared_round or len(shared) >= SHARED_TARGETS:
                    shared.clear()
                    self._shared_round = max(self._shared_round, target.round)
                noted[task_id] = shared.setdefault(target, target)
        self._add(probe_id, noted)

    def _add(self, probe_id: str, tasks: Mapping[str, IssuedTarget]) -> None:
        with self._lock:
            merged = {**self._probes.get(probe_id, {}), **tasks}
            rounds = sorted({t.round for t in merged.values()})
            if len(rounds) > self._plans_per_probe:
                oldest_kept = rounds[-self._plans_per_probe]
                merged = {task_id: t for task_id, t in merged.items() if t.round >= oldest_kept}
            self._probes[probe_id] = merged
            self._probes.move_to_end(probe_id)
            while len(self._probes) > self._capacity:
                self._probes.popitem(last=False)

    def _known(self, probe_id: str) -> dict[str, IssuedTarget]:
        with self._lock:
            known = self._probes.get(probe_id)
            if known is None:
                return {}
            self._probes.move_to_end(probe_id)
            return known

    def check(
        self,
        probe_id: str,
        task_ids: Sequence[str],
        item_rounds: Sequence[int],
        addresses: Sequence[str],
        targets: ResultTargets,
    ) -> list[Refused]:
        """Each item not believed, and why. Blocking: a task id not in memory is looked up in
        storage (StorageError propagates: the batch is not acked)."""
        known = self._known(probe_id)
        window = self.window_rounds
        bad = unbelieved_items(task_ids, item_rounds, addresses, targets, known, window)
        if not bad:
            return []
        missing = {task_ids[p] for p in bad if task_ids[p] and task_ids[p] not in known}
        if missing:
            found = self.storage.issued_task_targets(probe_id, missing)
            if found:
                self._add(probe_id, found)  # the next batch of the same plan is answered here
                known = {**known, **found}
                still = unbelieved_items(
                    [task_ids[p] for p in bad],
                    [item_rounds[p] for p in bad],
                    [addresses[p] for p in bad],
                    targets.select(bad),
                    known,
                    window,
                )
                bad = [bad[i] for i in still]
        return [
            refusal(
                p, task_ids[p], item_rounds[p], addresses[p], targets.row(p), known.get(task_ids[p]), window
            )
            for p in bad
        ]

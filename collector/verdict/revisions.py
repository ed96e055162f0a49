"""Revisions: which computed rounds a late result makes dirty, and recomputing them in order.

Theory of operation
-------------------
Store-and-forward lets a probe that was cut off upload what it measured once its link returns.
Its results belong to rounds already computed. A late result of round r, within the revise window,
marks r dirty; a late result older than the window, or of a round that was never computed, is
stored and counted but revises nothing (`Refusal` says why, for the ack and a metric).

The engine's state chains rounds together (beliefs, baselines, availabilities, event trackers), so
recomputing round r changes the state every later round started from: a revision recomputes r and
every computed round after it, in order, from the state the engine held before r. Given the same
observations and that starting state, `evaluate_round` is deterministic, so the last revision of
each round is exactly what the round would have given had every result arrived on time
(tests/collector/verdict/test_revisions.py replays the same measurements both ways and compares
the timelines field by field).

Pure: round numbers and times are arguments; the caller reads late results and checkpoints from
storage and stores each recomputation as a new revision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from vantage.collector.bgp.model import AsRouting
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.engine import RoundOutput, evaluate_round
from vantage.collector.verdict.model import Observation
from vantage.collector.verdict.state import EngineState

# The default, and the engine's forget time: a round older than the state remembers
# cannot be recomputed faithfully.
DEFAULT_REVISE_WINDOW_S = 7 * 24 * 3600.0

REFUSED_TOO_OLD = "older than the revise window"
REFUSED_NO_ROUND = "round was never computed"


@dataclass(frozen=True, slots=True)
class LateResult:
    """A stored result of a round that had already been computed when it arrived."""

    probe_id: str
    round_number: int


@dataclass(frozen=True, slots=True)
class Refusal:
    round_number: int
    results: int
    reason: str


@dataclass(frozen=True, slots=True)
class DirtyRound:
    """A round to revise because of late results: how many, from how many probes."""

    round_number: int
    late_results: int
    late_probes: int


@dataclass(frozen=True, slots=True)
class RevisionPlan:
    dirty: tuple[DirtyRound, ...]  # the rounds the late results belong to, ascending
    recompute: tuple[int, ...]  # the earliest dirty round and every computed round after it
    refused: tuple[Refusal, ...]


def window_rounds(revise_window_s: float, round_length: timedelta) -> int:
    """How many rounds back a late result may revise."""
    if revise_window_s <= 0:
        raise ValueError("the revise window must be positive")
    return math.ceil(revise_window_s / round_length.total_seconds())


def plan_revisions(
    late: Iterable[LateResult],
    computed: Collection[int],
    *,
    current_round: int,
    revise_window_s: float = DEFAULT_REVISE_WINDOW_S,
    round_length: timedelta,
) -> RevisionPlan:
    """The rounds `late` makes dirty and the rounds to recompute, in order; what it cannot revise."""
    oldest = current_round - window_rounds(revise_window_s, round_length)
    counts: dict[int, int] = {}
    probes: dict[int, set[str]] = {}
    refused: dict[tuple[int, str], int] = {}
    for result in late:
        number = result.round_number
        if number < oldest:
            reason = REFUSED_TOO_OLD
        elif number not in computed:
            reason = REFUSED_NO_ROUND
        else:
            counts[number] = counts.get(number, 0) + 1
            probes.setdefault(number, set()).add(result.probe_id)
            continue
        refused[(number, reason)] = refused.get((number, reason), 0) + 1
    dirty = tuple(DirtyRound(n, counts[n], len(probes[n])) for n in sorted(counts))
    recompute = tuple(sorted(n for n in computed if dirty and n >= dirty[0].round_number))
    return RevisionPlan(
        dirty=dirty,
        recompute=recompute,
        refused=tuple(Refusal(n, c, reason) for (n, reason), c in sorted(refused.items())),
    )


def unrevised_counts(
    items_by_round: Mapping[int, int],
    computed: Collection[int],
    *,
    current_round: int,
    window_rounds: int,
) -> dict[str, int]:
    """Of a batch's items (how many per round), those that will revise nothing, by reason (the
    ack's unrevised_* counts). `current_round` is the round under way by the clock: it and the
    round before it (which the round loop may still be computing) are on time or revise; a round
    before `current_round - 1 - window_rounds` is older than the window; any other past round
    revises only if it was computed."""
    latest = current_round - 1
    oldest = latest - window_rounds
    out: dict[str, int] = {}
    for number, items in items_by_round.items():
        if number >= latest:
            continue
        if number < oldest:
            reason = REFUSED_TOO_OLD
        elif number not in computed:
            reason = REFUSED_NO_ROUND
        else:
            continue
        out[reason] = out.get(reason, 0) + items
    return out


def recompute(
    rounds: Sequence[int],
    state_before: EngineState,
    observations_of: Callable[[int], Sequence[Observation]],
    *,
    round_start_of: Callable[[int], datetime],
    round_length: timedelta,
    config: VerdictConfig | None = None,
    routing_of: Callable[[int], Mapping[int, AsRouting] | None] | None = None,
) -> list[RoundOutput]:
    """Recompute `rounds` (ascending, consecutive computed rounds) from the state the engine held
    before the first of them; each output is the round's new revision. `routing_of` gives a
    round's routing signal as it was first computed with (none without it)."""
    outputs = []
    state = state_before
    for number in rounds:
        out = evaluate_round(
            observations_of(number),
            state,
            round_number=number,
            round_start=round_start_of(number),
            round_length=round_length,
            config=config,
            routing=routing_of(number) if routing_of is not None else None,
        )
        outputs.append(out)
        state = out.state
    return outputs


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answer:
    """One revision of a round's verdict and the span of time it was the answer: [from, until)."""

    round_number: int
    revision: int
    valid_from_unix_s: float
    valid_until_unix_s: float


def version_as_of(
    current: T | None, superseded: Sequence[tuple[float, T | None]], as_of_unix_s: float
) -> T | None:
    """An event's version that was the answer at `as_of`: the first superseded version (by
    `valid_until`, ascending; None: the event was not known before then) still valid at that
    time, else the current one (None: withdrawn since)."""
    for valid_until, version in sorted(superseded, key=lambda pair: pair[0]):
        if as_of_unix_s < valid_until:
            return version
    return current


def answers_as_of(candidates: Iterable[tuple[Answer, T]], as_of_unix_s: float) -> dict[int, tuple[Answer, T]]:
    """Per round, the revision that was the answer at `as_of` (rounds computed later are left out):
    what a reader saw then (`vantage timeline --as-of`)."""
    known: dict[int, tuple[Answer, T]] = {}
    for answer, value in candidates:
        if answer.valid_from_unix_s <= as_of_unix_s < answer.valid_until_unix_s:
            known[answer.round_number] = (answer, value)
    return known


def as_of_problem(as_of_unix_s: float, *, now_unix_s: float, first_computed_at_unix_s: float | None) -> str:
    """Why `as_of` cannot be answered ("" when it can): in the future, or before the first round."""
    if as_of_unix_s > now_unix_s:
        return f"--as-of {_iso(as_of_unix_s)} is in the future (now is {_iso(now_unix_s)})"
    if first_computed_at_unix_s is None:
        return "no round has been computed yet"
    if as_of_unix_s < first_computed_at_unix_s:
        return (
            f"--as-of {_iso(as_of_unix_s)} is before the first round was computed "
            f"({_iso(first_computed_at_unix_s)}): nothing was known then"
        )
    return ""


def current_answers(
    rounds: Mapping[int, float], revisions: Mapping[int, tuple[int, float]]
) -> dict[int, Answer]:
    """The span of each round's current verdict: from its computation (`rounds`: round → computed
    at) or its latest revision (`revisions`: round → (revision, revised at)) on."""
    out = {}
    for number, computed_at in rounds.items():
        revision, since = revisions.get(number, (0, computed_at))
        out[number] = Answer(number, revision, since, math.inf)
    return out


def _iso(unix_s: float) -> str:
    from datetime import UTC

    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

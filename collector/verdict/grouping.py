"""Stage 1: sort a round's observations by target AS and vantage point, classifying each once.

This is the only Python-level pass over every observation of the round, so it is written for
speed (a whole-Internet round is 2.25 M observations; the budget is 10 s on one core): one dict
lookup per observation to group by (target AS, probe) — one per run of consecutive observations
of the same pair when the input comes sorted or batched that way (the collector can ask its
database for that order; any order gives the same verdicts); then per group, C-level counting finds the
common all-answered case, and only groups with failures are classified one by one
(classify.ANSWER_TABLE). Observations that prove nothing (refused by the probe's own
policy, unclassifiable failures, unknown kinds) are dropped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby, pairwise
from operator import attrgetter
from typing import Any

from vantage.collector.verdict.classify import ANSWER_TABLE
from vantage.collector.verdict.model import Observation, Outcome, TaskKind

# Columns of a transposed list of observations; an empty list has empty columns.
Columns = tuple[tuple[Any, ...], ...]
EMPTY_COLUMNS: Columns = ((),) * len(Observation._fields)
COLUMN_TARGET_ID = Observation._fields.index("target_id")
COLUMN_PROTOCOL = Observation._fields.index("protocol")
COLUMN_OUTCOME = Observation._fields.index("outcome")
COLUMN_FAILURE = Observation._fields.index("failure")
COLUMN_RTT_MS = Observation._fields.index("rtt_ms")
COLUMN_LOSS_RATIO = Observation._fields.index("loss_ratio")

_REACHABILITY = int(TaskKind.REACHABILITY)
_OK = int(Outcome.OK)
_kind = attrgetter("kind")
_pair_key = attrgetter("target_asn", "probe_id")
_INTERFERENCE = int(TaskKind.INTERFERENCE)


@dataclass(slots=True)
class VantageView:
    """One vantage point's observations of one AS this round, split by what they proved."""

    probe_id: str
    probe_asn: int
    probe_country: str
    unanswered: list[Observation]
    answered: list[Observation]
    # The same observations transposed into columns (Observation field order, see COLUMN_* below):
    # one C-level zip(*...) is much cheaper than a Python or map() pass per field in the hot path.
    answered_columns: Columns
    unanswered_columns: Columns


@dataclass(slots=True)
class ProbeTally:
    """What one probe did this round, over every AS it measured (for vantage-point sanity)."""

    attempts: int
    answered: int
    # (target AS, answered there) per AS measured
    per_asn: list[tuple[int, int]]


# target AS -> probe id -> view
AsViews = dict[int, dict[str, VantageView]]


@dataclass(slots=True)
class Grouped:
    reachability: AsViews
    interference: AsViews
    probes: dict[str, ProbeTally]
    answered_by_asn: dict[int, int]
    target_country: dict[int, str]


def group(observations: Sequence[Observation]) -> Grouped:
    # One dict lookup per observation, keyed by (target AS, probe); everything else works on groups.
    by_pair: dict[tuple[int, str], list[Observation]] = {}
    if _mostly_in_runs(observations):
        # Sorted (or batched) input, e.g. ORDER BY target AS, probe: one dict lookup per run.
        for key, run in groupby(observations, _pair_key):
            lst = by_pair.get(key)
            if lst is None:
                by_pair[key] = list(run)
            else:
                lst.extend(run)
    else:
        for key, o in zip(map(_pair_key, observations), observations, strict=True):
            try:
                by_pair[key].append(o)
            except KeyError:  # first observation of the pair: rarer than the others, so EAFP is faster
                by_pair[key] = [o]
    grouped = Grouped({}, {}, {}, {}, {})
    for (asn, probe_id), lst in by_pair.items():
        kinds = set(map(_kind, lst))
        if len(kinds) == 1:
            _add(grouped, kinds.pop(), asn, probe_id, lst)
        else:
            for kind in sorted(kinds):
                _add(grouped, kind, asn, probe_id, [o for o in lst if o.kind == kind])
    return grouped


def _mostly_in_runs(observations: Sequence[Observation], sample: int = 1000) -> bool:
    """Whether consecutive observations mostly share (target AS, probe): then grouping by runs pays."""
    head = list(map(_pair_key, observations[:sample]))
    if len(head) < 2:
        return False
    changes = sum(1 for a, b in pairwise(head) if a != b)
    return changes * 4 <= len(head)


def _add(grouped: Grouped, kind: int, asn: int, probe_id: str, lst: list[Observation]) -> None:
    if kind == _REACHABILITY:
        views = grouped.reachability
    elif kind == _INTERFERENCE:
        views = grouped.interference
    else:
        return
    columns: Columns = tuple(zip(*lst, strict=True))
    if columns[COLUMN_OUTCOME].count(_OK) == len(lst):
        # The common case: everything answered.
        answered, unanswered = lst, list[Observation]()
        answered_columns, unanswered_cols = columns, EMPTY_COLUMNS
    else:
        answered, unanswered = [], []
        table = ANSWER_TABLE
        for o in lst:
            verdict = table.get((o.outcome, o.failure))
            if verdict is None:
                continue
            (answered if verdict else unanswered).append(o)
        if not answered and not unanswered:
            return
        answered_columns = tuple(zip(*answered, strict=True)) if answered else EMPTY_COLUMNS
        unanswered_cols = tuple(zip(*unanswered, strict=True)) if unanswered else EMPTY_COLUMNS
    first = lst[0]
    per_probe = views.get(asn)
    if per_probe is None:
        per_probe = views[asn] = {}
        if kind == _REACHABILITY:
            grouped.target_country[asn] = first.target_country
    per_probe[probe_id] = VantageView(
        probe_id,
        first.probe_asn,
        first.probe_country,
        unanswered,
        answered,
        answered_columns,
        unanswered_cols,
    )
    n_ok = len(answered)
    n = n_ok + len(unanswered)
    tally = grouped.probes.get(probe_id)
    if tally is None:
        grouped.probes[probe_id] = ProbeTally(n, n_ok, [(asn, n_ok)])
    else:
        tally.attempts += n
        tally.answered += n_ok
        tally.per_asn.append((asn, n_ok))
    if first.probe_asn != asn:  # an inside view proves nothing about reaching the AS from outside
        grouped.answered_by_asn[asn] = grouped.answered_by_asn.get(asn, 0) + n_ok

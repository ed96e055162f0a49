"""Vantage-point sanity, first: a probe that saw everything fail is the one that is down.

Thunderping removes vantage-point faults before judging targets; so do we. A probe whose round
answered (nearly) nothing — at most 5 % of at least 3 attempts — while other probes got answers
from at least half of the ASes it measured is *offline*: its whole round is excluded, listed in
`offline_probes`, and never counted as evidence against every target it measured. A probe whose
targets all failed for everyone (it measured only a country that is cut off) is not offline: its
silence agrees with everybody else's.
"""

from __future__ import annotations

from collections.abc import Mapping

from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.model import Observation

# probe id -> target AS -> [unanswered observations, answered observations]
ProbeGroups = dict[str, dict[int, list[list[Observation]]]]


def find_offline(groups: tuple[ProbeGroups, ...], config: VerdictConfig) -> frozenset[str]:
    candidates: dict[str, set[int]] = {}
    own_answers: dict[str, dict[int, int]] = {}
    probes = set().union(*(g.keys() for g in groups))
    for probe_id in probes:
        attempts = answered = 0
        asns: set[int] = set()
        answers: dict[int, int] = {}
        for g in groups:
            for asn, (unanswered, ok) in g.get(probe_id, {}).items():
                attempts += len(unanswered) + len(ok)
                answered += len(ok)
                asns.add(asn)
                if ok:
                    answers[asn] = answers.get(asn, 0) + len(ok)
        if (
            attempts >= config.offline_min_attempts
            and answered <= config.offline_max_answered_ratio * attempts
        ):
            candidates[probe_id] = asns
            own_answers[probe_id] = answers
    if not candidates:
        return frozenset()
    answered_by_asn = _answers_by_asn(groups)
    offline = set()
    for probe_id, asns in candidates.items():
        own = own_answers[probe_id]
        reached_by_others = sum(1 for asn in asns if answered_by_asn.get(asn, 0) - own.get(asn, 0) > 0)
        if reached_by_others >= 1 and 2 * reached_by_others >= len(asns):
            offline.add(probe_id)
    return frozenset(offline)


def _answers_by_asn(groups: tuple[ProbeGroups, ...]) -> Mapping[int, int]:
    totals: dict[int, int] = {}
    for g in groups:
        for per_asn in g.values():
            for asn, (_, ok) in per_asn.items():
                if ok:
                    totals[asn] = totals.get(asn, 0) + len(ok)
    return totals

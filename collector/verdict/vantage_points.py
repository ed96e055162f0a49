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
from vantage.collector.verdict.grouping import ProbeTally


def find_offline(
    probes: Mapping[str, ProbeTally], answered_by_asn: Mapping[int, int], config: VerdictConfig
) -> frozenset[str]:
    offline = set()
    min_attempts, max_ratio = config.offline_min_attempts, config.offline_max_answered_ratio
    for probe_id, tally in probes.items():
        if tally.attempts < min_attempts or tally.answered > max_ratio * tally.attempts:
            continue
        reached_by_others = sum(1 for asn, own in tally.per_asn if answered_by_asn.get(asn, 0) - own > 0)
        if reached_by_others >= 1 and 2 * reached_by_others >= len(tally.per_asn):
            offline.add(probe_id)
    return frozenset(offline)

"""Roll-up per country: weighted shares of the country's measured ASes.

Each AS weighs as many targets as are measured of it in a round: from outside, plus the inside-out
targets its probes judge (a target list built in proportion to a network's address space makes that
a proxy for how many users the AS carries; IODA likewise aggregates per country from per-block
signals). The weight is the AS's learned one (AsMemory.weight, an EWMA over its UP rounds), not this
round's count: a round that lacks one probe's batch must not shift the shares of the others. ASes
whose status is UNKNOWN are not measured and weigh nothing. A country is DOWN when >= 50 % of its
measured weight is DOWN, DEGRADED when >= 20 % is DOWN or DEGRADED, FILTERED when >= 20 % is
FILTERED, else UP; UNKNOWN with no measured AS.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.mechanism import country_mechanism
from vantage.collector.verdict.model import CountryVerdict, Layer, Mechanism, Status
from vantage.collector.verdict.state import CountryMemory

# Worst first, for ordering the ASes that drive a country's status.
SEVERITY_RANK = {Status.DOWN: 0, Status.DEGRADED: 1, Status.FILTERED: 2, Status.UNKNOWN: 3, Status.UP: 4}
MAX_DRIVING_ASNS = 10


class AsSummary(NamedTuple):
    """What the roll-up needs of one AS (a NamedTuple: 75,000 a round)."""

    asn: int
    status: Status
    confidence: float
    weight: int
    reachability_ratio: float
    has_reachability: bool
    mechanism: Mechanism = Mechanism.NONE
    layer: Layer = Layer.UNSPECIFIED


def roll_up(
    country: str,
    ases: list[AsSummary],
    memory: CountryMemory | None,
    round_start: datetime,
    config: VerdictConfig,
) -> CountryVerdict:
    measured = [a for a in ases if a.status is not Status.UNKNOWN]
    # Weight per status in one pass (integer sums: exact in any order).
    weight_of: dict[Status, int] = dict.fromkeys(Status, 0)
    for a in measured:
        weight_of[a.status] += max(a.weight, 1)
    total = sum(weight_of.values())

    def share(*statuses: Status) -> float:
        return sum(weight_of[s] for s in statuses) / total if total else 0.0

    down, degraded, filtered = share(Status.DOWN), share(Status.DOWN, Status.DEGRADED), share(Status.FILTERED)
    if not measured:
        status, affected = Status.UNKNOWN, 0.0
    elif down >= config.country_down_share:
        status, affected = Status.DOWN, down
    elif degraded >= config.country_degraded_share:
        status, affected = Status.DEGRADED, degraded
    elif filtered >= config.country_filtered_share:
        status, affected = Status.FILTERED, filtered
    else:
        status, affected = Status.UP, 1.0 - share(Status.UP)

    # Confidence: weighted mean over the ASes that carry the country's status.
    carriers = [
        a for a in measured if a.status is status or (status is Status.DEGRADED and a.status is Status.DOWN)
    ]
    weight = sum(max(a.weight, 1) for a in carriers)
    confidence = sum(a.confidence * max(a.weight, 1) for a in carriers) / weight if weight else 0.0

    driving = sorted(
        (a for a in measured if a.status is not Status.UP),
        key=lambda a: (SEVERITY_RANK[a.status], -a.weight, a.asn),
    )[:MAX_DRIVING_ASNS]
    with_ratio = [a for a in ases if a.has_reachability]
    ratio_weight = sum(max(a.weight, 1) for a in with_ratio)
    ratio = (
        sum(a.reachability_ratio * max(a.weight, 1) for a in with_ratio) / ratio_weight
        if ratio_weight
        else 0.0
    )
    since = memory.since if memory is not None and memory.status is status else round_start
    mechanism, layer, mechanism_reason = Mechanism.NONE, Layer.UNSPECIFIED, ""
    if status not in (Status.UP, Status.UNKNOWN):
        mechanism, layer, mechanism_reason = country_mechanism(
            ((a.mechanism, a.layer, a.weight) for a in carriers), config
        )
    return CountryVerdict(
        country=country,
        status=status,
        confidence=round(confidence, 6),
        affected_share=round(affected, 6),
        measured_ases=len(measured),
        driving_asns=tuple(a.asn for a in driving),
        reachability_ratio=round(ratio, 6),
        since=since,
        summary=_summary(country, status, measured, driving, affected),
        mechanism=mechanism,
        layer=layer,
        mechanism_reason=mechanism_reason,
    )


def _summary(
    country: str, status: Status, measured: list[AsSummary], driving: list[AsSummary], share: float
) -> str:
    if status is Status.UNKNOWN:
        return f"{country or '??'} UNKNOWN: no AS of this country could be measured this round."
    if status is Status.UP:
        return f"{country} UP: {len(measured)} measured ASes, {share:.0%} (weighted) affected."
    names = ", ".join(f"AS{a.asn}" for a in driving[:3])
    return (
        f"{country} {status.name}: {share:.0%} (weighted) of {len(measured)} measured ASes affected, "
        f"driven by {names}."
    )

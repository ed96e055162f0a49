"""Coverage, said plainly: per AS what discovery knows and whether a verdict is possible.

An AS is analysable when it has at least `min_responsive_blocks` blocks with responders (so that
one block going dark is not read as the AS going dark) and vantage points outside it in at least
`min_vantage_asns` distinct ASes (the verdict engine's corroboration rule). Otherwise its
verdict is UNKNOWN with `reason` in the evidence, never a guess. Per country: the share of its
address space (addresses) that lies in analysable ASes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from vantage.collector.assignment.model import ProbeSlot
from vantage.collector.discovery.config import CoverageThresholds
from vantage.collector.discovery.history import BlockHistory
from vantage.collector.discovery.plan import eligible
from vantage.collector.discovery.space import BlockSpan


@dataclass(frozen=True, slots=True)
class AsCoverage:
    asn: int
    country: str  # the row's country: an AS spanning countries has one row per country
    address_space: int  # IPv4 addresses (in this country)
    blocks_known: int  # /24s of its address space
    blocks_responsive: int  # of those, blocks with an address that answered in the last 16 censuses
    targets_in_use: int
    vantage_points: int  # probes outside it (AS and country) able to send ICMP
    vantage_asns: int  # their distinct ASes
    analysable: bool
    reason: str  # why not ("" when analysable), with the thresholds


@dataclass(frozen=True, slots=True)
class CountryCoverage:
    country: str
    address_space: int
    analysable_address_space: int
    ases: int
    analysable_ases: int

    @property
    def analysable_share(self) -> float:
        """Share (0..1) of the country's address space in analysable ASes."""
        return self.analysable_address_space / self.address_space if self.address_space else 0.0


@dataclass(frozen=True, slots=True)
class SpaceSummary:
    """What the census knows of one (AS, country)'s address space."""

    address_space: int
    blocks_known: int
    blocks_responsive: int


def summarise_space(
    spans: Iterable[BlockSpan], histories: Mapping[int, BlockHistory]
) -> dict[tuple[int, str], SpaceSummary]:
    """(asn, country) -> addresses, /24 blocks and blocks with a responder inside its spans."""
    space: dict[tuple[int, str], int] = {}
    blocks: dict[tuple[int, str], set[int]] = {}
    responsive: dict[tuple[int, str], set[int]] = {}
    for span in spans:
        key = (span.asn, span.country)
        space[key] = space.get(key, 0) + span.size
        blocks.setdefault(key, set()).add(span.block)
        history = histories.get(span.block)
        if history is not None and any(span.first_host <= h <= span.last_host for h in history.responders()):
            responsive.setdefault(key, set()).add(span.block)
    return {key: SpaceSummary(space[key], len(blocks[key]), len(responsive.get(key, ()))) for key in space}


def vantage_points_outside(asn: int, country: str, probes: Iterable[ProbeSlot]) -> tuple[int, int]:
    """(probes, distinct ASes) of probes that may measure the AS: plan.eligible (ICMP, outside it)."""
    outside = [p for p in probes if eligible(p, asn, country)]
    # Probes of unknown AS count as distinct from every other (as assignment/model.py's probe_as_key).
    distinct = {p.asn if p.asn else f"probe:{p.probe_id}" for p in outside}
    return len(outside), len(distinct)


def as_coverage(
    asn: int,
    country: str,
    *,
    address_space: int,
    blocks_known: int,
    blocks_responsive: int,
    targets_in_use: int,
    probes: Sequence[ProbeSlot],
    thresholds: CoverageThresholds,
) -> AsCoverage:
    """The coverage row of one AS, with the analysable verdict and its reason."""
    vantage_points, vantage_asns = vantage_points_outside(asn, country, probes)
    reasons = []
    if blocks_responsive < thresholds.min_responsive_blocks:
        reasons.append(
            f"{blocks_responsive} responsive /24 block(s), at least {thresholds.min_responsive_blocks} needed"
        )
    if vantage_asns < thresholds.min_vantage_asns:
        reasons.append(
            f"vantage points outside it in {vantage_asns} AS(es), "
            f"at least {thresholds.min_vantage_asns} needed"
        )
    return AsCoverage(
        asn=asn,
        country=country,
        address_space=address_space,
        blocks_known=blocks_known,
        blocks_responsive=blocks_responsive,
        targets_in_use=targets_in_use,
        vantage_points=vantage_points,
        vantage_asns=vantage_asns,
        analysable=not reasons,
        reason="; ".join(reasons),
    )


def country_coverage(country: str, rows: Iterable[AsCoverage]) -> CountryCoverage:
    """Sum the AS rows of one country (rows of other countries are ignored)."""
    mine = [row for row in rows if row.country == country]
    return CountryCoverage(
        country=country,
        address_space=sum(row.address_space for row in mine),
        analysable_address_space=sum(row.address_space for row in mine if row.analysable),
        ases=len(mine),
        analysable_ases=sum(1 for row in mine if row.analysable),
    )

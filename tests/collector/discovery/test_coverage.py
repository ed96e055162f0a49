"""Coverage: analysable or not, with the reason and thresholds; a country's analysable share."""

from __future__ import annotations

import pytest

from vantage.collector.assignment.model import ProbeSlot
from vantage.collector.discovery.config import CoverageThresholds
from vantage.collector.discovery.coverage import as_coverage, country_coverage, summarise_space
from vantage.collector.discovery.history import BlockHistory
from vantage.collector.discovery.space import BlockSpan

AS = 64500
OUTSIDE = [ProbeSlot("a", 64510, "DE", True, False), ProbeSlot("b", 64511, "NL", True, False)]


@pytest.mark.parametrize(
    ("responsive", "probes", "analysable", "reason"),
    [
        (2, OUTSIDE, True, ""),
        (1, OUTSIDE, False, "1 responsive /24 block(s), at least 2 needed"),
        (5, OUTSIDE[:1], False, "vantage points outside it in 1 AS(es), at least 2 needed"),
        # probes inside the AS or the country, or without ICMP, do not count
        (
            5,
            [
                *OUTSIDE[:1],
                ProbeSlot("in", AS, "DE", True, False),
                ProbeSlot("kz", 64512, "KZ", True, False),
                ProbeSlot("x", 64513, "FR", False, False),
            ],
            False,
            "in 1 AS(es)",
        ),
        # two probes in one AS are one AS
        (5, [OUTSIDE[0], ProbeSlot("c", 64510, "FR", True, False)], False, "in 1 AS(es)"),
        (0, [], False, "0 responsive /24 block(s), at least 2 needed; vantage points outside it in 0 AS(es)"),
    ],
)
def test_analysable_with_reason(
    responsive: int, probes: list[ProbeSlot], analysable: bool, reason: str
) -> None:
    row = as_coverage(
        AS,
        "KZ",
        address_space=1024,
        blocks_known=4,
        blocks_responsive=responsive,
        targets_in_use=3,
        probes=probes,
        thresholds=CoverageThresholds(),
    )
    assert row.analysable is analysable
    assert reason in row.reason and (row.reason == "") is analysable


def test_country_share_and_space_summary() -> None:
    spans = [
        BlockSpan(1, 0, 255, AS, "KZ"),
        BlockSpan(2, 0, 127, AS, "KZ"),
        BlockSpan(2, 128, 255, 64501, "KZ"),
        BlockSpan(3, 0, 255, 64501, "KZ"),
    ]
    histories = {1: BlockHistory(1, 0, (5 << 16 | 1,)), 2: BlockHistory(2, 0, (200 << 16 | 1,))}
    summary = summarise_space(spans, histories)
    assert (
        summary[(AS, "KZ")].address_space,
        summary[(AS, "KZ")].blocks_known,
        summary[(AS, "KZ")].blocks_responsive,
    ) == (384, 2, 1)
    assert (summary[(64501, "KZ")].blocks_known, summary[(64501, "KZ")].blocks_responsive) == (2, 1)
    rows = [
        as_coverage(
            asn,
            "KZ",
            address_space=s.address_space,
            blocks_known=s.blocks_known,
            blocks_responsive=s.blocks_responsive,
            targets_in_use=0,
            probes=OUTSIDE,
            thresholds=CoverageThresholds(min_responsive_blocks=1),
        )
        for (asn, _), s in summary.items()
    ]
    rows[1] = as_coverage(
        64501,
        "KZ",
        address_space=384,
        blocks_known=2,
        blocks_responsive=0,
        targets_in_use=0,
        probes=OUTSIDE,
        thresholds=CoverageThresholds(),
    )
    country = country_coverage("KZ", rows)
    assert (
        country.address_space,
        country.analysable_address_space,
        country.ases,
        country.analysable_ases,
    ) == (768, 384, 2, 1)
    assert country.analysable_share == 0.5
    assert country_coverage("FR", rows).analysable_share == 0.0

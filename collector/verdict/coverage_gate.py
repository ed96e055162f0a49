"""Coverage gate: an AS that discovery cannot analyse gets UNKNOWN, with the reason, never a guess.

The verdict engine (engine.py) judges the observations it is given. For an AS in a discovery
campaign, the collector also knows whether there is enough to judge (collector/discovery/
coverage.py: responsive /24 blocks and vantage points outside it, with the thresholds). When
there is not, the AS's verdict is replaced by UNKNOWN whose evidence says why, and an AS with
no observations at all gets that UNKNOWN verdict too, so that a query shows the reason instead
of nothing. ASes outside the campaigns are not touched. Pure: plain data in and out.

Stored verdicts carry `GATED_ALGORITHM_VERSION` (the engine's version plus this gate's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from vantage.collector.verdict.model import AsVerdict, Evidence, Layer, Mechanism, Status

GATE_VERSION = "coverage-gate/1"


def gated_version(engine_version: str) -> str:
    return f"{engine_version}+{GATE_VERSION}"


def unknown_evidence(reason: str, evidence: Evidence | None = None) -> Evidence:
    summary = f"UNKNOWN: not analysable: {reason}"
    if evidence is not None:
        return dataclasses.replace(evidence, reachability_status=Status.UNKNOWN, summary=summary)
    return Evidence(
        vantage_points=0,
        vantage_asns=(),
        targets=0,
        protocols=(),
        failures=(),
        loss_ratio=None,
        baseline_loss_ratio=None,
        rtt_ms=None,
        baseline_rtt_ms=None,
        suspect_probes=(),
        filtered_targets=(),
        reachability_status=Status.UNKNOWN,
        interference_status=Status.UNKNOWN,
        inside_vantage_points=0,
        summary=summary,
    )


def gate_by_coverage(
    verdicts: Sequence[AsVerdict],
    not_analysable: Mapping[int, tuple[str, str]],
    *,
    round_start: datetime,
) -> tuple[AsVerdict, ...]:
    """`not_analysable`: asn -> (country, reason) for the campaigns' ASes that fail coverage.
    Returns the verdicts with those ASes UNKNOWN (added when the engine had none), by asn."""
    gated: dict[int, AsVerdict] = {}
    for verdict in verdicts:
        found = not_analysable.get(verdict.asn)
        if found is None:
            gated[verdict.asn] = verdict
            continue
        gated[verdict.asn] = dataclasses.replace(
            verdict,
            status=Status.UNKNOWN,
            confidence=0.0,
            since=verdict.since if verdict.status is Status.UNKNOWN else round_start,
            evidence=unknown_evidence(found[1], verdict.evidence),
            # Nothing is decided for an AS that cannot be analysed: no mechanism either.
            mechanism=Mechanism.NONE,
            layer=Layer.UNSPECIFIED,
        )
    for asn, (country, reason) in not_analysable.items():
        if asn not in gated:
            gated[asn] = AsVerdict(
                asn=asn,
                country=country,
                status=Status.UNKNOWN,
                confidence=0.0,
                belief=0.5,  # no evidence either way
                reachability_ratio=0.0,
                since=round_start,
                evidence=unknown_evidence(reason),
            )
    return tuple(gated[asn] for asn in sorted(gated))

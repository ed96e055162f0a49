"""Hand-built verdicts for the observability tests (plain data, fixed times)."""

from __future__ import annotations

from datetime import UTC, datetime

from vantage.collector.metrics.service_metrics import VerdictSnapshot
from vantage.collector.verdict.model import (
    AsVerdict,
    CountryVerdict,
    Evidence,
    FailureCount,
    FilteredTarget,
    Mechanism,
    Protocol,
    ProtocolStat,
    Status,
)

ROUND_START = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)


def evidence(
    *,
    vantage_points: int = 3,
    inside: int = 2,
    protocols: tuple[ProtocolStat, ...] = (),
    failures: tuple[FailureCount, ...] = (),
    filtered: tuple[FilteredTarget, ...] = (),
    loss: float | None = None,
    baseline_loss: float | None = None,
    rtt_ms: float | None = None,
    baseline_rtt_ms: float | None = None,
    status: Status = Status.UP,
) -> Evidence:
    return Evidence(
        vantage_points=vantage_points,
        vantage_asns=tuple(range(64600, 64600 + vantage_points)),
        targets=4,
        protocols=protocols,
        failures=failures,
        loss_ratio=loss,
        baseline_loss_ratio=baseline_loss,
        rtt_ms=rtt_ms,
        baseline_rtt_ms=baseline_rtt_ms,
        suspect_probes=(),
        filtered_targets=filtered,
        reachability_status=status,
        interference_status=Status.UP,
        inside_vantage_points=inside,
        summary="test",
    )


def as_verdict(
    asn: int,
    country: str,
    status: Status,
    *,
    ratio: float = 1.0,
    confidence: float = 0.9,
    belief: float = 0.95,
    since: datetime = ROUND_START,
    ev: Evidence | None = None,
    mechanism: Mechanism = Mechanism.NONE,
) -> AsVerdict:
    return AsVerdict(
        asn=asn,
        country=country,
        status=status,
        confidence=confidence,
        belief=belief,
        reachability_ratio=ratio,
        since=since,
        evidence=ev if ev is not None else evidence(status=status),
        mechanism=mechanism,
    )


def country_verdict(
    country: str,
    status: Status,
    *,
    ratio: float = 1.0,
    measured: int = 2,
    mechanism: Mechanism = Mechanism.NONE,
) -> CountryVerdict:
    return CountryVerdict(
        country=country,
        status=status,
        confidence=0.8,
        affected_share=0.0 if status == Status.UP else 0.75,
        measured_ases=measured,
        driving_asns=(),
        reachability_ratio=ratio,
        since=ROUND_START,
        summary="test",
        mechanism=mechanism,
    )


def kazakhstan_snapshot(*, down: bool = False) -> VerdictSnapshot:
    """Two Kazakh ASes and one Dutch one; with `down`, AS 64500 is cut off."""
    kz_status = Status.DOWN if down else Status.UP
    return VerdictSnapshot(
        as_verdicts=(
            as_verdict(
                64500,
                "KZ",
                kz_status,
                ratio=0.05 if down else 0.98,
                confidence=0.92,
                belief=0.03 if down else 0.97,
                ev=evidence(
                    vantage_points=5,
                    inside=0 if down else 3,
                    protocols=(
                        ProtocolStat(Protocol.ICMP, attempts=20, successes=1 if down else 20),
                        ProtocolStat(Protocol.HTTP, attempts=10, successes=0 if down else 9),
                        ProtocolStat(Protocol.DNS, attempts=0, successes=0),
                    ),
                    failures=(
                        FailureCount("generic_timeout_error", Protocol.ICMP, 19 if down else 0),
                        FailureCount("connection_reset", Protocol.HTTP, 10 if down else 1),
                    ),
                    loss=0.95 if down else 0.01,
                    baseline_loss=0.01,
                    rtt_ms=180.0,
                    baseline_rtt_ms=42.5,
                    status=kz_status,
                ),
                mechanism=Mechanism.BGP_WITHDRAWAL if down else Mechanism.NONE,
            ),
            as_verdict(
                64501,
                "KZ",
                Status.FILTERED,
                ev=evidence(
                    filtered=(
                        FilteredTarget("t-1", Protocol.HTTP, "connection_reset", 3, 4),
                        FilteredTarget("t-2", Protocol.HTTP, "connection_reset", 3, 4),
                        FilteredTarget("t-3", Protocol.DNS, "dns_nxdomain_error", 2, 3),
                    ),
                    status=Status.FILTERED,
                ),
                mechanism=Mechanism.SERVICE_BLOCKING,
            ),
            as_verdict(64502, "NL", Status.UP, ev=evidence(inside=1)),
        ),
        country_verdicts=(
            country_verdict(
                "KZ",
                Status.DOWN if down else Status.DEGRADED,
                ratio=0.4 if down else 0.9,
                mechanism=Mechanism.BGP_WITHDRAWAL if down else Mechanism.PARTIAL,
            ),
            country_verdict("NL", Status.UP, measured=1),
        ),
        as_names={64500: 'Kaz "Telecom"\\Backbone', 64502: "Example NL"},
    )

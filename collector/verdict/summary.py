"""One human sentence per verdict: what was decided, and from how much evidence."""

from __future__ import annotations

from vantage.collector.verdict.interference import Interference
from vantage.collector.verdict.model import Status
from vantage.collector.verdict.reachability import (
    REASON_PATHS,
    REASON_TARGETS,
    REASON_THROTTLED,
    Reachability,
)


def _vps(count: int, asns: int) -> str:
    return f"{count} vantage point{'s' if count != 1 else ''} in {asns} AS{'es' if asns != 1 else ''}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0f} ms"


def up_summary(asn: int, country: str, r: Reachability) -> str:
    """`as_summary` of an AS judged UP from outside without suspects and without an inside view."""
    where = f"AS{asn} ({country})" if country else f"AS{asn}"
    vps = _vps(r.vantage_points, len(r.vantage_asns))
    return f"{where} UP: {r.answered_targets}/{r.targets} targets answered from {vps}."


def as_summary(
    asn: int,
    country: str,
    status: Status,
    r: Reachability | None,
    i: Interference | None,
    baseline_loss: float | None,
    baseline_rtt_ms: float | None,
) -> str:
    where = f"AS{asn} ({country})" if country else f"AS{asn}"
    parts: list[str] = []
    if r is not None:
        vps = _vps(r.vantage_points, len(r.vantage_asns))
        seen = f"{r.answered_targets}/{r.targets} targets answered from {vps}"
        if status is Status.DEGRADED and r.reason == REASON_PATHS:
            parts.append(
                f"unreachable from {r.down_votes} vantage points in several ASes, "
                f"reachable from {r.up_votes}; {seen}"
            )
        elif status is Status.DEGRADED and r.reason == REASON_TARGETS:
            parts.append(f"{r.failing_targets} usually-answering targets fail from >= 2 networks; {seen}")
        elif status is Status.DEGRADED and r.reason == REASON_THROTTLED:
            parts.append(
                f"throttling: loss {_pct(r.loss_ratio)} vs baseline {_pct(baseline_loss)}, "
                f"RTT {_ms(r.rtt_ms)} vs {_ms(baseline_rtt_ms)}; {seen}"
            )
        elif status is Status.UNKNOWN:
            parts.append(f"not enough evidence: {seen}")
        else:
            parts.append(seen)
        if r.suspects:
            parts.append(
                f"dissenting vantage point{'s' if len(r.suspects) > 1 else ''} "
                f"{', '.join(r.suspects)} suspect"
            )
    elif status is Status.UNKNOWN:
        parts.append("no outside-in measurement this round")
    if i is not None:
        if i.status is Status.FILTERED:
            kinds = sorted({t.failure for t in i.filtered_targets})
            targets = len({t.target_id for t in i.filtered_targets})
            parts.append(
                f"{i.agreeing_vantage_points} of {i.inside_vantage_points} inside vantage points "
                f"see {targets} targets interfered with ({', '.join(kinds)}) "
                "that work from control vantage points"
            )
        elif status is Status.FILTERED or i.agreeing_vantage_points:
            parts.append(f"uncorroborated anomalies from {i.agreeing_vantage_points} inside vantage point(s)")
        else:
            parts.append(f"no interference seen from {i.inside_vantage_points} inside vantage point(s)")
    return f"{where} {status.name}: {'; '.join(parts)}."

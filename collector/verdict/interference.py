"""Are the users of AS X censored? Inside-out measurements compared with control vantage points.

Theory of operation (after OONI's Web Connectivity: without a control, a failure cannot be called
blocking). For every target measured with kind=INTERFERENCE, the *control* of a probe in AS X,
country C is the same target measured by probes in other countries (or, when there are none, by
probes in other ASes). A target is *judgeable* for that probe when it works from the control (at
least half of the control's measurements OK). On a judgeable target, an inside observation is an
*anomaly* when:

* it failed with a blocking failure (reset, timeout, refused, DNS error, TLS error, ...);
* DNS answered, but the answer's ASes share none with the control's answers (or the probe's own
  check found the answer outside the expected set: outcome MISMATCH);
* HTTP answered with another status than the control's, or a body whose length differs by more
  than OONI's 0.7 ratio (a block page) — a different hash alone is not enough (dynamic pages).

The rule: an inside vantage point *shows interference* when it has anomalies on at least 2
distinct judgeable targets while basic reachability holds for it (something else it measured this
round worked); a target whose only anomalies are timeouts or unreachables counts half, since
packets also get lost by chance (so it takes 4 such targets, or 1 reset/forgery plus 2 timeouts).
The AS is FILTERED when at least one inside vantage point shows interference and the confidence —
agreeing share x (1 - 0.4^agreeing) — is at least 0.5: one inside vantage point alone gives 0.6,
two agreeing 0.84, three 0.94; one of two agreeing (0.3) is not enough, so a single faulty or lying
inside probe cannot outvote an honest one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from vantage.collector.verdict.classify import (
    BLOCKING_FAILURES,
    DNS_INCONSISTENT,
    HTTP_DIFF,
    WEAK_BLOCKING_FAILURES,
)
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.model import FilteredTarget, Observation, Outcome, Protocol, Status


@dataclass(frozen=True, slots=True)
class Interference:
    status: Status  # FILTERED, UP (inside view clean) or UNKNOWN (nothing judgeable)
    confidence: float
    inside_vantage_points: int
    agreeing_vantage_points: int
    judgeable_targets: int
    filtered_targets: tuple[FilteredTarget, ...]
    suspects: tuple[str, ...]  # inside VPs that saw anomalies the others did not

    @property
    def filtered_share(self) -> float:
        ids = {t.target_id for t in self.filtered_targets}
        return len(ids) / self.judgeable_targets if self.judgeable_targets else 0.0


def judge_all(
    observations: list[Observation], basic_ok_probes: frozenset[str], config: VerdictConfig
) -> dict[int, Interference]:
    """Interference per AS that has inside vantage points. `observations` excludes offline probes."""
    by_target: dict[tuple[str, int], list[Observation]] = {}
    for o in observations:
        by_target.setdefault((o.target_id, o.protocol), []).append(o)

    # probe -> (AS, judgeable target keys, anomalies: key -> failure, any non-anomalous OK)
    per_probe: dict[str, tuple[int, set[tuple[str, int]], dict[tuple[str, int], str]]] = {}
    control_successes: dict[tuple[str, int, str], int] = {}
    clean_ok: set[str] = set()
    for key, group in by_target.items():
        controls: dict[tuple[str, int], tuple[int, list[Observation]]] = {}
        for o in group:
            where = (o.probe_country, o.probe_asn)
            if where not in controls:
                control = [c for c in group if c.probe_country != o.probe_country] or [
                    c for c in group if c.probe_asn != o.probe_asn
                ]
                controls[where] = (len(control), [c for c in control if c.outcome == Outcome.OK])
            n_control, ok_control = controls[where]
            if not n_control or len(ok_control) < config.control_min_success_ratio * n_control:
                if o.outcome == Outcome.OK:
                    clean_ok.add(o.probe_id)
                continue
            entry = per_probe.setdefault(o.probe_id, (o.probe_asn, set(), {}))
            entry[1].add(key)
            anomaly = _anomaly(o, ok_control, config)
            if anomaly is None:
                if o.outcome == Outcome.OK:
                    clean_ok.add(o.probe_id)
            else:
                entry[2][key] = anomaly
                control_successes[(key[0], key[1], o.probe_id)] = len(ok_control)

    by_asn: dict[int, list[str]] = {}
    for probe_id, (asn, _, _) in per_probe.items():
        by_asn.setdefault(asn, []).append(probe_id)

    results: dict[int, Interference] = {}
    for asn, probes in by_asn.items():
        agreeing = [
            p
            for p in probes
            if _weight(per_probe[p][2]) >= config.filtered_min_targets
            and (p in clean_ok or p in basic_ok_probes)
        ]
        share = len(agreeing) / len(probes)
        confidence = (
            share * (1.0 - config.filtered_doubt_per_vantage_point ** len(agreeing)) if agreeing else 0.0
        )
        judgeable = {t for p in probes for t, _ in per_probe[p][1]}
        filtered = agreeing and confidence >= config.filtered_min_confidence
        targets: tuple[FilteredTarget, ...] = ()
        suspects: tuple[str, ...] = ()
        if filtered:
            targets = _filtered_targets(agreeing, per_probe, control_successes)
        else:
            # Anomalies no one corroborates say more about the probe than about the network.
            suspects = tuple(sorted(agreeing))
        results[asn] = Interference(
            status=Status.FILTERED if filtered else Status.UP,
            confidence=round(confidence if filtered else 1.0 - confidence, 6),
            inside_vantage_points=len(probes),
            agreeing_vantage_points=len(agreeing),
            judgeable_targets=len(judgeable),
            filtered_targets=targets,
            suspects=suspects,
        )
    return results


def _weight(anomalies: dict[tuple[str, int], str]) -> float:
    """Distinct anomalous targets, a target whose only anomalies are silences counting half."""
    strength: dict[str, float] = {}
    for (target_id, _), failure in anomalies.items():
        value = 0.5 if failure in WEAK_BLOCKING_FAILURES else 1.0
        strength[target_id] = max(strength.get(target_id, 0.0), value)
    return sum(strength.values())


def _filtered_targets(
    agreeing: list[str],
    per_probe: dict[str, tuple[int, set[tuple[str, int]], dict[tuple[str, int], str]]],
    control_successes: dict[tuple[str, int, str], int],
) -> tuple[FilteredTarget, ...]:
    failures: dict[tuple[str, int], Counter[str]] = {}
    controls: dict[tuple[str, int], int] = {}
    for p in agreeing:
        for key, failure in per_probe[p][2].items():
            failures.setdefault(key, Counter())[failure] += 1
            controls[key] = max(controls.get(key, 0), control_successes[(key[0], key[1], p)])
    return tuple(
        FilteredTarget(
            target_id=key[0],
            protocol=Protocol(key[1]),
            failure=min(counts.items(), key=lambda item: (-item[1], item[0]))[0],
            inside_failures=sum(counts.values()),
            control_successes=controls[key],
        )
        for key, counts in sorted(failures.items())
    )


def _anomaly(o: Observation, ok_control: list[Observation], config: VerdictConfig) -> str | None:
    """The kind of interference this inside observation shows, or None."""
    if o.outcome == Outcome.FAILURE:
        return o.failure if o.failure in BLOCKING_FAILURES else None
    if o.outcome == Outcome.MISMATCH:
        return DNS_INCONSISTENT if o.protocol == Protocol.DNS else HTTP_DIFF
    if o.outcome != Outcome.OK:
        return None
    if o.protocol == Protocol.DNS and o.answer_asns:
        control_asns: set[int] = set()
        for c in ok_control:
            control_asns |= c.answer_asns
        if control_asns and not (o.answer_asns & control_asns):
            return DNS_INCONSISTENT
    elif o.protocol == Protocol.HTTP:
        if o.body_sha256 and any(c.body_sha256 == o.body_sha256 for c in ok_control):
            return None
        statuses = Counter(c.status_code for c in ok_control if c.status_code)
        if o.status_code and statuses:
            usual = min(statuses.items(), key=lambda item: (-item[1], item[0]))[0]
            if o.status_code != usual:
                return HTTP_DIFF
        lengths = sorted(c.body_length for c in ok_control if c.body_length)
        if o.body_length and lengths:
            typical = lengths[len(lengths) // 2]
            if min(o.body_length, typical) < config.body_length_ratio * max(o.body_length, typical):
                return HTTP_DIFF
    return None

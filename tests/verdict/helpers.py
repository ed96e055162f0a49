"""Builders of observations for the verdict engine's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vantage import failures
from vantage.collector.verdict.engine import EngineState, RoundOutput, VerdictConfig, evaluate_round
from vantage.collector.verdict.model import Observation, Outcome, Protocol, TaskKind

T0 = datetime(2022, 1, 5, 10, 0, tzinfo=UTC)
ROUND = timedelta(minutes=5)


def reach(probe: int, target_asn: int, target: int, ok: bool, *, probe_asn: int | None = None) -> Observation:
    """A reachability ICMP observation by probe `p<probe>` (in AS 100+probe) of target t<asn>-<target>."""
    return Observation(
        probe_id=f"p{probe}",
        probe_asn=probe_asn if probe_asn is not None else 100 + probe,
        probe_country="DE",
        target_id=f"t{target_asn}-{target}",
        target_asn=target_asn,
        target_country="KZ",
        protocol=Protocol.ICMP,
        kind=TaskKind.REACHABILITY,
        outcome=Outcome.OK if ok else Outcome.FAILURE,
        failure="" if ok else failures.GENERIC_TIMEOUT,
        rtt_ms=40.0 if ok else None,
        loss_ratio=0.0 if ok else 1.0,
    )


def full_round(target_asn: int, probes: range, targets: int, ok: bool) -> list[Observation]:
    return [reach(p, target_asn, t, ok) for p in probes for t in range(targets)]


def run(rounds: list[list[Observation]], config: VerdictConfig | None = None) -> list[RoundOutput]:
    """Evaluate consecutive rounds, passing the state through its byte form as the collector does."""
    state = EngineState.initial()
    outputs = []
    for n, observations in enumerate(rounds):
        out = evaluate_round(
            observations, state, round_number=n, round_start=T0 + n * ROUND, round_length=ROUND, config=config
        )
        state = EngineState.from_bytes(out.state.to_bytes())
        outputs.append(out)
    return outputs

"""Builders of observations for the verdict engine's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vantage import failures
from vantage.collector.verdict.engine import EngineState, RoundOutput, VerdictConfig, evaluate_round
from vantage.collector.verdict.model import AsVerdict, Observation, Outcome, Protocol, TaskKind

T0 = datetime(2022, 1, 5, 10, 0, tzinfo=UTC)
ROUND = timedelta(minutes=5)
TARGET_ASN = 9198


def reach(
    probe: int,
    target_asn: int,
    target: int,
    ok: bool,
    *,
    probe_asn: int | None = None,
    rtt_ms: float = 40.0,
    loss_ratio: float = 0.0,
    failure: str = failures.GENERIC_TIMEOUT,
    country: str = "KZ",
) -> Observation:
    """A reachability ICMP observation by probe `p<probe>` (in AS 100+probe) of target t<asn>-<target>."""
    return Observation(
        probe_id=f"p{probe}",
        probe_asn=probe_asn if probe_asn is not None else 100 + probe,
        probe_country="DE",
        target_id=f"t{target_asn}-{target}",
        target_asn=target_asn,
        target_country=country,
        protocol=Protocol.ICMP,
        kind=TaskKind.REACHABILITY,
        outcome=Outcome.OK if ok else Outcome.FAILURE,
        failure="" if ok else failure,
        rtt_ms=rtt_ms if ok else None,
        loss_ratio=loss_ratio if ok else 1.0,
    )


def full_round(
    target_asn: int, probes: range | list[int], targets: int, ok: bool, **kwargs: object
) -> list[Observation]:
    return [reach(p, target_asn, t, ok, **kwargs) for p in probes for t in range(targets)]  # type: ignore[arg-type]


def inside(
    probe: str,
    probe_asn: int,
    country: str,
    target: int,
    protocol: Protocol,
    outcome: Outcome,
    *,
    failure: str = "",
    answer_asns: frozenset[int] = frozenset(),
    status_code: int = 0,
    body_length: int = 0,
    body_sha256: str = "",
) -> Observation:
    """An inside-out (interference) observation of test-list target `test<target>`."""
    return Observation(
        probe_id=probe,
        probe_asn=probe_asn,
        probe_country=country,
        target_id=f"test{target}",
        target_asn=64500 + target,
        target_country="US",
        protocol=protocol,
        kind=TaskKind.INTERFERENCE,
        outcome=outcome,
        failure=failure,
        answer_asns=answer_asns,
        status_code=status_code,
        body_length=body_length,
        body_sha256=body_sha256,
    )


def clean_test_list(probe: str, probe_asn: int, country: str, targets: int = 6) -> list[Observation]:
    """What an uncensored probe sees of the test list: pages and DNS answers as expected."""
    out = []
    for j in range(targets):
        out.append(
            inside(
                probe,
                probe_asn,
                country,
                j,
                Protocol.HTTP,
                Outcome.OK,
                status_code=200,
                body_length=20_000 + j,
            )
        )
        out.append(
            inside(probe, probe_asn, country, j, Protocol.DNS, Outcome.OK, answer_asns=frozenset({64500 + j}))
        )
    return out


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


def verdict_of(out: RoundOutput, asn: int = TARGET_ASN) -> AsVerdict:
    return next(v for v in out.as_verdicts if v.asn == asn)


def warm(rounds: int = 4, probes: range = range(3), targets: int = 10) -> list[list[Observation]]:
    """Normal rounds so that availabilities and baselines exist."""
    return [full_round(TARGET_ASN, probes, targets, ok=True) for _ in range(rounds)]

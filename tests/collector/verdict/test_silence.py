"""Silence as a signal: bursts of probes going silent together, against the scope's usual churn."""

from __future__ import annotations

import random

import pytest

from vantage.collector.verdict.silence import (
    CORROBORATES_DOWN,
    PROBES_DISCONNECTED,
    ScopeMemory,
    SilenceConfig,
    binomial_tail,
    step,
)


def probes(n: int, prefix: str = "p") -> frozenset[str]:
    return frozenset(f"{prefix}{i}" for i in range(n))


def run(rounds: list[dict[str, frozenset[str]]], down: dict[int, frozenset[str]] | None = None):  # type: ignore[no-untyped-def]
    memory: dict[str, ScopeMemory] = {}
    found = []
    for n, connected in enumerate(rounds):
        signals, memory = step(connected, memory, (down or {}).get(n, frozenset()), round_number=n)
        found.extend((n, s) for s in signals)
    return found


def test_one_volunteer_unplugging_one_probe_is_never_an_event() -> None:
    rounds = [{"AS9198": probes(3)}] * 5 + [{"AS9198": probes(3) - {"p0"}}] * 5
    assert run(rounds) == []


def test_a_burst_without_outside_in_evidence_is_probes_disconnected_not_down() -> None:
    rounds = [{"AS9198": probes(4)}] * 10 + [{"AS9198": frozenset()}] * 3
    found = run(rounds)
    assert found and found[0][0] == 10
    signal = found[0][1]
    assert signal.kind == PROBES_DISCONNECTED
    assert signal.went_silent == ("p0", "p1", "p2", "p3") and signal.connected_before == 4
    assert "4 of 4 probes in AS9198 went silent together" in signal.summary
    assert "not DOWN by itself" in signal.summary


def test_a_burst_corroborates_an_outside_in_down() -> None:
    # 4 of 5 (chance 8e-7 at 1 % churn); 3 of 4 (3e-5) would not be enough.
    rounds = [{"AS9198": probes(5)}] * 10 + [{"AS9198": probes(5) - {"p0", "p1", "p2", "p3"}}]
    found = run(rounds, down={10: frozenset({"AS9198"})})
    assert [(n, s.kind) for n, s in found] == [(10, CORROBORATES_DOWN)]
    assert "corroborating the outside-in DOWN" in found[0][1].summary


def test_two_probes_are_never_a_burst() -> None:
    rounds = [{"AS9198": probes(2)}] * 10 + [{"AS9198": frozenset()}] * 3
    assert run(rounds) == []


def test_a_flappy_group_needs_more_probes_than_a_steady_one() -> None:
    # Three probes that are offline a lot (one of them every other round) teach a high churn.
    rng = random.Random(7)
    rounds = [{"AS1": frozenset(p for p in probes(3) if rng.random() > 0.3)} for _ in range(60)]
    rounds += [{"AS1": frozenset()}] * 2
    assert [n for n, _ in run(rounds)] == []
    steady = [{"AS1": probes(3)}] * 60 + [{"AS1": frozenset()}]
    assert [n for n, _ in run(steady)] == [60]


def test_no_false_event_from_ordinary_churn_over_24_hours() -> None:
    """50 ASes of 3-12 probes, 5 % of probes flapping (offline 1-6 rounds), 288 rounds."""
    rng = random.Random(21)
    fleet = {f"AS{64500 + a}": probes(rng.randint(3, 12), f"a{a}-") for a in range(50)}
    flappy = {p for members in fleet.values() for p in members if rng.random() < 0.05}
    offline_until: dict[str, int] = {}
    rounds = []
    for n in range(288):
        for p in flappy:
            if offline_until.get(p, -1) < n and rng.random() < 0.2:
                offline_until[p] = n + rng.randint(1, 6)
        rounds.append(
            {
                scope: frozenset(p for p in members if offline_until.get(p, -1) < n)
                for scope, members in fleet.items()
            }
        )
    assert run(rounds) == []


def test_binomial_tail() -> None:
    assert binomial_tail(3, 0, 0.5) == 1.0
    assert binomial_tail(3, 3, 0.5) == pytest.approx(0.125)
    assert binomial_tail(4, 2, 0.1) == pytest.approx(1 - 0.9**4 - 4 * 0.1 * 0.9**3)


def test_config_refuses_single_probe_bursts() -> None:
    with pytest.raises(ValueError, match="one probe going silent is never an event"):
        SilenceConfig(min_silent_probes=1)

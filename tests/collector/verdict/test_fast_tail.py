"""The engine's shortcuts for a steady state (engine._where_and_when, fast._target_llrs) give what the
plain per-target updates give, and the vectorised path still agrees with the reference path over
rounds with outages, throttling, filtering, forgotten targets and new ones."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import timedelta

import numpy as np
import pytest

from vantage import failures
from vantage.collector.verdict import engine
from vantage.collector.verdict.engine import EngineState, VerdictConfig, _where_and_when, evaluate_round
from vantage.collector.verdict.fast import _target_llrs, plain_baselines
from vantage.collector.verdict.model import Observation, Outcome, Protocol, Status, TaskKind
from vantage.collector.verdict.reachability import Reachability
from vantage.collector.verdict.robust import finite_or_none
from vantage.collector.verdict.round_columns import EXTRA_DEFAULTS, Extras, RoundColumns
from vantage.collector.verdict.simulate import SimulationConfig, simulate
from vantage.collector.verdict.state import AsMemory, TargetMemory

from .helpers import T0


def _naive_where_and_when(
    old_home: dict[str, int], old_last: dict[str, int], ids: list[str], homes: list[int], round_number: int
) -> tuple[dict[str, int], dict[str, int], bool]:
    """What the engine did before the shortcuts: copy, update, and scan for the targets not measured."""
    home = dict(old_home)
    home.update(dict(zip(ids, homes, strict=True)))
    last_of = dict(old_last)
    last_of.update(dict.fromkeys(ids, round_number))
    return home, last_of, not (old_last.keys() - set(ids))


def _case(name: str) -> tuple[dict[str, int], dict[str, int], list[str], list[int]]:
    ids = [f"t{i}" for i in range(40)]
    homes = [100 + i // 4 for i in range(40)]
    old_home = dict(zip(ids, homes, strict=True))
    old_last = dict.fromkeys(ids, 6)
    if name == "same order":
        return old_home, old_last, list(ids), list(homes)
    if name == "other order":
        order = random.Random(1).sample(range(40), 40)
        return old_home, old_last, [ids[i] for i in order], [homes[i] for i in order]
    if name == "moved home":
        return old_home, old_last, list(ids), [*homes[:-1], 999]
    if name == "new targets":
        return old_home, old_last, [*ids, "t-new1", "t-new2"], [*homes, 200, 201]
    if name == "missing targets":
        return old_home, old_last, ids[5:], homes[5:]
    if name == "home and last disagree":  # a state built by hand need not keep both in step
        return {**old_home, "t-extra": 7}, old_last, list(ids), list(homes)
    assert name == "empty state"
    return {}, {}, list(ids), list(homes)


CASES = ["same order", "other order", "moved home", "new targets", "missing targets"]
CASES += ["home and last disagree", "empty state"]


@pytest.mark.parametrize("name", CASES)
def test_where_and_when_is_copy_and_update(name: str) -> None:
    old_home, old_last, ids, homes = _case(name)
    got = _where_and_when(old_home, old_last, ids, homes, 7)
    want = _naive_where_and_when(old_home, old_last, ids, homes, 7)
    # The same entries in the same order (the state's bytes follow the dicts' order).
    assert [list(got[0].items()), list(got[1].items()), got[2]] == [
        list(want[0].items()),
        list(want[1].items()),
        want[2],
    ]
    assert got[0] is not old_home and got[1] is not old_last  # a state's dicts are never shared


@pytest.mark.parametrize("order", ["same", "shuffled", "partly known"])
def test_target_llrs_read_the_state_as_lookups_do(order: str) -> None:
    rng = random.Random(4)
    targets: dict[str, TargetMemory] = {
        f"t{i}": (rng.random(), rng.randrange(12), rng.random() < 0.7) for i in range(300)
    }
    ids = list(targets)
    if order == "shuffled":
        rng.shuffle(ids)
    elif order == "partly known":
        ids = [*ids[50:], "new-a", "new-b"]
    config = VerdictConfig()
    positive, negative, (a, rounds, ever) = _target_llrs(ids, targets, config)
    first_seen = (config.default_availability, 0, False)
    assert a.tolist() == [targets.get(t, first_seen)[0] for t in ids]
    assert rounds.tolist() == [targets.get(t, first_seen)[1] for t in ids]
    assert ever.tolist() == [targets.get(t, first_seen)[2] for t in ids]
    # The weights: an unknown target counts as one that has answered.
    known = [(t, *targets.get(t, (config.default_availability, 0, True))) for t in ids]
    silent = np.array([not e and n >= config.never_answered_rounds for _, _, n, e in known])
    assert not positive[silent].any() and not negative[silent].any()
    assert (positive[~silent] > 0).all()


def _rounds_with_churn() -> tuple[SimulationConfig, list[list[Observation]]]:
    """A simulated day with outages, throttling and filtering, where one in five ASes goes unmeasured
    for a stretch (its targets are forgotten, then come back as new) and some targets are renamed."""
    config = SimulationConfig(
        ases=24,
        targets_per_as=6,
        outside_probes=16,
        rounds=36,
        outages=4,
        throttles=2,
        filterings=3,
        offline_probes=1,
        liars=1,
    )
    _, sim_rounds = simulate(config, random.Random(11))
    out: list[list[Observation]] = []
    for k, sim_round in enumerate(sim_rounds):
        observations = list(sim_round.observations)
        if 12 <= k < 22:  # not measured: past forget_after_s below
            observations = [o for o in observations if o.target_asn % 5 != 0]
        if k >= 26:  # new targets in some ASes
            observations = [
                o._replace(target_id=f"{o.target_id}-v2") if o.target_asn % 3 == 0 else o
                for o in observations
            ]
        out.append(observations)
    return config, out


def test_vectorised_path_agrees_with_the_reference_path_through_churn() -> None:
    sim, rounds = _rounds_with_churn()
    length = timedelta(minutes=sim.round_minutes)
    forget = {"forget_after_s": 6 * length.total_seconds()}
    fast_config = VerdictConfig(**forget)  # type: ignore[arg-type]
    reference_config = VerdictConfig(vectorized=False, **forget)  # type: ignore[arg-type]
    states = {"tuples": EngineState.initial(), "sorted columns": EngineState.initial()}
    reference_state = EngineState.initial()
    seen: set[Status] = set()
    forgotten = new = 0
    for k, observations in enumerate(rounds):
        kwargs = {"round_number": k, "round_start": sim.start + k * length, "round_length": length}
        reference = evaluate_round(observations, reference_state, config=reference_config, **kwargs)  # type: ignore[arg-type]
        # As a collector hands a round over: columns sorted by AS then probe, no tuples behind them
        # (in a steady state the targets then come in the order the state learned them).
        columns = RoundColumns.sorted_by_target_asn_then_probe(
            **_fields(observations), extras=_extras(observations)
        )
        inputs = {"tuples": observations, "sorted columns": dataclasses.replace(columns, source=None)}
        for name, round_input in inputs.items():
            out = evaluate_round(round_input, states[name], config=fast_config, **kwargs)  # type: ignore[arg-type]
            states[name] = out.state
            _assert_agree(out, reference)
        forgotten += len(reference_state.target_home.keys() - reference.state.target_home.keys())
        new += len(reference.state.target_home.keys() - reference_state.target_home.keys())
        reference_state = reference.state
        seen.update(v.status for v in reference.as_verdicts)
    assert {Status.DOWN, Status.DEGRADED, Status.FILTERED, Status.UP} <= seen
    assert forgotten > 0 and new > 144  # more than the first round's targets


def _fields(observations: list[Observation]) -> dict[str, list[object]]:
    return {
        "probe_ids": [o.probe_id for o in observations],
        "probe_asn": [o.probe_asn for o in observations],
        "probe_countries": [o.probe_country for o in observations],
        "target_ids": [o.target_id for o in observations],
        "target_asn": [o.target_asn for o in observations],
        "target_countries": [o.target_country for o in observations],
        "protocol": [int(o.protocol) for o in observations],
        "kind": [int(o.kind) for o in observations],
        "outcome": [int(o.outcome) for o in observations],
        "failures": [o.failure for o in observations],
        "rtt_ms": [o.rtt_ms for o in observations],
        "loss_ratio": [o.loss_ratio for o in observations],
    }


def _extras(observations: list[Observation]) -> dict[int, Extras]:
    """What the rows carry beyond the columns (DNS answers, HTTP bodies), by row."""
    out: dict[int, Extras] = {}
    for row, o in enumerate(observations):
        extra = (o.answer_asns, o.status_code, o.body_sha256, o.body_length)
        if extra != EXTRA_DEFAULTS:
            out[row] = extra
    return out


def _assert_agree(fast, reference) -> None:  # type: ignore[no-untyped-def]
    """Exact where both paths compute the same way; float sums in another order to 1e-9."""
    assert (fast.offline_probes, fast.suspect_probes, fast.changed_asns) == (
        reference.offline_probes,
        reference.suspect_probes,
        reference.changed_asns,
    )
    assert [(v.asn, v.status, v.since, v.mechanism, v.evidence.summary) for v in fast.as_verdicts] == [
        (v.asn, v.status, v.since, v.mechanism, v.evidence.summary) for v in reference.as_verdicts
    ]
    for a, b in zip(fast.as_verdicts, reference.as_verdicts, strict=True):
        assert (a.confidence, a.belief, a.reachability_ratio) == pytest.approx(
            (b.confidence, b.belief, b.reachability_ratio), abs=1e-6
        )
    assert [(e.id, e.kind, e.started_at, e.ended_at) for e in fast.events] == [
        (e.id, e.kind, e.started_at, e.ended_at) for e in reference.events
    ]
    assert fast.country_verdicts == reference.country_verdicts
    f, r = fast.state, reference.state
    assert list(f.target_home.items()) == list(r.target_home.items()) or f.target_home == r.target_home
    assert f.target_last_round == r.target_last_round
    assert f.targets.keys() == r.targets.keys()
    for tid, (a, n, ever) in r.targets.items():
        assert f.targets[tid][1:] == (n, ever)
        assert f.targets[tid][0] == pytest.approx(a, abs=1e-12)
    assert {asn: m[:3] + m[7:9] for asn, m in f.ases.items()} == {
        asn: m[:3] + m[7:9] for asn, m in r.ases.items()
    }


def _steady_round(k: int, rng: random.Random) -> list[Observation]:
    """bench/verdict.py's kind of round, small: every AS measured by 3 probes from other ASes, in the
    same order every round (so the engine's steady-state shortcuts apply), some ASes cut off in
    some rounds, a flaky target per AS; AS 1003 unmeasured in rounds 3-9 (forgotten), AS 1004's
    targets renamed from round 6 (new targets)."""
    probes = [(f"probe-{i:02d}", 5000 + i // 2, "DE") for i in range(12)]
    out: list[Observation] = []
    for a in range(12):
        asn = 1000 + a
        if asn == 1003 and 3 <= k < 10:
            continue
        cut = (k in (4, 5) and a in (1, 2)) or (k == 7 and a == 6)
        for probe_id, probe_asn, probe_cc in rng.sample(probes, 3):
            for t in range(8):
                target_id = f"{asn}-{t}" + ("-v2" if asn == 1004 and k >= 6 else "")
                if cut or rng.random() < 0.02 or (t == 0 and rng.random() < 0.3):
                    row = (Outcome.FAILURE, failures.GENERIC_TIMEOUT, None, 1.0)
                else:
                    row = (Outcome.OK, "", 20.0 + a + rng.random(), 0.0)
                out.append(
                    Observation(
                        probe_id,
                        probe_asn,
                        probe_cc,
                        target_id,
                        asn,
                        "KZ",
                        Protocol.ICMP,
                        TaskKind.REACHABILITY,
                        *row,
                    )
                )
    return out


def test_steady_state_shortcuts_agree_with_the_reference_path(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = {"same order": 0, "other": 0}
    where_and_when = engine._where_and_when

    def counted(old_home, old_last, ids, homes, round_number):  # type: ignore[no-untyped-def]
        taken["same order" if list(old_last) == ids else "other"] += 1
        return where_and_when(old_home, old_last, ids, homes, round_number)

    monkeypatch.setattr(engine, "_where_and_when", counted)
    length = timedelta(minutes=5)
    forget = {"forget_after_s": 4 * length.total_seconds()}
    fast_config = VerdictConfig(**forget)  # type: ignore[arg-type]
    reference_config = VerdictConfig(vectorized=False, **forget)  # type: ignore[arg-type]
    rng = random.Random(2)
    fast_state = columns_state = reference_state = EngineState.initial()
    seen: set[Status] = set()
    for k in range(14):
        observations = _steady_round(k, rng)
        kwargs = {"round_number": k, "round_start": T0 + k * length, "round_length": length}
        reference = evaluate_round(observations, reference_state, config=reference_config, **kwargs)  # type: ignore[arg-type]
        fast = evaluate_round(observations, fast_state, config=fast_config, **kwargs)  # type: ignore[arg-type]
        columns = dataclasses.replace(RoundColumns.from_observations(observations), source=None)
        from_columns = evaluate_round(columns, columns_state, config=fast_config, **kwargs)  # type: ignore[arg-type]
        _assert_agree(fast, reference)
        # Tuples or columns: bit for bit the same round.
        assert repr(from_columns.as_verdicts) == repr(fast.as_verdicts)
        assert from_columns.events == fast.events
        assert from_columns.state.to_bytes() == fast.state.to_bytes()
        assert from_columns.state.rows() == fast.state.rows()
        fast_state, columns_state, reference_state = fast.state, from_columns.state, reference.state
        seen.update(v.status for v in fast.as_verdicts)
        if k == 9:
            assert "1003-0" not in fast_state.targets and 1003 not in fast_state.ases  # forgotten
    assert {Status.DOWN, Status.UP} <= seen
    assert "1003-0" in fast_state.targets and "1004-0" not in fast_state.targets  # back; forgotten
    assert "1004-0-v2" in fast_state.targets
    assert taken["same order"] >= 6 and taken["other"] >= 6  # both ways, for each of the three paths


def test_plain_baselines_are_learn_baselines_bit_for_bit() -> None:
    """fast.plain_baselines against engine._learn_baselines on memories with and without baselines
    (also not finite ones, stored before robust.py), figures inside, above and below the band."""
    rng = random.Random(7)
    config = VerdictConfig()
    pick = [None, math.nan, math.inf, 0.0, 1e-9, 0.02, 0.5, 1.0, 40.0, 400.0, 1e300]
    memories: list[AsMemory | None] = [None]
    for k in range(400):
        memories.append(
            AsMemory(
                "KZ",
                Status.UP,
                T0,
                1.0,
                rng.choice([None, math.nan, 0.0, 0.5, 0.9, 1.0]),
                rng.choice(pick),
                rng.choice(pick),
                rng.choice([0, 1, 2, 5, 19, 20, 1000]),
                k,
            )
        )
    n = len(memories)
    attempts = np.array([rng.randrange(1, 40) for _ in range(n)], dtype=np.int64)
    answered = np.array([float(rng.randrange(0, a + 1)) for a in attempts.tolist()])
    loss = np.array([rng.choice([math.nan, 0.0, 0.01, 0.3, 0.9, 1.0]) for _ in range(n)])
    rtt = np.array([rng.choice([math.nan, 0.0, 5.0, 40.0, 130.0, 900.0, 1e301]) for _ in range(n)])
    asns = list(range(n))
    got = plain_baselines(asns, memories, answered, attempts, loss, rtt, config)
    for asn, memory in enumerate(memories):
        r = Reachability(
            Status.UP, "", 0.0, 0.0, int(answered[asn]), int(attempts[asn]), 3, (), 3, 0, 1, 1, 0, (), (),
            None if math.isnan(loss[asn]) else float(loss[asn]),
            None if math.isnan(rtt[asn]) else float(rtt[asn]),
            (),
            ((), {}, {}),
        )  # fmt: skip
        if memory is None:
            before: tuple[float | None, ...] = (None, None, None)
            rounds = 0
        else:
            before = (
                memory.baseline_ratio,
                finite_or_none(memory.baseline_loss_ratio),
                finite_or_none(memory.baseline_rtt_ms),
            )
            rounds = memory.baseline_rounds
        want = (before[1], before[2], *engine._learn_baselines(*before, rounds, r, config))
        assert repr(got[asn]) == repr(want)


@pytest.mark.parametrize("extra", [None, "answer_asns", "status_code", "body_sha256", "body_length"])
def test_columns_keep_every_row_with_extras(extra: str | None) -> None:
    """RoundColumns.from_observations skips reading the extra fields when none is set; a single
    row with any one of them set still has its extras kept, and the rows give back the tuples."""
    observations = _steady_round(0, random.Random(3))
    values = {
        "answer_asns": frozenset({64500}),
        "status_code": 403,
        "body_sha256": "ab" * 32,
        "body_length": 9,
    }
    if extra is not None:
        observations[17] = observations[17]._replace(**{extra: values[extra]})
    columns = dataclasses.replace(RoundColumns.from_observations(observations), source=None)
    assert columns.extras == ({} if extra is None else {17: _extras(observations)[17]})
    assert columns.observations() == observations

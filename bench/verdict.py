"""The verdict engine on a whole-Internet round, vs a straightforward per-observation loop.

    /work/venv/bin/python bench/verdict.py [--ases 75000] [--targets 10] [--vantage-points 3]
                                           [--probes 10000] [--loss 0.02] [--down-share 0.01]
                                           [--sim-rounds 288] [--skip-simulation] [--compare-reference]
                                           [--shuffle]

A synthetic round (seeded), built before any timing: --ases target ASes in 200 countries, each with
--targets targets measured by --vantage-points probes from distinct ASes (10,000 probes in 5,000
ASes): 75,000 x 10 x 3 = 2.25 M observations by default. Random loss --loss; --down-share of the
ASes are cut off (every measurement times out); 10 % of targets are flaky. Observations come
grouped by AS and probe, as a collector can ask its database for them; --shuffle times a round in
random order instead. The engine first runs
one untimed round so that availabilities and baselines exist (a steady-state round is the one
that matters), then the timed round.

Ours: `evaluate_round` — everything: grouping, offline probes, per-AS belief and votes,
partial/throttling checks, evidence, summaries, country roll-up, events, learning, new state —
given the round as columns, as the collector hands it over (collector/verdict/round_columns.py;
built before any timing, from the same rows in the same order), and again given the same rows
as `Observation` tuples (the engine then transposes them itself); the two must give identical
verdicts, evidence, events and state.
Peer: the straightforward way — one Python loop over the observations that classifies each one,
adds its log-likelihood ratio (math.log per observation) into nested per-AS/per-probe dicts, then
votes and corroborates per AS: only the UP/DOWN/UNKNOWN decision, no evidence, events or learning.
Both are timed in CPU seconds (time.process_time: the machine is shared) with the cyclic garbage
collector paused for both, as evaluate_round does itself. Prints seconds, observations/s, the
ratio, how often the two agree on UP/DOWN, and the state's size and (de)serialisation time, as
one blob and as per-AS rows (the rows the round changed: what the collector writes).
Then the simulator's scores (24 h of 5-minute rounds, the default scenario mix) per event kind.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from vantage import failures
from vantage.collector.verdict.classify import answered
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.engine import ALGORITHM_VERSION, EngineState, RoundOutput, evaluate_round
from vantage.collector.verdict.model import Observation, Outcome, Protocol, Status, TaskKind
from vantage.collector.verdict.round_columns import RoundColumns

ROUND = timedelta(minutes=5)
T0 = datetime(2022, 1, 5, 10, 0, tzinfo=UTC)


def build_round(args: argparse.Namespace, seed: int) -> list[Observation]:
    rng = random.Random(seed)
    probes = [(f"probe-{i:05d}", 3_000_000 + i // 2, f"P{i % 50}") for i in range(args.probes)]
    down = set(rng.sample(range(args.ases), int(args.ases * args.down_share)))
    icmp, reach, ok_, fail = Protocol.ICMP, TaskKind.REACHABILITY, Outcome.OK, Outcome.FAILURE
    timeout = failures.GENERIC_TIMEOUT
    observations: list[Observation] = []
    append = observations.append
    for a in range(args.ases):
        asn, country = 100_000 + a, f"C{a % 200:03d}"
        is_down = a in down
        rtt = 20.0 + (a % 180)
        for probe_id, probe_asn, probe_cc in rng.sample(probes, args.vantage_points):
            for t in range(args.targets):
                target_id = f"{asn}-{t}"
                flaky = t == 0  # one target in ten answers only 70 % of the time
                if is_down or rng.random() < args.loss or (flaky and rng.random() < 0.3):
                    append(
                        Observation(
                            probe_id,
                            probe_asn,
                            probe_cc,
                            target_id,
                            asn,
                            country,
                            icmp,
                            reach,
                            fail,
                            timeout,
                            None,
                            1.0,
                        )
                    )
                else:
                    append(
                        Observation(
                            probe_id,
                            probe_asn,
                            probe_cc,
                            target_id,
                            asn,
                            country,
                            icmp,
                            reach,
                            ok_,
                            "",
                            rtt,
                            0.0,
                        )
                    )
    return observations


def naive_round(
    observations: list[Observation], availability: dict[str, float], config: VerdictConfig
) -> dict[int, Status]:
    """The straightforward peer: one Python loop, math.log per observation, nested dicts."""
    e = config.answer_probability_when_down
    per_as: dict[int, dict[str, list[float]]] = {}
    for o in observations:
        if o.kind != TaskKind.REACHABILITY or o.probe_asn == o.target_asn:
            continue
        verdict = answered(o.outcome, o.failure)
        if verdict is None:
            continue
        a = min(max(availability.get(o.target_id, config.default_availability), e), config.max_availability)
        llr = math.log(a / e) if verdict else math.log((1.0 - a) / (1.0 - e))
        probes = per_as.setdefault(o.target_asn, {})
        record = probes.setdefault(o.probe_id, [float(o.probe_asn), 0.0])
        record[1] += llr
    up_l = math.log(config.belief_up / (1 - config.belief_up))
    down_l = math.log(config.belief_down / (1 - config.belief_down))
    statuses: dict[int, Status] = {}
    for asn, probes in per_as.items():
        up = [r for r in probes.values() if r[1] > up_l]
        down = [r for r in probes.values() if r[1] < down_l]
        if (
            len(down) >= config.min_down_vantage_points
            and len({r[0] for r in down}) >= config.min_down_vantage_asns
        ):
            statuses[asn] = Status.DOWN if len(up) <= 1 else Status.DEGRADED
        else:
            statuses[asn] = Status.UP if up else Status.UNKNOWN
    return statuses


def cpu(fn):  # type: ignore[no-untyped-def]
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        result = fn()
        return result, time.process_time() - started
    finally:
        gc.enable()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ases", type=int, default=75_000)
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--vantage-points", type=int, default=3)
    parser.add_argument("--probes", type=int, default=10_000)
    parser.add_argument("--loss", type=float, default=0.02)
    parser.add_argument("--down-share", type=float, default=0.01)
    parser.add_argument("--sim-rounds", type=int, default=288)
    parser.add_argument("--skip-simulation", action="store_true")
    parser.add_argument("--compare-reference", action="store_true", help="also time vectorized=False")
    parser.add_argument(
        "--shuffle", action="store_true", help="observations in random order (default: by AS, probe)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    warm_round = build_round(args, seed=1)
    timed_round = build_round(args, seed=2)
    if args.shuffle:
        # Arbitrary order, as rows from a database: re-created in that order, so memory follows it.
        random.Random(3).shuffle(timed_round)
        timed_round = [Observation(*o) for o in timed_round]
    n = len(timed_round)
    # What the collector hands over: columns with no tuples behind them (every row the reference
    # path needs is rebuilt from the columns, as in the collector).
    timed_columns = dataclasses.replace(RoundColumns.from_observations(timed_round), source=None)
    print(
        f"built 2 rounds of {n:,} observations ({args.ases:,} ASes x {args.targets} targets x "
        f"{args.vantage_points} vantage points) in {time.perf_counter() - started:.1f} s (not timed)"
    )

    config = VerdictConfig()
    warm = evaluate_round(
        warm_round, EngineState.initial(), round_number=0, round_start=T0, round_length=ROUND
    )
    del warm_round

    def steady_round(
        round_input: list[Observation] | RoundColumns, round_config: VerdictConfig
    ) -> RoundOutput:
        """The timed round: the same warm state, number and times whatever the input's form."""
        return evaluate_round(
            round_input,
            warm.state,
            round_number=1,
            round_start=T0 + ROUND,
            round_length=ROUND,
            config=round_config,
        )

    out, ours = cpu(lambda: steady_round(timed_columns, config))
    out_tuples, ours_tuples = cpu(lambda: steady_round(timed_round, config))
    identical = _same_output(out, out_tuples)
    del out_tuples
    availability = {t: a for t, (a, _, _) in warm.state.targets.items()}
    naive, peer = cpu(lambda: naive_round(timed_round, availability, config))
    reference = None
    if args.compare_reference:
        _, reference = cpu(lambda: steady_round(timed_round, VerdictConfig(vectorized=False)))

    load = _load_average()
    print(
        f"\nengine {ALGORITHM_VERSION}, one steady-state round, CPU seconds on one core "
        f"(load average {load}):"
    )
    print(f"  {'ours: evaluate_round, columns (as collected)':<46} {ours:7.2f} s  {n / ours:>12,.0f} obs/s")
    print(
        f"  {'ours: evaluate_round, Observation tuples':<46} {ours_tuples:7.2f} s  "
        f"{n / ours_tuples:>12,.0f} obs/s  (same output as from columns: {identical})"
    )
    if reference is not None:
        print(
            f"  {'ours, reference path only (vectorized=False)':<46} {reference:7.2f} s  "
            f"{n / reference:>12,.0f} obs/s"
        )
    print(f"  {'peer: per-observation loop (decision only)':<46} {peer:7.2f} s  {n / peer:>12,.0f} obs/s")
    verdict = "met" if ours <= 5 else "NOT met"
    print(f"  ours/peer throughput ratio: {peer / ours:.2f}x;  target <= 5 s (issue 21): {verdict}")
    statuses = {v.asn: v.status for v in out.as_verdicts}
    both = [asn for asn in naive if naive[asn] in (Status.UP, Status.DOWN)]
    agree = sum(1 for asn in both if statuses.get(asn) is naive[asn])
    down = sum(1 for s in statuses.values() if s is Status.DOWN)
    share = agree / max(len(both), 1)
    print(
        f"  verdicts: {len(statuses):,} ASes, {down:,} DOWN; "
        f"agreement with the peer's UP/DOWN calls: {share:.2%}"
    )
    data, to_s = cpu(out.state.to_bytes)
    _, from_s = cpu(lambda: EngineState.from_bytes(data))
    print(f"  state as one blob: {len(data) / 1e6:.1f} MB, to_bytes {to_s:.2f} s, from_bytes {from_s:.2f} s")
    changed, rows_s = cpu(lambda: out.state.rows(out.changed_asns))
    written = sum(len(v) for v in changed.values() if v is not None)
    every_row = {k: v for k, v in out.state.rows().items() if v is not None}
    _, from_rows_s = cpu(lambda: EngineState.from_rows(every_row))
    held = sum(len(v) for v in every_row.values())
    print(
        f"  state as rows: {len(changed):,} of {len(every_row):,} rows written this round "
        f"({written / 1e6:.1f} of {held / 1e6:.1f} MB; every AS was measured), rows {rows_s:.2f} s, "
        f"from_rows {from_rows_s:.2f} s (a collector that computed the last round keeps it in memory)"
    )

    if not args.skip_simulation:
        from vantage.collector.verdict.scoring import run_simulation
        from vantage.collector.verdict.simulate import SimulationConfig

        sim = SimulationConfig(rounds=args.sim_rounds)
        score, sim_s = cpu(lambda: run_simulation(sim, random.Random(1)))
        print(
            f"\nsimulator (seed 1, {sim.ases} ASes, {score.rounds} rounds of {sim.round_minutes:g} min, "
            f"{sim.loss:.0%} loss, {sim.churn:.0%} churn, {score.observations:,} observations, "
            f"{sim_s:.1f} s):"
        )
        for k in score.kinds:
            print(
                f"  {k.kind.name.lower():<12} true {k.true_events:>2}  found {k.detected_events:>2}  "
                f"recall {_f(k.recall)}  precision {_f(k.precision)}  "
                f"delay {_f(k.mean_delay_rounds)}/{k.max_delay_rounds} rounds  "
                f"duration error {_f(k.mean_duration_error_rounds)}/{_f(k.max_duration_error_rounds)} rounds"
            )
        print(
            f"  liar flips {score.liar_flips}; offline probe-rounds excluded {score.offline_probe_rounds} "
            f"(true {score.true_offline_probe_rounds})"
        )
    return 0


def _same_output(a, b) -> str:  # type: ignore[no-untyped-def]
    same = (
        a.as_verdicts == b.as_verdicts
        and a.country_verdicts == b.country_verdicts
        and a.events == b.events
        and (a.offline_probes, a.suspect_probes, a.changed_asns)
        == (b.offline_probes, b.suspect_probes, b.changed_asns)
        and a.state.rows() == b.state.rows()
    )
    return "yes" if same else "NO"


def _load_average() -> str:
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "n/a"


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


if __name__ == "__main__":
    sys.exit(main())

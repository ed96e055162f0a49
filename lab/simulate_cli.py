"""`vantage lab simulate`: score the verdict engine on simulated rounds with ground truth.

Registered by lab/cli.py through `register(lab_subparsers)`. The simulator and engine are pure and
seeded, so one seed always gives the same figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import time
from typing import Any

from vantage.cliutil import UsageError
from vantage.collector.verdict.silence import DEFAULT_MIN_SILENT_PROBES

EXAMPLE = """\
examples:
  vantage lab simulate                                   # 24 h of 5-minute rounds, 30 ASes, seed 1
  vantage lab simulate --ases 100 --rounds 576 --seed 7 --loss 0.1 --churn 0.1
  vantage lab simulate --vantage-points 5 --liars 1 --json
  vantage lab simulate --scenario-mix 0,0,0       # a quiet day: any event is a false one
  vantage lab simulate --routing --feed-outages 2 --hijacks 3   # fuse a routing signal, score mechanisms
  vantage lab simulate --poisoners 1 --throttles 6      # one probe lies about RTT and loss everywhere
  vantage lab simulate --inside-probes 5,8 --disconnections 4   # score "probes disconnected" events
  vantage lab simulate --inside-probes 5,8 --scenario-mix 0,0,0   # 24 h of 5 % churn: any event is false
  vantage lab simulate --late-uploads 3                 # cut ASes upload afterwards: revisions scored
"""


def register(lab_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = lab_subparsers.add_parser(
        "simulate",
        help="score the verdict engine on simulated rounds with ground truth",
        description=(
            "Simulate rounds of measurements (ASes with targets of known availability, random loss, "
            "probe churn, offline, lying and poisoning probes, staged outages, throttling and "
            "filtering, probe disconnections and late uploads), run the verdict engine on every "
            "round (with the collector's silence signal and revisions), and print precision, recall, "
            "detection delay and duration error per event kind, and the scores of the inside view. "
            "Pure and seeded: no network, same seed, same figures."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    world = parser.add_argument_group("world")
    world.add_argument("--ases", type=int, default=30, help="target ASes (default 30)")
    world.add_argument("--targets-per-as", type=int, default=10, help="targets in each AS (default 10)")
    world.add_argument(
        "--outside-probes", type=int, default=24, help="probes outside the target ASes (default 24)"
    )
    world.add_argument(
        "--vantage-points",
        type=int,
        default=3,
        help="reachability vantage points per AS per round (default 3)",
    )
    world.add_argument(
        "--rounds", type=int, default=288, help="rounds to simulate (default 288 = 24 h of 5 min)"
    )
    world.add_argument(
        "--round-minutes", type=float, default=5.0, help="length of a round in minutes (default 5)"
    )
    world.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    noise = parser.add_argument_group("noise and faults")
    noise.add_argument(
        "--loss", type=float, default=0.05, help="chance a measurement times out by chance (0.05)"
    )
    noise.add_argument("--churn", type=float, default=0.05, help="chance a probe is absent in a round (0.05)")
    noise.add_argument("--offline-probes", type=int, default=2, help="probes that go offline for a while (2)")
    noise.add_argument(
        "--liars", type=int, default=0, help="probes that report the opposite of the truth (0)"
    )
    noise.add_argument(
        "--poisoners",
        type=int,
        default=0,
        help="probes, vantage points of every AS, that report extreme finite RTTs and losses to "
        "hide throttling (1e308 ms while normal) or fake it (0.001 ms while normal) (0)",
    )
    inside = parser.add_argument_group("inside view (issue 21)")
    inside.add_argument(
        "--inside-share",
        type=float,
        default=0.3,
        help="share of target ASes with probes inside them (0.3)",
    )
    inside.add_argument(
        "--inside-probes",
        metavar="MIN,MAX",
        default="1,3",
        help="probes inside each AS that has any, drawn between MIN and MAX (1,3); "
        "a burst at 5 %% churn needs 5 probes silent together (collector/verdict/silence.py)",
    )
    inside.add_argument(
        "--disconnections",
        type=int,
        default=0,
        help="staged windows in which every inside probe of an AS (one with >= 3) goes silent while "
        "the AS stays reachable: each should open one 'probes disconnected' event (0)",
    )
    inside.add_argument(
        "--late-uploads",
        type=int,
        default=0,
        help="staged outages of ASes with inside probes that measure throughout the cut and upload "
        "when it ends; the collector revises those rounds (collector/verdict/revisions.py) (0)",
    )
    mix = parser.add_argument_group("scenario mix (staged events)")
    mix.add_argument(
        "--scenario-mix",
        metavar="O,T,F",
        help="staged outages, throttling and filtering episodes at once, e.g. 10,5,5 (overrides the 3 below)",
    )
    mix.add_argument("--outages", type=int, default=6, help="staged outages (default 6)")
    mix.add_argument("--throttles", type=int, default=3, help="staged throttling episodes (default 3)")
    mix.add_argument("--filterings", type=int, default=3, help="staged filtering episodes (default 3)")
    mix.add_argument("--min-event-rounds", type=int, default=1, help="shortest staged event in rounds (1)")
    mix.add_argument("--max-event-rounds", type=int, default=12, help="longest staged event in rounds (12)")
    routing = parser.add_argument_group("routing signal (issue 17)")
    routing.add_argument(
        "--routing",
        action="store_true",
        help="give the engine a routing signal; outages become route withdrawals or data-plane drops",
    )
    routing.add_argument(
        "--withdrawal-share",
        type=float,
        default=0.5,
        help="share of staged outages that are route withdrawals (0.5)",
    )
    routing.add_argument(
        "--feed-outages", type=int, default=0, help="windows with the route feed down: routing UNKNOWN (0)"
    )
    routing.add_argument(
        "--hijacks",
        type=int,
        default=0,
        help="windows in which another AS announces part of an AS's space while it answers (0)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.set_defaults(handler=run)


def _check(args: argparse.Namespace) -> None:
    if args.scenario_mix is not None:
        try:
            args.outages, args.throttles, args.filterings = (int(x) for x in args.scenario_mix.split(","))
        except ValueError:
            raise UsageError(
                f"--scenario-mix wants three counts like 10,5,5, not {args.scenario_mix!r}"
            ) from None
    positive = ("ases", "targets_per_as", "outside_probes", "vantage_points", "rounds")
    for name in positive:
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if (args.feed_outages or args.hijacks) and not args.routing:
        raise UsageError("--feed-outages and --hijacks need --routing")
    if not 0.0 <= args.withdrawal_share <= 1.0:
        raise UsageError("--withdrawal-share must be in [0, 1]")
    counts = ("offline_probes", "liars", "poisoners", "outages", "throttles", "filterings", "feed_outages")
    for name in (*counts, "hijacks", "disconnections", "late_uploads"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must not be negative")
    for name in ("loss", "churn"):
        if not 0.0 <= getattr(args, name) < 1.0:
            raise UsageError(f"--{name} must be in [0, 1)")
    if args.round_minutes <= 0:
        raise UsageError("--round-minutes must be positive")
    if not 1 <= args.min_event_rounds <= args.max_event_rounds:
        raise UsageError("need 1 <= --min-event-rounds <= --max-event-rounds")
    if args.offline_probes + args.liars + args.poisoners > args.outside_probes:
        raise UsageError("--offline-probes, --liars and --poisoners together cannot exceed --outside-probes")
    try:
        args.min_inside_probes, args.max_inside_probes = (int(x) for x in args.inside_probes.split(","))
    except ValueError:
        raise UsageError(f"--inside-probes wants two counts like 5,8, not {args.inside_probes!r}") from None
    if not 0.0 <= args.inside_share <= 1.0:
        raise UsageError("--inside-share must be in [0, 1]")
    if not 1 <= args.min_inside_probes <= args.max_inside_probes:
        raise UsageError("--inside-probes needs 1 <= MIN <= MAX")
    if args.disconnections and args.max_inside_probes < DEFAULT_MIN_SILENT_PROBES:
        raise UsageError(
            f"--disconnections needs ASes with at least {DEFAULT_MIN_SILENT_PROBES} inside probes "
            "(--inside-probes MIN,MAX with MAX >= 3): fewer never make a burst"
        )


def run(args: argparse.Namespace) -> int:
    _check(args)
    from vantage.collector.verdict.engine import ALGORITHM_VERSION
    from vantage.collector.verdict.mechanism import MECHANISM_NAMES
    from vantage.collector.verdict.scoring import run_simulation
    from vantage.collector.verdict.simulate import SimulationConfig

    config = SimulationConfig(
        ases=args.ases,
        targets_per_as=args.targets_per_as,
        outside_probes=args.outside_probes,
        vantage_points=args.vantage_points,
        rounds=args.rounds,
        round_minutes=args.round_minutes,
        loss=args.loss,
        churn=args.churn,
        offline_probes=args.offline_probes,
        liars=args.liars,
        outages=args.outages,
        throttles=args.throttles,
        filterings=args.filterings,
        min_event_rounds=args.min_event_rounds,
        max_event_rounds=args.max_event_rounds,
        routing=args.routing,
        withdrawal_share=args.withdrawal_share,
        feed_outages=args.feed_outages,
        hijacks=args.hijacks,
        poisoners=args.poisoners,
        inside_share=args.inside_share,
        min_inside_probes=args.min_inside_probes,
        max_inside_probes=args.max_inside_probes,
        disconnections=args.disconnections,
        late_uploads=args.late_uploads,
    )
    started = time.perf_counter()
    score = run_simulation(config, random.Random(args.seed))
    seconds = time.perf_counter() - started
    kinds: list[dict[str, Any]] = [
        {
            "kind": k.kind.name.lower(),
            "true_events": k.true_events,
            "detected_events": k.detected_events,
            "recall": k.recall,
            "precision": k.precision,
            "false_events": k.false_events,
            "mean_delay_rounds": k.mean_delay_rounds,
            "max_delay_rounds": k.max_delay_rounds,
            "mean_duration_error_rounds": k.mean_duration_error_rounds,
            "max_duration_error_rounds": k.max_duration_error_rounds,
        }
        for k in score.kinds
    ]
    confusion = [
        {
            "expected": MECHANISM_NAMES[want],
            "found": MECHANISM_NAMES[got] if got is not None else None,
            "events": n,
        }
        for want, got, n in score.mechanisms
    ]
    if args.json:
        document = {
            "algorithm_version": ALGORITHM_VERSION,
            "seed": args.seed,
            "rounds": score.rounds,
            "observations": score.observations,
            "seconds": round(seconds, 3),
            "liar_flips": score.liar_flips,
            "offline_probe_rounds": score.offline_probe_rounds,
            "true_offline_probe_rounds": score.true_offline_probe_rounds,
            "kinds": kinds,
            "routing": args.routing,
            "mechanisms": confusion,
            "mechanism_accuracy": score.mechanism_accuracy,
            "hijack_rounds": score.hijack_rounds,
            "hijack_flips": score.hijack_flips,
            "feed_down_rounds": score.feed_down_rounds,
            "poisoners": args.poisoners,
            "poisoned_as_rounds": score.poisoned_rounds,
            "poison_flips": score.poison_flips,
            "poison_false_degraded": score.poison_false_degraded,
            "poison_false_throttling": score.poison_false_throttling,
            "probes_disconnected": _silence_document(score.silence),
            "late_uploads": dataclasses.asdict(score.late_uploads) if score.late_uploads else None,
        }
        print(json.dumps(document, sort_keys=True))
        return 0
    print(
        f"{score.rounds} rounds of {args.round_minutes:g} min, {args.ases} ASes, "
        f"{score.observations} observations, seed {args.seed}, engine {ALGORITHM_VERSION}, {seconds:.1f} s"
    )
    header = ("kind", "true", "found", "recall", "precision", "delay(r)", "dur.err(r)")
    print("{:<12} {:>5} {:>6} {:>7} {:>9} {:>9} {:>11}".format(*header))
    for k in kinds:
        print(
            f"{k['kind']:<12} {k['true_events']:>5} {k['detected_events']:>6} {_fmt(k['recall']):>7} "
            f"{_fmt(k['precision']):>9} {_fmt(k['mean_delay_rounds'], k['max_delay_rounds']):>9} "
            f"{_fmt(k['mean_duration_error_rounds'], k['max_duration_error_rounds']):>11}"
        )
    print("(delay and duration error: mean/max, in rounds)")
    print(
        f"liar flips: {score.liar_flips}; offline probe-rounds excluded: {score.offline_probe_rounds} "
        f"(true {score.true_offline_probe_rounds})"
    )
    _print_confusion(score.mechanisms, MECHANISM_NAMES)
    print(f"mechanism accuracy (found events): {_fmt(score.mechanism_accuracy)}", end="")
    if args.routing:
        print(
            f"; hijack AS-rounds not UP: {score.hijack_flips}/{score.hijack_rounds}; "
            f"rounds with the route feed down: {score.feed_down_rounds}"
        )
    else:
        print(" (no routing signal: an outage's mechanism is unknown; --routing adds one)")
    if args.poisoners:
        print(
            f"poisoners: {args.poisoners}; AS-rounds they measured {score.poisoned_rounds}, flipped "
            f"{score.poison_flips}, falsely DEGRADED {score.poison_false_degraded} "
            f"(for loss/RTT: {score.poison_false_throttling})"
        )
    _print_silence(score.silence)
    if score.late_uploads is not None:
        _print_late(score.late_uploads)
    return 0


def _silence_document(silence: Any) -> dict[str, Any]:
    return {
        "true_disconnections": silence.true_disconnections,
        "found": silence.found_disconnections,
        "events": silence.detected_events,
        "false_events": silence.false_events,
        "recall": silence.recall,
        "precision": silence.precision,
        "mean_delay_rounds": silence.mean_delay_rounds,
        "corroborated_outages": silence.corroborated_outages,
        "outages_with_inside_probes": silence.outages_with_inside_probes,
    }


def _print_silence(silence: Any) -> None:
    print(
        f"probes disconnected: {silence.true_disconnections} staged, {silence.detected_events} events "
        f"({silence.false_events} false), recall {_fmt(silence.recall)}, precision "
        f"{_fmt(silence.precision)}, delay {_fmt(silence.mean_delay_rounds)} rounds; outages "
        f"corroborated by their probes' silence: {silence.corroborated_outages}/"
        f"{silence.outages_with_inside_probes} with inside probes"
    )


def _print_late(late: Any) -> None:
    print(
        f"late uploads: {late.cuts} cuts, {late.late_results} late results, {late.revisions} revisions "
        f"of {late.revised_rounds} rounds; cut AS-rounds DOWN first {late.down_first}/{late.cut_as_rounds}, "
        f"revised {late.down_revised}/{late.cut_as_rounds}; with the inside probes' results first "
        f"{late.inside_view_first}, revised {late.inside_view_revised}"
    )
    print(
        f"  revised timeline vs all results on time: {late.timeline_mismatches} AS-rounds differ; "
        f"outage events revised {late.events_revised}/{late.cuts}, duplicated {late.events_duplicated}, "
        f"missed {late.events_missed}, withdrawn {late.events_withdrawn}"
    )


def _print_confusion(cells: Any, names: Any) -> None:
    """Rows: the mechanism a correct engine names; columns: what the engine named (- = missed)."""
    found = sorted({got for _, got, _ in cells if got is not None})
    wanted = sorted({want for want, _, _ in cells})
    table = {(want, got): n for want, got, n in cells}
    columns = [*found, None]
    width = max([len(names[m]) for m in (*found, *wanted)] + [8])
    print("mechanism (rows: expected, columns: found)")
    print(
        " " * width + " " + " ".join(f"{names[c] if c is not None else 'missed':>{width}}" for c in columns)
    )
    for want in wanted:
        print(f"{names[want]:<{width}} " + " ".join(f"{table.get((want, c), 0):>{width}}" for c in columns))


def _fmt(value: float | None, worst: float | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if worst is None else f"{value:.1f}/{worst:g}"

"""`vantage collector ...`: run a collector, administer probes and targets.

Administration commands talk to a running collector over AdminService with
the admin credential (read from the collector's --data-dir or from
--admin-credential), so they work the same against one collector or several
sharing a database.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vantage.cliutil import CliError, UsageError, add_group, require_extra
from vantage.collector.cli import admin as cli_admin
from vantage.collector.cli import targets as cli_targets
from vantage.extras import COLLECTOR

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
RAW = argparse.RawDescriptionHelpFormatter


def register(subparsers: Subparsers) -> None:
    group = add_group(
        subparsers,
        "collector",
        "run a collector, administer probes and targets",
        "Run a collector, administer probes and targets.\n\n"
        "  vantage collector serve --data-dir /var/lib/vantage --plaintext\n"
        "  vantage collector token create --data-dir /var/lib/vantage --plaintext\n"
        "  vantage collector targets import targets.csv --data-dir /var/lib/vantage --plaintext\n",
    )
    _register_serve(group)
    _register_bgp_relay(group)
    cli_admin.register(group)  # token, probe, asn
    cli_targets.register(group)


# ---------------------------------------------------------------- serve
def _register_serve(group: Subparsers) -> None:
    p = group.add_parser(
        "serve",
        help="run a collector (gRPC ProbeService, QueryService, AdminService)",
        formatter_class=RAW,
        description="Run a collector: enrolls probes, hands out work, ingests results durably,\n"
        "computes a verdict per AS and per country every round, answers queries.\n\n"
        "At first start it creates DIR/admin.credential (mode 0600); admin commands use it.\n"
        "Prints `collector listening on HOST:PORT` to stderr once it accepts calls.\n\n"
        "examples:\n"
        "  vantage collector serve --data-dir ./collector --plaintext\n"
        "  vantage collector serve --listen 203.0.113.5:7443 --data-dir /var/lib/vantage \\\n"
        "      --tls-cert collector.crt --tls-key collector.key --metrics 127.0.0.1:9464 \\\n"
        "      --asn-db asn-ipv4.csv.gz --asn-db country-ipv4.csv.gz --exclude blocklist.conf\n\n"
        "No task reaches a probe for an excluded, private or special-purpose address (IANA\n"
        "registries) unless --allow-range opens it: a lab passes --allow-range 198.18.0.0/15.\n",
    )
    p.add_argument(
        "--listen", metavar="HOST:PORT", default="127.0.0.1:7443", help="gRPC address (default %(default)s)"
    )
    p.add_argument(
        "--listen-unix",
        metavar="PATH",
        type=Path,
        help="also serve gRPC, without TLS, on the unix socket PATH (local clients such as `vantage web "
        "--collector unix:PATH`; the socket's directory decides who may connect)",
    )
    p.add_argument(
        "--data-dir", metavar="DIR", type=Path, required=True, help="database and credentials live here"
    )
    tls = p.add_argument_group("transport security (one of)")
    tls.add_argument("--plaintext", action="store_true", help="no TLS: only for loopback and labs")
    tls.add_argument("--tls-cert", metavar="FILE", type=Path, help="server certificate chain (PEM)")
    tls.add_argument("--tls-key", metavar="FILE", type=Path, help="server private key (PEM)")
    p.add_argument(
        "--metrics", metavar="HOST:PORT", help="serve Prometheus metrics on http://HOST:PORT/metrics"
    )
    p.add_argument(
        "--round-seconds",
        metavar="N",
        type=float,
        default=300.0,
        help="round length in seconds (default 300)",
    )
    p.add_argument(
        "--asn-db",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="IP-to-AS / IP-to-country dataset (repeatable; ip-location-db CSV, pfx2as, iptoasn; .gz ok)",
    )
    p.add_argument(
        "--db", metavar="URL", help="database URL (default: SQLite file in --data-dir; postgresql://...)"
    )
    p.add_argument(
        "--clock-skew", metavar="DURATION", default="5m", help="accept started_at this far ahead (default 5m)"
    )
    p.add_argument(
        "--retention", metavar="DURATION", default="30d", help="keep raw results this long (default 30d)"
    )
    p.add_argument(
        "--revise-window",
        metavar="DURATION",
        default="7d",
        help="a result arriving after its round was computed revises rounds this far back (default 7d)",
    )
    p.add_argument(
        "--plan-repeat",
        metavar="DURATION",
        default=None,
        help="believe a task's results this long after its round: a probe that cannot reach a collector"
        f" repeats its last plan (default {_default_plan_repeat_text()}, how long a probe repeats it by"
        " default; at most --retention)",
    )
    p.add_argument(
        "--max-batch", metavar="N", type=int, default=None, help="most measurements per batch (default 5000)"
    )
    p.add_argument(
        "--ingest-processes",
        metavar="N",
        type=int,
        default=None,
        help="worker processes that decode and check large result batches, so that ingest uses every"
        " core (default: one per core when there are several, 0 on one core; 0: all in-process)",
    )
    p.add_argument(
        "--require-reader-token",
        action="store_true",
        help="queries need a credential: creates DIR/reader.credential (0600); admin also works",
    )
    p.add_argument(
        "--exclude",
        metavar="FILE",
        type=Path,
        help="never probe these networks (ZMap blocklist form: one CIDR per line, # comments);"
        " re-read on SIGHUP and on `vantage collector asn reload`",
    )
    p.add_argument(
        "--allow-range",
        metavar="CIDR",
        action="append",
        default=[],
        help="open a private or special-purpose range for tasks (repeatable; refused by default)",
    )
    p.add_argument(
        "--discovery-budget",
        metavar="N",
        type=int,
        default=None,
        help="discovery: most echo requests per /24 per hour (default 15, under Trinocular's 20;"
        " a lab with a census period of seconds needs more)",
    )
    p.add_argument(
        "--discovery-rate",
        metavar="PPS",
        type=float,
        default=None,
        help="discovery: most echo requests per second over all campaigns (default 100)",
    )
    p.add_argument(
        "--traceroutes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="schedule traceroutes (default on): each target AS from 3 vantage points every 3 hours, "
        "and every round from 5 while it is DOWN or DEGRADED, so verdicts say where paths stop; "
        "only probes that report raw sockets are asked",
    )
    p.add_argument(
        "--trace-baseline",
        metavar="SECONDS",
        type=float,
        default=None,
        help="with --traceroutes: how often each target AS gets its baseline traces (default 10800; "
        "a lab with rounds of seconds needs seconds)",
    )
    p.add_argument(
        "--bgp-source",
        metavar="SOURCE",
        action="append",
        default=[],
        help="a route feed for the routing signal (repeatable; default none): exabgp:unix:PATH "
        "(listen there for ExaBGP's JSON, relayed by `vantage collector bgp-relay PATH`), "
        "ris-live:wss://HOST/PATH (a RIS Live websocket), mrt:FILE[,FILE...] (replay MRT files: "
        "a RIB dump, then updates); see docs/bgp.md",
    )
    p.add_argument(
        "--collector-id", metavar="ID", help="name of this collector in the rounds table (default: host)"
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(handler=_serve)


def _register_bgp_relay(group: Subparsers) -> None:
    p = group.add_parser(
        "bgp-relay",
        help="ExaBGP's API process: relay its JSON to a collector's exabgp:unix: socket",
        formatter_class=RAW,
        description="Read ExaBGP's JSON messages on stdin and send them to the unix socket a\n"
        "collector listens on (`vantage collector serve --bgp-source exabgp:unix:PATH`),\n"
        "reconnecting, never blocking ExaBGP. In ExaBGP's configuration:\n\n"
        "  process vantage { run vantage collector bgp-relay /run/vantage/exabgp.sock; encoder json; }\n",
    )
    p.add_argument("socket", metavar="PATH", help="the collector's exabgp:unix: socket")
    p.set_defaults(handler=_bgp_relay)


def _bgp_relay(args: argparse.Namespace) -> int:
    from vantage.collector.bgp.relay import main

    return main([args.socket])


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    # Up front: the collector loads numpy only when a round is computed or a plan is drawn.
    require_extra(COLLECTOR)

    from vantage.collector.cli.timeargs import parse_duration
    from vantage.collector.service.config import CollectorConfig
    from vantage.collector.service.server import ServeOptions, default_collector_id, serve, split_host_port
    from vantage.collector.wire.validation import DEFAULT_MAX_BATCH_ITEMS, ValidationLimits

    if args.plaintext and (args.tls_cert or args.tls_key):
        raise UsageError("--plaintext and --tls-cert/--tls-key exclude each other")
    if not args.plaintext and not (args.tls_cert and args.tls_key):
        raise UsageError("give --tls-cert FILE and --tls-key FILE, or --plaintext (loopback and labs only)")
    for name in ("listen", "metrics"):
        value = getattr(args, name)
        if value:
            try:
                split_host_port(value)
            except ValueError as exc:
                raise UsageError(f"--{name}: {exc}") from None
    if args.round_seconds <= 0:
        raise UsageError("--round-seconds must be positive")
    try:
        skew = parse_duration(args.clock_skew)
        retention = parse_duration(args.retention)
        revise_window = parse_duration(args.revise_window)
        plan_repeat = None if args.plan_repeat is None else parse_duration(args.plan_repeat)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if plan_repeat is not None and not 0 <= plan_repeat <= retention:
        raise UsageError(
            f"--plan-repeat ({args.plan_repeat}) must be between 0 and --retention ({args.retention}):"
            " a result older than retention is refused anyway"
        )
    if revise_window <= 0:
        raise UsageError(f"--revise-window must be positive, not {args.revise_window}")
    if revise_window > retention:
        raise UsageError(
            f"--revise-window ({args.revise_window}) is longer than --retention ({args.retention}): "
            "a revision needs the raw results of the rounds it recomputes"
        )
    from vantage.collector.service.auth import ADMIN_CREDENTIAL_FILE
    from vantage.pathcheck import (
        PathProblem,
        check_optional_readable_file,
        check_readable_file,
        ensure_writable_dir,
        os_error_line,
    )

    # One line naming the path and what is wrong, before anything starts.
    try:
        for dataset in args.asn_db:
            check_readable_file(Path(dataset), "dataset (--asn-db)")
        if args.tls_cert is not None:
            check_readable_file(args.tls_cert, "TLS certificate (--tls-cert)")
        if args.tls_key is not None:
            check_readable_file(args.tls_key, "TLS key (--tls-key)")
        ensure_writable_dir(args.data_dir, "data dir")
        check_optional_readable_file(args.data_dir / ADMIN_CREDENTIAL_FILE, "admin credential file")
    except PathProblem as exc:
        raise UsageError(str(exc)) from None
    if args.db:
        from vantage.collector.storage import parse_db_url

        try:
            parse_db_url(args.db)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    from vantage.collector.service.ingest_pool import default_processes

    ingest_processes = default_processes() if args.ingest_processes is None else args.ingest_processes
    if not 0 <= ingest_processes <= 64:
        raise UsageError("--ingest-processes must be between 0 and 64")
    max_batch = args.max_batch or DEFAULT_MAX_BATCH_ITEMS
    if max_batch <= 0:
        raise UsageError("--max-batch must be positive")
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from vantage.collector.discovery.config import DEFAULT_BLOCK_BUDGET_PER_HOUR, DEFAULT_CAMPAIGN_RATE_PPS

    budget = DEFAULT_BLOCK_BUDGET_PER_HOUR if args.discovery_budget is None else args.discovery_budget
    rate = DEFAULT_CAMPAIGN_RATE_PPS if args.discovery_rate is None else args.discovery_rate
    if budget < 1 or rate <= 0:
        raise UsageError("--discovery-budget must be at least 1 and --discovery-rate positive")
    from vantage.collector.bgp.sources import parse_bgp_source

    try:
        bgp_sources = tuple(parse_bgp_source(text) for text in args.bgp_source)
    except ValueError as exc:
        raise UsageError(f"--bgp-source: {exc}") from None
    if args.trace_baseline is not None and not args.trace_baseline > 0:
        raise UsageError(f"--trace-baseline must be positive, not {args.trace_baseline}")
    config = CollectorConfig(
        collector_id=args.collector_id or default_collector_id(),
        round_seconds=args.round_seconds,
        limits=ValidationLimits(clock_skew_s=skew, retention_s=retention),
        max_batch_items=max_batch,
        require_reader=args.require_reader_token,
        discovery_block_budget_per_hour=budget,
        discovery_rate_pps=rate,
        traceroutes=args.traceroutes,
        bgp_sources=bgp_sources,
        revise_window_s=revise_window,
    )
    # Options whose default CollectorConfig holds (given only when set).
    if args.trace_baseline is not None:
        config = dataclasses.replace(config, trace_baseline_s=args.trace_baseline)
    if plan_repeat is not None:
        config = dataclasses.replace(config, plan_repeat_s=plan_repeat)
    options = ServeOptions(
        listen=args.listen,
        listen_unix=args.listen_unix,
        data_dir=args.data_dir,
        config=config,
        plaintext=args.plaintext,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        metrics_listen=args.metrics,
        asn_db=tuple(args.asn_db),
        db_url=args.db,
        ingest_processes=ingest_processes,
        exclude_file=args.exclude,
        allow_ranges=tuple(args.allow_range),
    )
    from vantage.collector.discovery.policy import ExclusionError, parse_allow_ranges
    from vantage.collector.storage import StorageError

    try:
        parse_allow_ranges(args.allow_range)
    except ExclusionError as exc:
        raise UsageError(str(exc)) from None
    if args.exclude is not None and not args.exclude.is_file():
        raise UsageError(f"--exclude: no such file: {args.exclude}")
    try:
        return asyncio.run(serve(options))
    except OSError as exc:
        raise CliError(f"collector failed to start: {os_error_line(exc)}") from None
    except (ValueError, StorageError) as exc:  # StorageError: database unreachable or unusable
        raise CliError(f"collector failed to start: {exc}") from None


def _default_plan_repeat_text() -> str:
    """CollectorConfig's default --plan-repeat, in days (read from where it is derived)."""
    from vantage.probe.daemon.scheduler import DEFAULT_MAX_OFFLINE_S  # = DEFAULT_PLAN_REPEAT_S

    return f"{DEFAULT_MAX_OFFLINE_S / 86400:g}d"

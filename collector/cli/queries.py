"""`vantage status | timeline | watch | probes`: ask a collector what it sees.

Top-level commands (not under `collector`): they are what users type most.
Human tables by default; --json gives the protobuf JSON mapping
(preserving_proto_field_name), one document, or one object per line for
`watch`.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from vantage.cliutil import CliError, UsageError, print_json_line
from vantage.collector.cli.client import (
    add_connection_options,
    open_channel,
    reader_metadata,
    rpc,
    rpc_error,
    to_json,
)

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
RAW = argparse.RawDescriptionHelpFormatter


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "status",
        help="reachability status per AS and per country",
        formatter_class=RAW,
        description="Current status (UP / DEGRADED / DOWN / FILTERED / UNKNOWN) with confidence.\n"
        "Without options: every country and every AS the collector has a verdict for.\n\n"
        "examples:\n"
        "  vantage status --plaintext\n"
        "  vantage status --country KZ --collector 203.0.113.5:7443 --ca-file ca.pem\n"
        "  vantage status --asn 64500 --json --plaintext\n",
    )
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--country", default="", help="one country (ISO code) and its ASes")
    scope.add_argument("--asn", type=int, default=0, help="one AS, with its evidence")
    p.add_argument("--json", action="store_true", help="one JSON document")
    add_connection_options(p, admin=False)
    p.set_defaults(handler=_status)

    p = subparsers.add_parser(
        "timeline",
        help="status over time of one AS or country, with its events",
        formatter_class=RAW,
        description="One point per round (status, confidence, share of measurements that succeeded)\n"
        "and the events of the period. Times: ISO 8601 (2026-01-05T10:30:00Z) or a duration\n"
        "ago (6h, 2d). Default: the last 24 hours.\n\n"
        "examples:\n"
        "  vantage timeline --asn 64500 --since 6h --plaintext\n"
        "  vantage timeline --country KZ --since 2026-01-05T00:00:00Z --until 2026-01-06T00:00:00Z --json\n"
        "  vantage timeline --asn 64500 --since 2026-01-05T00:00:00Z --as-of 2026-01-05T12:00:00Z\n\n"
        "A round recomputed because results arrived late (probes that were cut off upload\n"
        "afterwards) shows its revision, when, and how many late results from how many probes;\n"
        "--as-of shows what the collector answered at that time.\n",
    )
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--asn", type=int, help="the AS")
    scope.add_argument("--country", help="the country (ISO code)")
    p.add_argument("--since", metavar="T", help="start (default: 24h before --until)")
    p.add_argument("--until", metavar="T", help="end (default: now)")
    p.add_argument(
        "--as-of", metavar="T", help="what was known at this time (default: now, the latest revisions)"
    )
    p.add_argument("--json", action="store_true", help="one JSON document")
    add_connection_options(p, admin=False)
    p.set_defaults(handler=_timeline)

    p = subparsers.add_parser(
        "watch",
        help="live outage, degradation and filtering events",
        formatter_class=RAW,
        description="Print events as the collector opens, updates and closes them (the open ones\n"
        "first). Runs until interrupted (Ctrl-C) or the collector stops.\n\n"
        "examples:\n"
        "  vantage watch --plaintext\n"
        "  vantage watch --country KZ --json --collector 203.0.113.5:7443 --ca-file ca.pem\n",
    )
    p.add_argument("--country", default="", help="only events of this country (and its ASes)")
    p.add_argument("--asn", type=int, default=0, help="only events of this AS")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    add_connection_options(p, admin=False)
    p.set_defaults(handler=_watch)

    p = subparsers.add_parser(
        "probes",
        help="the probe fleet: id, AS, country, last contact, results, suspect flag",
        formatter_class=RAW,
        description="Every enrolled probe: effective location (pinned, else observed from its\n"
        "address), both locations, state (alive / silent / revoked), last contact, results\n"
        "received, and whether the verdict engine found its view suspect.\n\n"
        "examples:\n  vantage probes --plaintext\n  vantage probes --country KZ --json --plaintext\n",
    )
    p.add_argument("--country", default="", help="only probes in this country")
    p.add_argument("--asn", type=int, default=0, help="only probes in this AS")
    p.add_argument("--json", action="store_true", help="one JSON document")
    add_connection_options(p, admin=False)
    p.set_defaults(handler=_probes)

    from vantage.collector.cli.discovery import register_coverage

    register_coverage(subparsers)


def _query_stub(channel: Any) -> Any:
    from vantage.v1 import query_service_pb2_grpc

    return query_service_pb2_grpc.QueryServiceStub(channel)


def _all_as_statuses(args: argparse.Namespace, stub: Any, metadata: Any, country: str) -> list[Any]:
    from vantage.v1 import query_service_pb2

    statuses: list[Any] = []
    token = ""
    while True:
        request = query_service_pb2.ListAsStatusRequest(country=country, page_size=1000, page_token=token)
        response = rpc(args, functools.partial(stub.ListAsStatus, request, metadata=metadata, timeout=60))
        statuses.extend(response.statuses)
        token = response.next_page_token
        if not token:
            return statuses


def _country_status(args: argparse.Namespace, stub: Any, metadata: Any, country: str) -> Any | None:
    import grpc

    from vantage.v1 import query_service_pb2

    try:
        return stub.GetCountryStatus(
            query_service_pb2.GetCountryStatusRequest(country=country), metadata=metadata, timeout=30
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise rpc_error(args, exc) from None


def _status(args: argparse.Namespace) -> int:
    from vantage.collector.cli.tables import as_status_rows, country_rows, render_table
    from vantage.v1 import query_service_pb2

    metadata = reader_metadata(args)
    with open_channel(args) as channel:
        stub = _query_stub(channel)
        if args.asn:
            if args.asn < 0:
                raise UsageError("--asn must be positive")
            status = rpc(
                args,
                lambda: stub.GetAsStatus(
                    query_service_pb2.GetAsStatusRequest(asn=args.asn), metadata=metadata, timeout=30
                ),
            )
            if args.json:
                print(json.dumps(to_json(status), sort_keys=True))
            else:
                print(render_table(*as_status_rows([status])))
                _print_evidence(status)
            return 0
        country = args.country.upper()
        ases = _all_as_statuses(args, stub, metadata, country)
        countries = sorted({s.country for s in ases if s.country} | ({country} if country else set()))
        country_statuses = [
            c for c in (_country_status(args, stub, metadata, cc) for cc in countries) if c is not None
        ]
    if args.json:
        print(
            json.dumps(
                {"countries": [to_json(c) for c in country_statuses], "ases": [to_json(s) for s in ases]},
                sort_keys=True,
            )
        )
        return 0
    if not ases and not country_statuses:
        print("no verdicts yet: the collector has not computed a round with results", file=sys.stderr)
        return 0
    if country_statuses:
        print(render_table(*country_rows(country_statuses)))
        print()
    print(render_table(*as_status_rows(ases)))
    return 0


def _print_evidence(status: Any) -> None:
    from vantage.collector.cli.tables import PROTOCOL_NAMES, mechanism_text

    e = status.evidence
    print(f"\nevidence: {e.vantage_points} vantage points in {e.vantage_ases} ASes, {e.targets} targets")
    for p in e.protocols:
        print(f"  {PROTOCOL_NAMES.get(p.protocol, '?')}: {p.successes}/{p.attempts} succeeded")
    for f in e.failures:
        print(f"  failure {f.failure} ({PROTOCOL_NAMES.get(f.protocol, '?')}): {f.count}")
    if e.suspect_probes:
        print(f"  suspect probes: {', '.join(e.suspect_probes)}")
    if e.HasField("path"):
        print(f"  where the paths stop ({e.path.place}): {e.path.summary}")
    mechanism = mechanism_text(status.mechanism, status.mechanism_layer)
    if mechanism != "-" or e.mechanism_reason:
        print(f"mechanism {mechanism}" + (f": {e.mechanism_reason}" if e.mechanism_reason else ""))
    if e.HasField("routing"):
        print(f"  routing: {e.routing.reason}")
    print(f"algorithm {status.algorithm_version}")


def _timeline(args: argparse.Namespace) -> int:
    from vantage.collector.cli.tables import event_line, render_table, timeline_rows
    from vantage.collector.cli.timeargs import parse_instant
    from vantage.collector.wire.record_messages import timestamp
    from vantage.v1 import query_service_pb2

    now = time.time()
    request = query_service_pb2.GetTimelineRequest()
    if args.asn is not None:
        request.asn = args.asn
    else:
        request.country = args.country.upper()
    try:
        if args.until:
            request.until.CopyFrom(timestamp(parse_instant(args.until, now_unix_s=now)))
        if args.since:
            request.since.CopyFrom(timestamp(parse_instant(args.since, now_unix_s=now)))
        if args.as_of:
            request.as_of.CopyFrom(timestamp(parse_instant(args.as_of, now_unix_s=now)))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    metadata = reader_metadata(args)
    with open_channel(args) as channel:
        stub = _query_stub(channel)
        timeline = rpc(args, lambda: stub.GetTimeline(request, metadata=metadata, timeout=60))
    if args.json:
        print(json.dumps(to_json(timeline), sort_keys=True))
        return 0
    if not timeline.points:
        print("no verdicts in this period", file=sys.stderr)
    else:
        print(render_table(*timeline_rows(timeline.points)))
    if timeline.events:
        print("\nevents:")
        for event in timeline.events:
            print("  " + event_line(event))
    return 0


def _watch(args: argparse.Namespace) -> int:
    from vantage.collector.cli.tables import event_line
    from vantage.v1 import query_service_pb2

    metadata = reader_metadata(args)
    request = query_service_pb2.WatchEventsRequest(
        country=args.country.upper(), asn=args.asn, include_open=True
    )
    with open_channel(args) as channel:
        stub = _query_stub(channel)

        def stream() -> int:
            for event in stub.WatchEvents(request, metadata=metadata):
                if args.json:
                    print_json_line(to_json(event))
                else:
                    print(event_line(event), flush=True)
            return 0

        rpc(args, stream)
    print("the collector closed the stream", file=sys.stderr)
    return 0


def _probes(args: argparse.Namespace) -> int:
    from vantage.collector.cli.tables import probe_rows, render_table
    from vantage.v1 import query_service_pb2

    metadata = reader_metadata(args)
    with open_channel(args) as channel:
        stub = _query_stub(channel)
        response = rpc(
            args,
            lambda: stub.ListProbes(
                query_service_pb2.ListProbesRequest(country=args.country.upper(), asn=args.asn),
                metadata=metadata,
                timeout=30,
            ),
        )
    if args.json:
        print(json.dumps(to_json(response), sort_keys=True))
        return 0
    if not response.probes:
        print("no probes enrolled", file=sys.stderr)
        return 0
    print(render_table(*probe_rows(response.probes)))
    return 0


__all__ = ["CliError", "register"]

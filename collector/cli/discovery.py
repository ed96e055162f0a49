"""`vantage collector targets discover|import-hitlist` and `vantage coverage` (docs/discovery.md)."""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vantage.cliutil import CliError, UsageError, print_json_line
from vantage.collector.cli.client import (
    add_connection_options,
    admin_call,
    admin_metadata,
    open_channel,
    reader_metadata,
    rpc,
    to_json,
)

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
RAW = argparse.RawDescriptionHelpFormatter
# ImportHitlist requests carry this many entries (~40 bytes each).
HITLIST_CHUNK_ENTRIES = 20_000
# --wait asks for progress this often.
WAIT_POLL_S = 2.0


def register_targets(sub: Subparsers) -> None:
    """Under `vantage collector targets`."""
    p = sub.add_parser(
        "discover",
        help="find targets: census the address space of countries / ASes",
        formatter_class=RAW,
        description="Start a discovery campaign: every /24 of the given countries' and ASes' IPv4\n"
        "space (from the collector's --asn-db datasets) is censused with one ICMP echo per\n"
        "address per census, spread over --census-period, by probes outside the AS and\n"
        'country; responders become reachability targets (source "discovery").\n'
        "An unknown country or an AS absent from the datasets is an error; nothing is started.\n\n"
        "examples:\n"
        "  vantage collector targets discover --country KZ --data-dir /var/lib/vantage --plaintext\n"
        "  vantage collector targets discover --asn 64500 --census-period 1d --refresh 7d --wait ...\n"
        "  vantage collector targets discover --list ...\n"
        "  vantage collector targets discover --cancel 3f2a9c0d1e4b5a6f ...\n",
    )
    p.add_argument("--country", action="append", default=[], metavar="CC", help="ISO code (repeatable)")
    p.add_argument("--asn", action="append", default=[], type=int, metavar="N", help="AS number (repeatable)")
    p.add_argument("--census-period", metavar="DURATION", help="one census of every address per (default 1d)")
    p.add_argument("--refresh", metavar="DURATION", help="full re-discovery every (default 7d)")
    p.add_argument("--wait", action="store_true", help="show progress until the first census is complete")
    p.add_argument("--list", action="store_true", help="list the campaigns and their progress")
    p.add_argument("--all", action="store_true", help="with --list: cancelled campaigns too")
    p.add_argument("--cancel", metavar="ID", help="cancel a campaign")
    p.add_argument("--json", action="store_true", help="JSON output")
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_discover)

    p = sub.add_parser(
        "import-hitlist",
        help="import a standard hitlist (ISI/ANT IPv4 history, IPv6 list; .gz ok)",
        formatter_class=RAW,
        description="Feed a hitlist's response histories into the collector's per-block store,\n"
        "so that targets are selected at once and discovery only refreshes them.\n"
        "Formats: ISI/ANT IPv4 history (`#fsdb -F t hex_ip history score`, tab-separated,\n"
        "hex), or IPv6 one address per line. Bad lines are reported by number; good lines\n"
        "are imported anyway (exit status 1 when any line was bad).\n\n"
        "example:\n"
        "  vantage collector targets import-hitlist internet_address_history.fsdb.gz --min-score 50 ...\n",
    )
    p.add_argument("file", metavar="FILE", type=Path, help="hitlist file (plain or .gz)")
    p.add_argument("--min-score", type=int, default=0, metavar="N", help="skip addresses scoring below N")
    p.add_argument("--json", action="store_true", help="print the import summary as JSON")
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_import_hitlist)


def register_coverage(subparsers: Subparsers) -> None:
    """`vantage coverage`."""
    p = subparsers.add_parser(
        "coverage",
        help="what the collector can measure, per AS and per country",
        formatter_class=RAW,
        description="Per AS of the discovery campaigns: address space, /24 blocks known, blocks\n"
        "with responders, targets in use, vantage points outside it (and their distinct\n"
        "ASes), and whether it is analysable (with the thresholds); per country: the share\n"
        "of its address space that is analysable. An AS that is not analysable gets UNKNOWN.\n\n"
        "examples:\n  vantage coverage --country KZ --plaintext\n  vantage coverage --asn 64500 --json\n",
    )
    p.add_argument("--country", default="", help="only this country")
    p.add_argument("--asn", type=int, default=0, help="only this AS")
    p.add_argument("--json", action="store_true", help="one JSON document")
    add_connection_options(p, admin=False)
    p.set_defaults(handler=_coverage)


# ---------------------------------------------------------------- handlers
def _discover(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2

    if args.list:
        response = admin_call(
            args, "ListDiscovery", admin_service_pb2.ListDiscoveryRequest(include_cancelled=args.all)
        )
        if args.json:
            print(json.dumps(to_json(response), sort_keys=True))
        elif not response.campaigns:
            print("no discovery campaigns", file=sys.stderr)
        else:
            for campaign in response.campaigns:
                print(describe(campaign))
        return 0
    if args.cancel:
        campaign = admin_call(
            args, "CancelDiscovery", admin_service_pb2.CancelDiscoveryRequest(id=args.cancel)
        )
        print(json.dumps(to_json(campaign), sort_keys=True) if args.json else describe(campaign))
        return 0
    if not args.country and not args.asn:
        raise UsageError("give --country CC and/or --asn N (or --list, --cancel ID)")
    from vantage.collector.cli.timeargs import parse_duration

    request = admin_service_pb2.StartDiscoveryRequest(
        countries=[c.upper() for c in args.country], asns=args.asn
    )
    for name, field in (("census_period", request.census_period), ("refresh", request.refresh)):
        text = getattr(args, name)
        if text:
            try:
                field.FromNanoseconds(int(parse_duration(text) * 1e9))
            except ValueError as exc:
                raise UsageError(f"--{name.replace('_', '-')}: {exc}") from None
    campaign = admin_call(args, "StartDiscovery", request)
    print(json.dumps(to_json(campaign), sort_keys=True) if args.json else describe(campaign))
    if args.wait:
        return _wait(args, campaign.id)
    return 0


def describe(campaign: Any) -> str:
    """One line: id, scope, state, blocks done/total, responders, ETA."""
    from vantage.v1 import admin_service_pb2

    scope = " ".join([*campaign.countries, *(f"AS{a}" for a in campaign.asns)])
    state = "cancelled" if campaign.state == admin_service_pb2.CAMPAIGN_STATE_CANCELLED else "active"
    line = (
        f"{campaign.id}  {scope}  {state}  blocks {campaign.blocks_done}/{campaign.blocks_total}"
        f"  responders {campaign.responders}"
    )
    if campaign.HasField("eta"):
        remaining = max(0.0, campaign.eta.seconds - time.time())
        line += f"  ETA {_human(remaining)}"
    return line


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _wait(args: argparse.Namespace, campaign_id: str) -> int:
    from vantage.v1 import admin_service_pb2

    while True:
        response = admin_call(
            args, "ListDiscovery", admin_service_pb2.ListDiscoveryRequest(include_cancelled=True)
        )
        campaign = next((c for c in response.campaigns if c.id == campaign_id), None)
        if campaign is None:
            raise CliError(f"campaign {campaign_id} is gone")
        print("\r" + describe(campaign), end="", file=sys.stderr, flush=True)
        if campaign.state == admin_service_pb2.CAMPAIGN_STATE_CANCELLED:
            print(file=sys.stderr)
            return 1
        if campaign.blocks_total and campaign.blocks_done >= campaign.blocks_total:
            print(file=sys.stderr)
            return 0
        time.sleep(WAIT_POLL_S)


def read_hitlist_lines(path: Path) -> list[str]:
    """The file's lines, gunzipped when it is gzip (by its magic bytes, not its name)."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8").splitlines()
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None


def parse_hitlist(lines: list[str]) -> tuple[list[Any], list[tuple[int, str]]]:
    """Wire entries of the good lines, (line, message) of the bad ones: ISI/ANT IPv4 history when
    the file has an #fsdb header, otherwise IPv6 one address per line."""
    import ipaddress

    from vantage.collector.discovery.hitlist import parse_ipv6_hitlist, parse_isi_hitlist
    from vantage.v1 import admin_service_pb2

    entries = []
    if any(line.startswith("#fsdb") for line in lines[:50]):
        parsed = parse_isi_hitlist(lines)
        bad = {e.line_number for e in parsed.errors}
        numbers = [n for n in _entry_lines(lines) if n not in bad]
        for entry, number in zip(parsed.entries, numbers, strict=False):
            entries.append(
                admin_service_pb2.HitlistEntry(
                    address=str(ipaddress.IPv4Address(entry.address)),
                    history=entry.history,
                    score=entry.score,
                    line=number,
                )
            )
        return entries, [(e.line_number, e.message) for e in parsed.errors]
    parsed6 = parse_ipv6_hitlist(lines)
    bad = {e.line_number for e in parsed6.errors}
    numbers = [n for n in _entry_lines(lines) if n not in bad]
    for entry6, number in zip(parsed6.entries, numbers, strict=False):
        entries.append(
            admin_service_pb2.HitlistEntry(
                address=str(ipaddress.IPv6Address(entry6.address)), history=1, line=number
            )
        )
    return entries, [(e.line_number, e.message) for e in parsed6.errors]


def _entry_lines(lines: list[str]) -> list[int]:
    """Line numbers that may hold an entry (not blank, not a comment): the parsers' good lines are
    in file order, so the caller pairs them with these after dropping the bad ones."""
    return [n for n, line in enumerate(lines, start=1) if line.split("#", 1)[0].strip()]


def _import_hitlist(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc

    lines = read_hitlist_lines(args.file)
    entries, local_errors = parse_hitlist(lines)
    errors: list[tuple[int, str]] = list(local_errors)
    imported = skipped = blocks = 0
    metadata = admin_metadata(args)
    with open_channel(args) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        for start in range(0, len(entries), HITLIST_CHUNK_ENTRIES):
            request = admin_service_pb2.ImportHitlistRequest(
                entries=entries[start : start + HITLIST_CHUNK_ENTRIES], min_score=args.min_score
            )
            response = rpc(
                args, functools.partial(stub.ImportHitlist, request, metadata=metadata, timeout=120)
            )
            imported += response.imported
            skipped += response.skipped
            blocks += response.blocks
            errors.extend((e.line, e.message) for e in response.errors)
    errors.sort()
    if args.json:
        print_json_line(
            {
                "imported": imported,
                "skipped": skipped,
                "blocks": blocks,
                "errors": [{"line": line, "message": message} for line, message in errors],
            }
        )
    else:
        for line, message in errors:
            print(f"{args.file}:{line}: {message}", file=sys.stderr)
        print(
            f"imported {imported} address(es) into {blocks} block(s), skipped {skipped} below --min-score,"
            f" rejected {len(errors)} line(s)",
            file=sys.stderr,
        )
    return 1 if errors else 0


def _coverage(args: argparse.Namespace) -> int:
    from vantage.collector.cli.tables import render_table
    from vantage.v1 import query_service_pb2, query_service_pb2_grpc

    metadata = reader_metadata(args)
    with open_channel(args) as channel:
        stub = query_service_pb2_grpc.QueryServiceStub(channel)
        request = query_service_pb2.GetCoverageRequest(country=args.country.upper(), asn=args.asn)
        response = rpc(args, functools.partial(stub.GetCoverage, request, metadata=metadata, timeout=60))
    if args.json:
        print(json.dumps(to_json(response), sort_keys=True))
        return 0
    if not response.ases:
        print("no coverage yet: start discovery with `vantage collector targets discover`", file=sys.stderr)
        return 0
    header = ("AS", "COUNTRY", "ADDRESSES", "BLOCKS", "RESPONSIVE", "TARGETS", "VPS", "VP-ASES", "ANALYSABLE")
    rows = [
        (
            f"AS{a.asn}",
            a.country,
            str(a.addresses),
            str(a.blocks_known),
            str(a.blocks_responsive),
            str(a.targets),
            str(a.vantage_points),
            str(a.vantage_ases),
            "yes" if a.analysable else f"no: {a.reason}",
        )
        for a in response.ases
    ]
    print(render_table(header, rows))
    for c in response.countries:
        print(
            f"{c.country}: {c.analysable_share:.0%} of {c.addresses} addresses analysable"
            f" ({c.analysable_ases}/{c.ases} ASes)"
        )
    t = response.thresholds
    print(
        f"analysable: at least {t.min_responsive_blocks} responsive /24 blocks and vantage points"
        f" in at least {t.min_vantage_ases} ASes outside it"
    )
    return 0

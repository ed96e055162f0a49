"""`vantage collector targets import|list|remove`: the target list, over AdminService."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vantage.cliutil import CliError, print_json_line
from vantage.collector.cli.client import (
    add_connection_options,
    admin_call,
    admin_metadata,
    open_channel,
    rpc,
    to_json,
)

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
RAW = argparse.RawDescriptionHelpFormatter
# ImportTargets requests carry this many rows (a Citizen Lab list is ~1-2k rows).
IMPORT_CHUNK_ROWS = 1000


def register(group: Subparsers) -> None:
    _register_targets(group)


# ---------------------------------------------------------------- targets
def _register_targets(group: Subparsers) -> None:
    targets = group.add_parser("targets", help="import, list, remove targets", description="The target list.")
    targets.set_defaults(group_parser=targets)
    sub = targets.add_subparsers(dest="targets_command", metavar="COMMAND")
    p = sub.add_parser(
        "import",
        help="import targets from a CSV file or a Citizen Lab test list",
        formatter_class=RAW,
        description="Import targets. Two formats, recognised by their header:\n"
        "  own CSV:     target,protocols,country,asn,tags\n"
        "               (target = IP, host name or URL; protocols and tags separated by ';';\n"
        "                empty country/asn are looked up from the collector's datasets)\n"
        "  Citizen Lab: url,category_code,category_description,date_added,source,notes\n"
        "Bad rows are reported with their line number; good rows are imported anyway\n"
        "(exit status 1 when any row was bad). Importing a target again updates it.\n\n"
        "examples:\n"
        "  vantage collector targets import targets.csv --data-dir /var/lib/vantage --plaintext\n"
        "  vantage collector targets import lists/kz.csv --country KZ \\\n"
        "      --data-dir /var/lib/vantage --plaintext\n\n"
        "targets.csv:\n"
        "  target,protocols,country,asn,tags\n"
        "  192.0.2.1,icmp;tcp,,,port:443\n"
        "  https://www.example.org/,http,,,list:global\n",
    )
    p.add_argument("file", metavar="FILE", type=Path, help="CSV file ('-' for stdin)")
    p.add_argument(
        "--country", default="", help="country of a Citizen Lab list (default: from the file name)"
    )
    p.add_argument("--json", action="store_true", help="print the import summary as JSON")
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_targets_import)

    p = sub.add_parser(
        "list",
        help="list targets",
        formatter_class=RAW,
        description="List the collector's targets.\n\nexample:\n"
        "  vantage collector targets list --country KZ --data-dir /var/lib/vantage --plaintext\n",
    )
    p.add_argument("--country", default="", help="only this country")
    p.add_argument("--asn", type=int, default=0, help="only this AS")
    p.add_argument("--source", default="", help="only this source: csv, citizenlab, discovery")
    p.add_argument("--json", action="store_true", help="one JSON document (protobuf JSON mapping)")
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_targets_list)

    p = sub.add_parser(
        "remove",
        help="remove targets by id or by target string",
        formatter_class=RAW,
        description="Remove targets (given by id, or by the target string as imported).\n\n"
        "example:\n  vantage collector targets remove 192.0.2.1 https://www.example.org/ "
        "--data-dir /var/lib/vantage --plaintext\n",
    )
    p.add_argument("targets", metavar="TARGET", nargs="+")
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_targets_remove)

    from vantage.collector.cli import discovery as cli_discovery

    cli_discovery.register_targets(sub)  # discover, import-hitlist


def _read_text(path: Path) -> str:
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None


def _targets_import(args: argparse.Namespace) -> int:
    from vantage.collector.wire.target_rows import parse_target_file, row_to_spec
    from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc

    text = _read_text(args.file)
    rows, local_errors = parse_target_file(
        text, source_name=str(args.file), default_country=args.country.upper()
    )
    metadata = admin_metadata(args)
    imported = updated = 0
    errors: list[tuple[int, str, str]] = [(e.line, e.target, e.message) for e in local_errors]
    specs = [row_to_spec(row) for row in rows]
    with open_channel(args) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        for start in range(0, len(specs), IMPORT_CHUNK_ROWS):
            request = admin_service_pb2.ImportTargetsRequest(targets=specs[start : start + IMPORT_CHUNK_ROWS])
            response = rpc(
                args, functools.partial(stub.ImportTargets, request, metadata=metadata, timeout=60)
            )
            imported += response.imported
            updated += response.updated
            errors.extend((e.line, e.target, e.message) for e in response.errors)
    errors.sort()
    if args.json:
        print_json_line(
            {
                "imported": imported,
                "updated": updated,
                "errors": [{"line": line, "target": target, "message": msg} for line, target, msg in errors],
            }
        )
    else:
        for line, target, message in errors:
            print(f"{args.file}:{line}: {message}" + (f" ({target})" if target else ""), file=sys.stderr)
        print(f"imported {imported}, updated {updated}, rejected {len(errors)} row(s)", file=sys.stderr)
    return 1 if errors else 0


def _targets_list(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc

    metadata = admin_metadata(args)
    targets = []
    with open_channel(args) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        token = ""
        while True:
            request = admin_service_pb2.ListTargetsRequest(
                country=args.country.upper(),
                asn=args.asn,
                page_size=1000,
                page_token=token,
                source=args.source,
            )
            response = rpc(args, functools.partial(stub.ListTargets, request, metadata=metadata, timeout=60))
            targets.extend(response.targets)
            token = response.next_page_token
            if not token:
                break
    if args.json:
        print(json.dumps({"targets": [to_json(t) for t in targets]}, sort_keys=True))
        return 0
    from vantage.collector.cli.tables import render_table, target_rows

    if not targets:
        print("no targets", file=sys.stderr)
        return 0
    print(render_table(*target_rows(targets)))
    return 0


def _targets_remove(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2

    response = admin_call(args, "RemoveTargets", admin_service_pb2.RemoveTargetsRequest(targets=args.targets))
    print(f"removed {response.removed} target(s)", file=sys.stderr)
    return 0 if response.removed else 1

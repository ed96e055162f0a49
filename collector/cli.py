"""`vantage collector ...`: run a collector, administer probes and targets.

Administration commands talk to a running collector over AdminService with
the admin credential (read from the collector's --data-dir or from
--admin-credential), so they work the same against one collector or several
sharing a database.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vantage.cliutil import CliError, UsageError, add_group, print_json_line
from vantage.collector.client import add_connection_options, admin_metadata, open_channel, rpc, to_json

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
RAW = argparse.RawDescriptionHelpFormatter
# ImportTargets requests carry this many rows (a Citizen Lab list is ~1-2k rows).
IMPORT_CHUNK_ROWS = 1000


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
    _register_token(group)
    _register_probe(group)
    _register_targets(group)
    _register_asn(group)


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
        "      --asn-db asn-ipv4.csv.gz --asn-db country-ipv4.csv.gz\n",
    )
    p.add_argument(
        "--listen", metavar="HOST:PORT", default="127.0.0.1:7443", help="gRPC address (default %(default)s)"
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
        "--max-batch", metavar="N", type=int, default=None, help="most measurements per batch (default 5000)"
    )
    p.add_argument(
        "--require-reader-token",
        action="store_true",
        help="queries need a credential: creates DIR/reader.credential (0600); admin also works",
    )
    p.add_argument(
        "--collector-id", metavar="ID", help="name of this collector in the rounds table (default: host)"
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from vantage.collector.clitime import parse_duration
    from vantage.collector.service.config import CollectorConfig
    from vantage.collector.service.server import ServeOptions, default_collector_id, serve, split_host_port
    from vantage.collector.validation import DEFAULT_MAX_BATCH_ITEMS, ValidationLimits

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
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for path in [*args.asn_db, args.tls_cert, args.tls_key]:
        if path is not None and not Path(path).is_file():
            raise UsageError(f"no such file: {path}")
    max_batch = args.max_batch or DEFAULT_MAX_BATCH_ITEMS
    if max_batch <= 0:
        raise UsageError("--max-batch must be positive")
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = CollectorConfig(
        collector_id=args.collector_id or default_collector_id(),
        round_seconds=args.round_seconds,
        limits=ValidationLimits(clock_skew_s=skew, retention_s=retention),
        max_batch_items=max_batch,
        require_reader=args.require_reader_token,
    )
    options = ServeOptions(
        listen=args.listen,
        data_dir=args.data_dir,
        config=config,
        plaintext=args.plaintext,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        metrics_listen=args.metrics,
        asn_db=tuple(args.asn_db),
        db_url=args.db,
    )
    from vantage.collector.storage import StorageError

    try:
        return asyncio.run(serve(options))
    except (OSError, ValueError, StorageError) as exc:  # StorageError: database unreachable or unusable
        raise CliError(f"collector failed to start: {exc}") from None


# ---------------------------------------------------------------- token
def _register_token(group: Subparsers) -> None:
    token = group.add_parser(
        "token", help="enrollment tokens", description="Enrollment tokens for new probes."
    )
    token.set_defaults(group_parser=token)
    sub = token.add_subparsers(dest="token_command", metavar="COMMAND")
    p = sub.add_parser(
        "create",
        help="create a one-time enrollment token (printed on stdout)",
        formatter_class=RAW,
        description="Create a one-time enrollment token. Only the token is printed on stdout, so\n"
        "scripts can capture it; the collector stores only its hash.\n\n"
        "examples:\n"
        "  TOKEN=$(vantage collector token create --name probe-ams --data-dir /var/lib/vantage --plaintext)\n"
        "  vantage collector token create --expires 24h --collector 203.0.113.5:7443 \\\n"
        "      --admin-credential admin.credential --ca-file ca.pem --json\n",
    )
    p.add_argument("--name", default="", help="a label for the token (shown in logs)")
    p.add_argument("--expires", metavar="DURATION", help="lifetime, e.g. 30m, 24h, 7d (default: 7d)")
    p.add_argument(
        "--json", action="store_true", help='print {"token":..., "token_id":..., "expires_at":...}'
    )
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_token_create)


def _token_create(args: argparse.Namespace) -> int:
    from vantage.collector.clitime import parse_duration
    from vantage.collector.wire.records import timestamp
    from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc

    request = admin_service_pb2.CreateEnrollmentTokenRequest(name=args.name)
    if args.expires:
        import time

        try:
            lifetime = parse_duration(args.expires)
        except ValueError as exc:
            raise UsageError(f"--expires: {exc}") from None
        request.expires_at.CopyFrom(timestamp(time.time() + lifetime))
    metadata = admin_metadata(args)
    with open_channel(args) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        response = rpc(args, lambda: stub.CreateEnrollmentToken(request, metadata=metadata, timeout=30))
    if args.json:
        print_json_line(
            {
                "token": response.token,
                "token_id": response.token_id,
                "expires_at": response.expires_at.ToJsonString(),
            }
        )
    else:
        print(response.token)
    return 0


# ---------------------------------------------------------------- probe
def _register_probe(group: Subparsers) -> None:
    probe = group.add_parser(
        "probe", help="revoke or pin probes", description="Revoke probes or pin their location."
    )
    probe.set_defaults(group_parser=probe)
    sub = probe.add_subparsers(dest="probe_command", metavar="COMMAND")
    p = sub.add_parser(
        "revoke",
        help="revoke a probe's credential (its calls get UNAUTHENTICATED)",
        formatter_class=RAW,
        description="Revoke a probe: its credential stops working at once on this collector and\n"
        "within seconds on others sharing the database. Its stored results are kept.\n\n"
        "example:\n  vantage collector probe revoke 2f1c7d0e-5b7a-4d7e-9a51-0c7f3e4b9d21 \\\n"
        "      --data-dir /var/lib/vantage --plaintext\n",
    )
    p.add_argument("probe_id", metavar="ID", help="the probe's id (see `vantage probes`)")
    p.add_argument("--json", action="store_true", help="print the probe record as JSON")
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_probe_revoke)
    p = sub.add_parser(
        "pin",
        help="pin a probe's AS and country (overrides the address lookup)",
        formatter_class=RAW,
        description="Pin a probe's location. By default the collector places a probe by the address it\n"
        "connects from; a pin overrides that (the probe list shows both). --asn 0 --country ''\n"
        "clears the pin.\n\n"
        "example:\n  vantage collector probe pin 2f1c7d0e-5b7a-4d7e-9a51-0c7f3e4b9d21 \\\n"
        "      --asn 64500 --country KZ \\\n"
        "      --data-dir /var/lib/vantage --plaintext\n",
    )
    p.add_argument("probe_id", metavar="ID")
    p.add_argument("--asn", type=int, required=True, help="AS number (0 clears)")
    p.add_argument("--country", required=True, help="ISO 3166-1 alpha-2 code ('' clears)")
    p.add_argument("--json", action="store_true", help="print the probe record as JSON")
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_probe_pin)


def _print_probe(record: Any, as_json: bool) -> None:
    if as_json:
        print_json_line(to_json(record))
        return
    from vantage.collector.tables import probe_rows, render_table

    print(render_table(*probe_rows([record])))


def _probe_revoke(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc

    metadata = admin_metadata(args)
    with open_channel(args) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        response = rpc(
            args,
            lambda: stub.RevokeProbe(
                admin_service_pb2.RevokeProbeRequest(probe_id=args.probe_id), metadata=metadata, timeout=30
            ),
        )
    _print_probe(response.probe, args.json)
    return 0


def _probe_pin(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc

    if args.asn < 0 or args.asn > 0xFFFFFFFF:
        raise UsageError("--asn must be between 0 and 4294967295")
    metadata = admin_metadata(args)
    request = admin_service_pb2.PinProbeLocationRequest(
        probe_id=args.probe_id, asn=args.asn, country=args.country.upper()
    )
    with open_channel(args) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        record = rpc(args, lambda: stub.PinProbeLocation(request, metadata=metadata, timeout=30))
    _print_probe(record, args.json)
    return 0


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
                country=args.country.upper(), asn=args.asn, page_size=1000, page_token=token
            )
            response = rpc(args, functools.partial(stub.ListTargets, request, metadata=metadata, timeout=60))
            targets.extend(response.targets)
            token = response.next_page_token
            if not token:
                break
    if args.json:
        print(json.dumps({"targets": [to_json(t) for t in targets]}, sort_keys=True))
        return 0
    from vantage.collector.tables import render_table, target_rows

    if not targets:
        print("no targets", file=sys.stderr)
        return 0
    print(render_table(*target_rows(targets)))
    return 0


def _targets_remove(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc

    metadata = admin_metadata(args)
    with open_channel(args) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        response = rpc(
            args,
            lambda: stub.RemoveTargets(
                admin_service_pb2.RemoveTargetsRequest(targets=args.targets), metadata=metadata, timeout=30
            ),
        )
    print(f"removed {response.removed} target(s)", file=sys.stderr)
    return 0 if response.removed else 1


# ---------------------------------------------------------------- asn
def _register_asn(group: Subparsers) -> None:
    asn = group.add_parser("asn", help="IP-to-AS datasets", description="The collector's IP-to-AS datasets.")
    asn.set_defaults(group_parser=asn)
    sub = asn.add_subparsers(dest="asn_command", metavar="COMMAND")
    p = sub.add_parser(
        "reload",
        help="re-read the --asn-db files without a restart",
        formatter_class=RAW,
        description="Make the collector re-read its --asn-db files (replace the files first). If a\n"
        "file is unreadable the collector keeps the datasets it had.\n\n"
        "example:\n  vantage collector asn reload --data-dir /var/lib/vantage --plaintext\n",
    )
    add_connection_options(p, admin=True)
    p.set_defaults(handler=_asn_reload)


def _asn_reload(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc

    metadata = admin_metadata(args)
    with open_channel(args) as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        response = rpc(
            args,
            lambda: stub.ReloadAsnDatabase(
                admin_service_pb2.ReloadAsnDatabaseRequest(), metadata=metadata, timeout=300
            ),
        )
    print(f"reloaded: {response.ranges} address ranges", file=sys.stderr)
    return 0

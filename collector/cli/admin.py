"""`vantage collector token|probe|asn ...`: operator commands over AdminService.

Every command reads the admin credential from the collector's --data-dir or
from --admin-credential, and talks to --collector (default loopback).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from vantage.cliutil import UsageError, print_json_line
from vantage.collector.cli.client import (
    add_connection_options,
    admin_call,
    to_json,
)

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
RAW = argparse.RawDescriptionHelpFormatter


def register(group: Subparsers) -> None:
    _register_token(group)
    _register_probe(group)
    _register_asn(group)


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
    from vantage.collector.cli.timeargs import parse_duration
    from vantage.collector.wire.record_messages import timestamp
    from vantage.v1 import admin_service_pb2

    request = admin_service_pb2.CreateEnrollmentTokenRequest(name=args.name)
    if args.expires:
        import time

        try:
            lifetime = parse_duration(args.expires)
        except ValueError as exc:
            raise UsageError(f"--expires: {exc}") from None
        request.expires_at.CopyFrom(timestamp(time.time() + lifetime))
    response = admin_call(args, "CreateEnrollmentToken", request)
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
    from vantage.collector.cli.tables import probe_rows, render_table

    print(render_table(*probe_rows([record])))


def _probe_revoke(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2

    response = admin_call(args, "RevokeProbe", admin_service_pb2.RevokeProbeRequest(probe_id=args.probe_id))
    _print_probe(response.probe, args.json)
    return 0


def _probe_pin(args: argparse.Namespace) -> int:
    from vantage.v1 import admin_service_pb2

    if args.asn < 0 or args.asn > 0xFFFFFFFF:
        raise UsageError("--asn must be between 0 and 4294967295")
    request = admin_service_pb2.PinProbeLocationRequest(
        probe_id=args.probe_id, asn=args.asn, country=args.country.upper()
    )
    record = admin_call(args, "PinProbeLocation", request)
    _print_probe(record, args.json)
    return 0


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
    from vantage.v1 import admin_service_pb2

    # Re-reading whole datasets takes seconds, hence the longer deadline.
    request = admin_service_pb2.ReloadAsnDatabaseRequest()
    response = admin_call(args, "ReloadAsnDatabase", request, timeout_s=300)
    print(f"reloaded: {response.ranges} address ranges", file=sys.stderr)
    return 0

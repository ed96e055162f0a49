"""Client side of the CLI: connection options, channels, credentials, errors.

Used by `vantage collector ...` (admin) and `vantage status|timeline|watch|probes`
(queries). grpc is imported inside functions so `vantage --help` stays instant.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vantage.cliutil import CliError, UsageError

DEFAULT_COLLECTOR = "127.0.0.1:7443"
T = TypeVar("T")


def add_connection_options(parser: argparse.ArgumentParser, *, admin: bool) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--collector",
        metavar="HOST:PORT",
        default=DEFAULT_COLLECTOR,
        help=f"collector to ask (default {DEFAULT_COLLECTOR})",
    )
    tls = group.add_mutually_exclusive_group()
    tls.add_argument("--plaintext", action="store_true", help="connect without TLS (loopback, lab)")
    tls.add_argument(
        "--ca-file",
        metavar="FILE",
        type=Path,
        help="CA certificate to verify the collector (default: system CAs)",
    )
    if admin:
        cred = group.add_mutually_exclusive_group()
        cred.add_argument(
            "--data-dir",
            metavar="DIR",
            type=Path,
            help="the collector's data dir, to read DIR/admin.credential (on the collector's machine)",
        )
        cred.add_argument(
            "--admin-credential", metavar="FILE", type=Path, help="file holding the admin credential"
        )
    else:
        group.add_argument(
            "--credential",
            metavar="FILE",
            type=Path,
            help="reader (or admin) credential file, when the collector requires one for queries",
        )


def open_channel(args: argparse.Namespace) -> Any:
    import grpc

    if args.plaintext:
        return grpc.insecure_channel(args.collector)
    root = None
    if args.ca_file is not None:
        try:
            root = Path(args.ca_file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --ca-file: {exc}") from exc
    return grpc.secure_channel(args.collector, grpc.ssl_channel_credentials(root_certificates=root))


def _credential_from(path: Path, what: str) -> str:
    from vantage.collector.service.auth import read_credential_file

    try:
        return read_credential_file(path)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the {what} {path}: {exc}") from exc


def admin_metadata(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    from vantage.collector.service.auth import ADMIN_CREDENTIAL_FILE, bearer_metadata

    if args.admin_credential is not None:
        path = Path(args.admin_credential)
    elif args.data_dir is not None:
        path = Path(args.data_dir) / ADMIN_CREDENTIAL_FILE
    else:
        raise UsageError("give --data-dir DIR (the collector's data dir) or --admin-credential FILE")
    return bearer_metadata(_credential_from(path, "admin credential"))


def reader_metadata(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    from vantage.collector.service.auth import bearer_metadata

    if getattr(args, "credential", None) is None:
        return ()
    return bearer_metadata(_credential_from(Path(args.credential), "credential"))


def rpc(args: argparse.Namespace, call: Callable[[], T]) -> T:
    """Run one RPC; turn gRPC failures into a one-line CLI error naming the collector."""
    import grpc

    try:
        return call()
    except grpc.RpcError as exc:
        raise rpc_error(args, exc) from None


def rpc_error(args: argparse.Namespace, exc: Any) -> CliError:
    """A one-line CLI error for a failed RPC."""
    import grpc

    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    name = code.name if code is not None else "ERROR"
    if code == grpc.StatusCode.UNAVAILABLE:
        details = f"{details} (is a collector running at {args.collector}? TLS: --plaintext or --ca-file)"
    return CliError(f"{args.collector}: {name}: {details}")


def admin_call(args: argparse.Namespace, method: str, request: Any, *, timeout_s: float = 30) -> Any:
    """One AdminService call with the admin credential; gRPC failures become CLI errors."""
    from vantage.v1 import admin_service_pb2_grpc

    metadata = admin_metadata(args)
    with open_channel(args) as channel:
        call = getattr(admin_service_pb2_grpc.AdminServiceStub(channel), method)
        return rpc(args, functools.partial(call, request, metadata=metadata, timeout=timeout_s))


def to_json(message: Any) -> Any:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=True)

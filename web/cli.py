"""`vantage web`: serve the public site in front of one or more collectors.

Registration is cheap; aiohttp, Jinja2, grpc and matplotlib load in the handler.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vantage.cliutil import UsageError

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_TITLE = "Vantage"


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "web",
        help="the public web site, JSON API, charts and feeds (read-only)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A read-only, stateless site in front of one or more collectors (QueryService):\n"
        "pages at /, /country/KZ, /as/9198, /event/ID, /probes; charts at /chart/...;\n"
        "the JSON API at /api/v1/ (OpenAPI: /api/v1/openapi.json); Atom feeds at /feeds/.\n"
        "Several --collector addresses are replicas, asked in order. See docs/web.md.\n\n"
        "examples:\n"
        "  vantage web --collector 127.0.0.1:7443 --plaintext\n"
        "  vantage web --listen 0.0.0.0:8080 \\\n"
        "      --collector c1.example.org:7443 --collector c2.example.org:7443 \\\n"
        "      --ca-file ca.pem --credential reader.credential --title 'Vantage KZ watch' \\\n"
        "      --base-url https://status.example.org\n",
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=DEFAULT_LISTEN,
        help=f"address to serve (default {DEFAULT_LISTEN})",
    )
    p.add_argument(
        "--collector",
        metavar="HOST:PORT",
        action="append",
        help="a collector to ask; repeat for replicas (default 127.0.0.1:7443)",
    )
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--plaintext", action="store_true", help="connect without TLS (loopback, lab)")
    tls.add_argument("--ca-file", metavar="FILE", type=Path, help="CA certificate to verify the collectors")
    p.add_argument(
        "--credential", metavar="FILE", type=Path, help="reader credential file, if queries need one"
    )
    p.add_argument("--title", default=DEFAULT_TITLE, help=f"the site's name (default {DEFAULT_TITLE!r})")
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="the public address, used in feeds, permalinks and chart source lines (default http://LISTEN)",
    )
    p.add_argument(
        "--max-window",
        metavar="DURATION",
        default="30d",
        help="the longest ?since=&until= window: the collectors' --retention (default 30d)",
    )
    p.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from aiohttp import web

    from vantage.collector.cli.client import DEFAULT_COLLECTOR, reader_metadata
    from vantage.collector.cli.timeargs import parse_duration
    from vantage.web.server import Site, build_app
    from vantage.web.source import Connection, Source, read_root_certificates

    host, sep, port = args.listen.rpartition(":")
    if not sep or not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: give HOST:PORT")
    try:
        max_window_s = parse_duration(args.max_window)
        roots = read_root_certificates(args.ca_file)
    except ValueError as exc:
        raise UsageError(f"--max-window: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read --ca-file: {exc}") from None
    base_url = (args.base_url or f"http://{args.listen}").rstrip("/")
    connection = Connection(
        tuple(args.collector or [DEFAULT_COLLECTOR]), args.plaintext, roots, reader_metadata(args)
    )

    async def run() -> None:
        app = build_app(Site(args.title, base_url, max_window_s), Source(connection))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host.strip("[]"), int(port))
        await site.start()
        bound = runner.addresses[0]
        collectors = ", ".join(connection.addresses)
        print(f"web listening on http://{bound[0]}:{bound[1]}/ (collectors: {collectors})", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(run())
    return 0

"""A tiny threaded HTTP server for the lab's target hosts: `python -m vantage.lab.httpd`.

Each target host answers every GET with a small page naming itself, chosen by
the local address the request arrived on, so that a probe (or a person with
curl) can tell which host answered and a rewritten DNS answer shows as a
different page. Standard library only: it starts in a few tens of ms.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vantage.lab.httpd", description=__doc__)
    parser.add_argument("--port", type=int, default=80, help="TCP port on all addresses (default 80)")
    parser.add_argument(
        "--site",
        action="append",
        default=[],
        metavar="ADDRESS=NAME",
        help="name the host at ADDRESS (repeatable)",
    )
    args = parser.parse_args(argv)
    sites = dict(item.split("=", 1) for item in args.site)

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "vantage-lab/1"

        def do_GET(self) -> None:  # the http.server naming convention
            local_address = self.connection.getsockname()[0]
            name = sites.get(local_address, local_address)
            body = f"<!doctype html><title>{name}</title><h1>{name}</h1>\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # quiet: probes ask every round
            return

    server = http.server.ThreadingHTTPServer(("0.0.0.0", args.port), Handler)
    server.daemon_threads = True
    print(f"lab httpd serving {len(sites)} sites on port {args.port}", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

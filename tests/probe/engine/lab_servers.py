"""Servers for the probe's network-namespace tests, run as processes inside the target namespace.

    python lab_servers.py http --port 80 [--tls-port 443 --cert F --key F]
    python lab_servers.py dns --listen 198.18.0.54 [--port 53]
    python lab_servers.py closer --listen 198.18.0.80

The closer answers TCP the way a censor's middlebox or a broken server hangs up (one behaviour
per port, see CLOSER_PORTS): a FIN at accept, an RST once the client has spoken, a response cut short of its
Content-Length, or a close after reading the request without a word (nginx `return 444`).

The HTTP server answers a few fixed paths (a page, redirect chains, a redirect loop, a body
larger than the probe's bounded read, a 404). The DNS responder misbehaves on purpose: SERVFAIL
for servfail.*, a malformed answer for malformed.*, and a lie (203.0.113.66) for everything
else, standing in for a censor's resolver. Standard library + dnspython only.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import socket
import ssl
import struct
import sys
import threading

PAGE = b"<!doctype html><title>Vantage lab page</title><p>hello from the lab</p>\n"
BIG_BYTES = 2 * 1024 * 1024 + 123
LIE = "203.0.113.66"
# Port -> what the closer does with each connection.
FIN_AT_ACCEPT, RST_AFTER_HELLO, SHORT_BODY, SILENT_CLOSE = 84, 85, 86, 87
CLOSER_PORTS = (FIN_AT_ACCEPT, RST_AFTER_HELLO, SHORT_BODY, SILENT_CLOSE)
SHORT_BODY_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n"


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "vantage-test/1"

    def do_GET(self) -> None:  # the http.server naming convention
        path = self.path
        if path == "/":
            self._send(200, PAGE, "text/html")
        elif path.startswith("/redirect/"):
            left = int(path.rsplit("/", 1)[1])
            self._redirect("/" if left == 0 else f"/redirect/{left - 1}")
        elif path == "/loop":
            self._redirect("/loop")
        elif path == "/big":
            self._send(200, b"x" * BIG_BYTES, "application/octet-stream")
        else:
            self._send(404, b"not here\n", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the probe stops at its bound
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


class _V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # beside the IPv4 one
        super().server_bind()


def _server(family: socket.AddressFamily, port: int) -> http.server.ThreadingHTTPServer:
    if family == socket.AF_INET6:
        return _V6Server(("::", port), Handler)
    return http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)


def serve_http(args: argparse.Namespace) -> None:
    servers: list[http.server.ThreadingHTTPServer] = []
    for family in (socket.AF_INET, socket.AF_INET6):  # the same pages over IPv4 and IPv6
        servers.extend(_server(family, port) for port in [args.port, *args.extra_port])
        if args.tls_port:
            tls_server = _server(family, args.tls_port)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.cert, args.key)
            tls_server.socket = context.wrap_socket(tls_server.socket, server_side=True)
            servers.append(tls_server)
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def serve_dns(args: argparse.Namespace) -> None:
    import dns.message
    import dns.rcode
    import dns.rrset

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.listen, args.port))
    print("ready", flush=True)
    while True:
        wire, peer = sock.recvfrom(4096)
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            continue
        name = query.question[0].name.to_text()
        if name.startswith("malformed."):
            # Header claims four answers that are not there.
            sock.sendto(wire[:2] + b"\x81\x80\x00\x01\x00\x04\x00\x00\x00\x00" + wire[12:], peer)
            continue
        response = dns.message.make_response(query)
        if name.startswith("servfail."):
            response.set_rcode(dns.rcode.SERVFAIL)
        else:
            response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", LIE))
        sock.sendto(response.to_wire(), peer)


def _drain_and_close(conn: socket.socket) -> None:
    """Read until the peer closes (bounded), then close: a FIN, never an RST for unread data."""
    conn.settimeout(5)
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass
    conn.close()


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk


def _hang_up(port: int, conn: socket.socket) -> None:
    if port == RST_AFTER_HELLO:  # after the client's first bytes (a request, a ClientHello)
        conn.settimeout(5)
        with contextlib.suppress(OSError):
            conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        return
    if port == FIN_AT_ACCEPT:
        conn.shutdown(socket.SHUT_WR)
    else:
        _read_request(conn)
        if port == SHORT_BODY:
            conn.sendall(SHORT_BODY_HEAD + b"only ten!\n")
        conn.shutdown(socket.SHUT_WR)
    _drain_and_close(conn)


def serve_closer(args: argparse.Namespace) -> None:
    def accept_loop(port: int, listener: socket.socket) -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=_hang_up, args=(port, conn), daemon=True).start()

    for port in CLOSER_PORTS:  # all bound before "ready"
        listener = socket.create_server((args.listen, port))
        threading.Thread(target=accept_loop, args=(port, listener), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="kind", required=True)
    http_parser = sub.add_parser("http")
    http_parser.add_argument("--port", type=int, default=80)
    http_parser.add_argument("--extra-port", type=int, action="append", default=[])
    http_parser.add_argument("--tls-port", type=int, default=0)
    http_parser.add_argument("--cert")
    http_parser.add_argument("--key")
    dns_parser = sub.add_parser("dns")
    dns_parser.add_argument("--listen", required=True)
    dns_parser.add_argument("--port", type=int, default=53)
    closer_parser = sub.add_parser("closer")
    closer_parser.add_argument("--listen", required=True)
    args = parser.parse_args()
    {"http": serve_http, "dns": serve_dns, "closer": serve_closer}[args.kind](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

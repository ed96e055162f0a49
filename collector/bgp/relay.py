"""ExaBGP's API process: its stdout JSON lines -> the collector's unix socket.

ExaBGP runs this (`process vantage { run python3 -m vantage.collector.bgp.relay PATH;
encoder json; }`) and writes one JSON message per line to our stdin. ExaBGP must never block
on us: a reader thread drains stdin into a bounded buffer at all times; the main thread sends
the buffer to the collector, reconnecting when the collector restarts. When the buffer is full
the oldest lines go, and the collector is told how many with one
{"type": "vantage-relay", "lost": N} line (its table may then be stale until the sessions
restart). stdin closing (ExaBGP stopping) ends the relay once the buffer is sent.
"""

from __future__ import annotations

import collections
import json
import socket
import sys
import threading
import time
from collections.abc import Sequence

__all__ = ["main"]

# A full table is about a million routes, a few thousand per UPDATE line: 200,000 lines hold
# a collector restart's worth of an initial table load (a few hundred MB at worst).
BUFFER_LINES = 200_000
RECONNECT_S = 1.0


class _Buffer:
    def __init__(self, limit: int) -> None:
        self.lines: collections.deque[bytes] = collections.deque()
        self.limit = limit
        self.lost = 0
        self.done = False
        self.ready = threading.Condition()

    def put(self, line: bytes) -> None:
        with self.ready:
            if len(self.lines) >= self.limit:
                self.lines.popleft()
                self.lost += 1
            self.lines.append(line)
            self.ready.notify()

    def close(self) -> None:
        with self.ready:
            self.done = True
            self.ready.notify()


def _read_stdin(buffer: _Buffer) -> None:
    for line in sys.stdin.buffer:
        buffer.put(line if line.endswith(b"\n") else line + b"\n")
    buffer.close()


def _connect(path: str) -> socket.socket:
    while True:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            return sock
        except OSError as exc:
            sock.close()
            print(f"vantage relay: cannot reach {path}: {exc}; retrying", file=sys.stderr, flush=True)
            time.sleep(RECONNECT_S)


def relay(path: str, buffer: _Buffer) -> None:
    sock = _connect(path)
    while True:
        with buffer.ready:
            while not buffer.lines and not buffer.done:
                buffer.ready.wait()
            if not buffer.lines and buffer.done:
                break
            lines = list(buffer.lines)
            buffer.lines.clear()
            lost, buffer.lost = buffer.lost, 0
        if lost:
            lines.insert(0, json.dumps({"type": "vantage-relay", "lost": lost}).encode() + b"\n")
        try:
            sock.sendall(b"".join(lines))
        except OSError:
            sock.close()
            with buffer.ready:  # put them back, oldest first, and reconnect
                buffer.lines.extendleft(reversed(lines))
            sock = _connect(path)
    sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m vantage.collector.bgp.relay SOCKET_PATH", file=sys.stderr)
        return 2
    buffer = _Buffer(BUFFER_LINES)
    threading.Thread(target=_read_stdin, args=(buffer,), daemon=True, name="stdin").start()
    relay(args[0], buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())

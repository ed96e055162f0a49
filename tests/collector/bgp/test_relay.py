"""The relay (ExaBGP's process) as a real process: stdin lines reach the collector's unix
socket, across a collector restart, and it exits when stdin closes."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def accept_lines(server: socket.socket, count: int) -> list[bytes]:
    connection, _ = server.accept()
    connection.settimeout(30)
    data = b""
    with connection:
        while data.count(b"\n") < count:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.splitlines()


def listen(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(30)
    return server


def test_relay_delivers_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "exabgp.sock"
    server = listen(path)
    relay = subprocess.Popen(
        [sys.executable, "-m", "vantage.collector.bgp.relay", str(path)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert relay.stdin is not None
    relay.stdin.write(b'{"n": 1}\n{"n": 2}\n')
    relay.stdin.flush()
    assert accept_lines(server, 2) == [b'{"n": 1}', b'{"n": 2}']  # then the collector goes away
    server.close()
    path.unlink()
    relay.stdin.write(b'{"n": 3}\n')  # while nobody listens: buffered, ExaBGP not blocked
    relay.stdin.flush()
    server = listen(path)  # the collector is back
    relay.stdin.write(b'{"n": 4}\n')
    relay.stdin.close()
    received = accept_lines(server, 2)
    # {"n": 3} may have gone into the dead connection's socket buffer before the error showed:
    # what the relay guarantees is that nothing after the reconnection is lost.
    assert received[-1] == b'{"n": 4}'
    assert relay.wait(timeout=30) == 0
    server.close()


def test_relay_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vantage.collector.bgp.relay"], capture_output=True, timeout=60
    )
    assert done.returncode == 2 and b"usage" in done.stderr

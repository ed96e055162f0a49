"""What the host offers (ICMP sockets, IPv6), and one probe per state dir."""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import TextIO

from vantage.probe.daemon.enroll import FatalError

LOCK_FILE = "probe.lock"


def lock_state_dir(state_dir: Path) -> TextIO:
    """Hold an exclusive lock for the process lifetime: two probes on one state dir
    would upload each other's outbox rows and fight over the credential."""
    handle = open(state_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise FatalError(f"another probe is running with the state dir {state_dir}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def icmp_available() -> bool:
    """An ICMP socket can be opened: unprivileged datagram, or raw with CAP_NET_RAW."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP).close()
            return True
        except OSError:
            continue
    return False


def raw_sockets_available() -> bool:
    """A raw ICMP socket can be opened (root or CAP_NET_RAW): what traceroutes need, beyond the
    unprivileged ICMP socket that echo can use."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    except OSError:
        return False
    return True


def ipv6_routable() -> bool:
    """The host has an IPv6 route out. A UDP connect only looks the route up: no
    packet is sent (and the address is a documentation one)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as route_check:
            route_check.connect(("2001:db8::1", 53))
        return True
    except OSError:
        return False

"""Enumerations shared by probe and collector domain code.

Values equal the vantage.v1 wire numbers, so converting to and from protobuf
is a cast; tests/test_foundation.py checks that they stay equal.
"""

from __future__ import annotations

import enum


class Protocol(enum.IntEnum):
    """Equals vantage.v1.Protocol."""

    UNSPECIFIED = 0
    ICMP = 1
    DNS = 2
    HTTP = 3
    TCP = 4


class Outcome(enum.IntEnum):
    """Equals vantage.v1.Outcome."""

    UNSPECIFIED = 0
    OK = 1
    FAILURE = 2
    MISMATCH = 3  # answered, but not as expected (possible tampering)
    REFUSED_BY_POLICY = 4  # the probe's own safety caps refused; nothing sent


class TaskKind(enum.IntEnum):
    """Equals vantage.v1.TaskKind."""

    UNSPECIFIED = 0
    REACHABILITY = 1  # outside-in: can the world reach the target's AS?
    INTERFERENCE = 2  # inside-out: is the probe's own network interfering?
    DISCOVERY = 3  # census of a block: one echo to one address, feeds block histories only

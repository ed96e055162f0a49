"""The last work plan, kept in the state dir so that a probe restarted while no
collector answers (a reboot during a national shutdown) still measures.

File: 8 bytes (big-endian double: wall time the plan was received, needed to
recompute the clock offset) followed by the serialized vantage.v1.WorkPlan.
Written to a temporary file and renamed, so a crash leaves the old or the new
plan, never half of one. A missing or unreadable file just means "no plan".
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

from vantage.v1 import probe_service_pb2

PLAN_FILE = "last_plan.bin"
_HEADER = struct.Struct(">d")

log = logging.getLogger(__name__)


def save_plan(state_dir: Path, plan: probe_service_pb2.WorkPlan, received_at_unix_s: float) -> None:
    path = state_dir / PLAN_FILE
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(_HEADER.pack(received_at_unix_s) + plan.SerializeToString())
    os.replace(temporary, path)


def load_plan(state_dir: Path) -> tuple[probe_service_pb2.WorkPlan, float] | None:
    path = state_dir / PLAN_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        (received_at,) = _HEADER.unpack_from(data)
        return probe_service_pb2.WorkPlan.FromString(data[_HEADER.size :]), float(received_at)
    except (struct.error, ValueError) as exc:  # protobuf's DecodeError is a ValueError
        log.warning("ignoring unreadable saved plan %s: %s", path, exc)
        return None

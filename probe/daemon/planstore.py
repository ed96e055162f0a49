"""The last work plan, kept in the state dir so that a probe restarted while no
collector answers (a reboot during a national shutdown) still measures.

File: 8 bytes (big-endian double: wall time the plan was received, needed to
recompute the clock offset) followed by the serialized vantage.v1.WorkPlan, as
received. Written to a temporary file and renamed, so a crash leaves the old or
the new plan, never half of one. A missing or unreadable file just means "no
plan". probe/daemon/wire.py parses it back into a plain RoundPlan.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

from vantage.probe.daemon import wire
from vantage.probe.daemon.plan import RoundPlan

PLAN_FILE = "last_plan.bin"
_HEADER = struct.Struct(">d")

log = logging.getLogger(__name__)


def save_plan(state_dir: Path, encoded_plan: bytes, received_at_unix_s: float) -> None:
    """Keep `encoded_plan`, a serialized WorkPlan received at `received_at_unix_s`."""
    path = state_dir / PLAN_FILE
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_bytes(_HEADER.pack(received_at_unix_s) + encoded_plan)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk must not keep half a plan's blocks
        raise
    os.replace(temporary, path)


def load_plan(state_dir: Path) -> RoundPlan | None:
    path = state_dir / PLAN_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        (received_at,) = _HEADER.unpack_from(data)
        return wire.plan_from_bytes(data[_HEADER.size :], float(received_at))
    except (struct.error, ValueError) as exc:  # wire.plan_from_bytes: a bad plan is a ValueError
        log.warning("ignoring unreadable saved plan %s: %s", path, exc)
        return None

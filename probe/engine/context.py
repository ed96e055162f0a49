"""What the engine hands every per-request driver: `await measure(request, context)`.

A driver module named in vantage/protocols.py (other than a raw-socket kind's sweep driver)
has that entry point, so the engine dispatches by the table instead of by a list of kinds; a
driver may also have `start_on_callbacks(request, context, finish, load)` for the requests it
can run without a task (engine/dns/driver.py; the engine looks for it, engine/engine.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vantage.probe.engine.model import AddressGuard

if TYPE_CHECKING:  # the engine makes the Random; this module only names its type
    import random

    from vantage.probe.engine.pacing import Pacer


@dataclass(frozen=True, slots=True)
class DriverContext:
    rng: random.Random  # DNS query ids must be unpredictable to off-path spoofers
    # Every address met that the caller could not check beforehand (EngineLimits.address_guard).
    address_guard: AddressGuard | None = None
    # The run's global rate cap: a driver that sends more than one packet or makes more than one
    # connection attempt per request takes a token for each further one (engine/paced.py).
    pacer: Pacer | None = None

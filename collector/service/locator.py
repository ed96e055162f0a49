"""IP address → (AS, country) for the service, over collector/asn's AsnDatabase, reloadable.

Lookups are memoised per address (probes and targets repeat); a reload swaps
the database and the memo together, so readers never mix two datasets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("vantage.collector")

# Bound the memo: a fleet measures thousands of targets, not millions.
MEMO_LIMIT = 200_000
NOWHERE = (0, "")


class Locator:
    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self._lock = threading.Lock()
        self._db: Any = None
        self._memo: dict[str, tuple[int, str]] = {}
        self.range_count = 0
        self.reload()

    def reload(self) -> int:
        """(Re)load the datasets; returns the number of ranges. Raises on a bad file."""
        if not self.paths:
            with self._lock:
                self._db, self._memo, self.range_count = None, {}, 0
            return 0
        try:
            from vantage.collector.asn.database import AsnDatabase
        except ModuleNotFoundError:
            log.warning("vantage.collector.asn.database is not available: AS lookups return nothing")
            return 0
        db = AsnDatabase.load(list(self.paths))
        with self._lock:
            self._db, self._memo, self.range_count = db, {}, int(db.range_count)
        return self.range_count

    def locate(self, address: str) -> tuple[int, str]:
        """(asn, country) of an address; (0, "") when unknown or not an address."""
        memo = self._memo
        found = memo.get(address)
        if found is not None:
            return found
        db = self._db
        info = None
        if db is not None and address:
            try:
                info = db.lookup(address)
            except ValueError:
                info = None  # a host name or garbage: no location
        found = (int(info.asn), str(info.country)) if info is not None else NOWHERE
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[address] = found
        return found

    def asns(self, addresses: Sequence[str]) -> list[int]:
        """The AS of each address ("" → 0): ingest's per-batch lookup, one dict probe per item
        for the targets seen before (a fleet measures the same targets round after round)."""
        memo = self._memo
        locate = self.locate
        found = []
        for address in addresses:
            known = memo.get(address)
            found.append((known if known is not None else locate(address))[0] if address else 0)
        return found

    def as_name(self, asn: int) -> str:
        db = self._db
        return str(db.as_name(asn)) if db is not None else ""

    # ------------------------------------------------------------ target discovery
    def ipv4_ranges(self, *, asns: Sequence[int] = (), countries: Sequence[str] = ()) -> list[Any]:
        """The loaded IPv4 ranges of these ASes / countries (AsnDatabase.ipv4_ranges)."""
        db = self._db
        return list(db.ipv4_ranges(asns=asns, countries=countries)) if db is not None else []

    def known_asns(self) -> frozenset[int]:
        db = self._db
        return frozenset(db.known_asns()) if db is not None else frozenset()

    def known_countries(self) -> frozenset[str]:
        db = self._db
        return frozenset(db.known_countries()) if db is not None else frozenset()

    @property
    def generation(self) -> int:
        """Changes on every reload: caches of what the datasets say key on it."""
        return id(self._db)

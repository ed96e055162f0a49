"""The collector's address guard: no task reaches a probe for an address it must not probe.

Every task of every kind (discovery, reachability, inside-out) passes `AddressGuard.permitted`
in GetWork before it is handed out: an address in the operator's exclusion list (`--exclude
FILE`, ZMap's blocklist form) or in the IANA special-purpose registries is refused unless an
`--allow-range CIDR` opens it. The rules themselves are pure (collector/discovery/policy.py);
this module reads the file and swaps the policy on reload (SIGHUP, or the ReloadAsnDatabase
RPC): a bad file at start-up stops the collector, a bad file on reload keeps the old policy,
so nothing is ever half applied.

A task without an address (HTTP by host name) is resolved by the probe, which keeps its own
range caps; the collector cannot judge a name.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from vantage.collector.discovery.policy import (
    AddressPolicy,
    ExclusionError,
    Network,
    parse_allow_ranges,
    parse_exclusions,
)

log = logging.getLogger("vantage.collector")


@dataclass(frozen=True, slots=True)
class GuardSource:
    """Where the policy comes from: read once at start, again on each reload."""

    exclude_file: Path | None = None
    allow_ranges: tuple[str, ...] = ()


def load_policy(source: GuardSource) -> AddressPolicy:
    """Read and parse; ExclusionError names the file and line, or the --allow-range value."""
    excluded: tuple[Network, ...] = ()
    if source.exclude_file is not None:
        try:
            text = source.exclude_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ExclusionError(f"--exclude {source.exclude_file}: {exc}") from None
        excluded = parse_exclusions(text, str(source.exclude_file))
    return AddressPolicy(excluded=excluded, allowed=parse_allow_ranges(source.allow_ranges))


class AddressGuard:
    def __init__(self, source: GuardSource = GuardSource()) -> None:
        self.source = source
        self._lock = threading.Lock()
        self.policy = load_policy(source)  # raises at start-up: the collector does not start

    def reload(self) -> int:
        """Re-read the exclusion file; on error the old policy stays (and the error is raised)."""
        policy = load_policy(self.source)
        self.install(policy)
        return len(policy.excluded)

    def install(self, policy: AddressPolicy) -> None:
        with self._lock:
            self.policy = policy
        log.info("address policy in force: %d excluded network(s)", len(policy.excluded))

    def permits(self, address: str) -> bool:
        """May a task be sent to `address`? "" (a name the probe resolves) passes; text that is
        not an address is refused."""
        if not address:
            return True
        try:
            return self.policy.permits(address)
        except ValueError:
            return False

    def reason(self, address: str) -> str:
        try:
            return self.policy.reason(address)
        except ValueError:
            return f"{address!r} is not an address"

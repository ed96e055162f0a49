"""Ingest validation: is one submitted measurement acceptable? (pure)

Each measurement is judged alone: an invalid one is rejected with the field
path, a reason from the wire's RejectReason and a message; its neighbours in
the batch are unaffected (docs/ingest.md). This module reads the wire message
(it is the wire edge of ingest) but does no I/O and reads no clock: `now` and
the limits are arguments.

Hot path (100k+ measurements/s): `check_batch` reads each field once and
checks every rule in one condition, and address parsing is memoised because a
fleet measures the same few thousand targets over and over.
"""

from __future__ import annotations

import enum
import ipaddress
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from vantage.collector.wire.batch_frame import BatchFrame
from vantage.failures import FAILURE_KINDS
from vantage.protocols import KINDS
from vantage.v1 import measurement_pb2

# Probe clocks drift; NTP-synced hosts are within a second, unsynced ones
# within minutes. 5 minutes (the brief's default) is one default round.
DEFAULT_CLOCK_SKEW_S = 300.0
# Raw results are kept 30 days (like OONI's fastpath window before aggregation);
# an older result could not be stored past retention anyway.
DEFAULT_RETENTION_S = 30 * 86400.0
# ~1 MiB per batch of 1000 typical results; probes send 500-1000 per batch.
DEFAULT_MAX_BATCH_ITEMS = 5000
MAX_ID_LENGTH = 64
MEASUREMENT_ID_LENGTH = 36  # a UUID's text
MAX_TEXT_LENGTH = 2048
MAX_NAME_LENGTH = 255  # a DNS name's limit
# The longest address text: an IPv6 address (45 characters) with a zone id of an interface
# name (IFNAMSIZ, 16). Longer text is rejected before it is parsed or remembered.
MAX_ADDRESS_LENGTH = 64
# One measurement's encoded size: the largest real one (an HTTP result with redirects and
# headers, or DNS with its 4 KiB answer) is a few KiB; a bigger item is refused before decoding.
MAX_MEASUREMENT_BYTES = 64 * 1024
# Timings (RTTs, connect, DNS and HTTP times): finite, not negative, and within a round's
# worth of waiting. An infinite or huge value would poison a baseline (issue 19).
MAX_TIMING_MS = 600_000.0

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_KNOWN_PROTOCOLS = frozenset(int(kind.protocol) for kind in KINDS)
_PROTOCOL_NAMES_TEXT = "/".join(kind.name.upper() for kind in KINDS)  # "ICMP/DNS/HTTP/TCP"
_KNOWN_OUTCOMES = frozenset({1, 2, 3, 4})
_OUTCOME_FAILURE = 2
_OUTCOME_REFUSED = 4
_FAILURE_OUTCOMES = frozenset({_OUTCOME_FAILURE, _OUTCOME_REFUSED})


class RejectReason(enum.IntEnum):
    """Equals vantage.v1.RejectReason."""

    UNSPECIFIED = 0
    MALFORMED = 1
    BAD_ADDRESS = 2
    UNKNOWN_PROTOCOL = 3
    TIMESTAMP_IN_FUTURE = 4
    TIMESTAMP_TOO_OLD = 5
    WRONG_PROBE = 6
    BAD_ID = 7
    UNKNOWN_FAILURE = 8
    TASK_NOT_ISSUED = 9  # decided by the collector's issued tasks (collector/service/issued_tasks.py)
    TASK_MISMATCH = 10  # likewise: an issued task, answered about another target


@dataclass(frozen=True, slots=True)
class ValidationLimits:
    clock_skew_s: float = DEFAULT_CLOCK_SKEW_S
    retention_s: float = DEFAULT_RETENTION_S


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    measurement_id: str
    field: str
    reason: RejectReason
    message: str


# Address text → canonical text (None: not an address). A plain dict, not lru_cache: a hit is
# one dict probe (~40 ns, against ~120 ns through lru_cache's wrapper), at 100k+ results/s.
_ADDRESS_MEMO: dict[str, str | None] = {}
ADDRESS_MEMO_LIMIT = 65536


def normalized_address(text: str) -> str | None:
    """Canonical text of an IPv4/IPv6 address (no prefix), None when invalid or longer than
    MAX_ADDRESS_LENGTH. Only valid addresses are remembered (at most ADDRESS_MEMO_LIMIT of them,
    each at most MAX_ADDRESS_LENGTH characters): garbage costs a parse, never memory."""
    try:
        return _ADDRESS_MEMO[text]
    except KeyError:
        pass
    if len(text) > MAX_ADDRESS_LENGTH:
        return None
    try:
        found = str(ipaddress.ip_address(text))
    except ValueError:
        return None
    if len(_ADDRESS_MEMO) >= ADDRESS_MEMO_LIMIT:
        _ADDRESS_MEMO.clear()  # a fleet's targets fit many times over
    _ADDRESS_MEMO[text] = found
    return found


_ICMP_TIMINGS = ("min_rtt_ms", "avg_rtt_ms", "max_rtt_ms", "stddev_rtt_ms", "interval_ms")
_HTTP_TIMINGS = ("dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "total_ms")
# One C call reads a submessage's timings (five attribute reads cost twice as much).
_icmp_timings = operator.attrgetter(*_ICMP_TIMINGS)
_http_timings = operator.attrgetter(*_HTTP_TIMINGS)


def bad_timing(m: measurement_pb2.Measurement, *, replies: bool = True) -> str | None:
    """The field path of the first timing that is not a finite number in [0, MAX_TIMING_MS]
    (NaN fails every comparison, infinity the upper bound), None when all are.

    One condition per protocol for the common case (every timing fine); only a failing
    measurement walks the fields to name the first bad one. `replies=False` leaves out the
    ping replies' RTTs: check_batch does so for the items the wire bytes clear
    (collector/wire/batch_frame.py), since reading each reply is the dearest part."""
    details = m.WhichOneof("details")
    top = MAX_TIMING_MS
    if details == "icmp":
        icmp = m.icmp
        low, mean, high, stddev, interval = _icmp_timings(icmp)
        if not (
            0.0 <= mean <= top
            and 0.0 <= low <= top
            and 0.0 <= high <= top
            and 0.0 <= stddev <= top
            and 0.0 <= interval <= top
        ):
            for name in _ICMP_TIMINGS:
                if not 0.0 <= getattr(icmp, name) <= top:
                    return f"icmp.{name}"
        if replies:
            for index, reply in enumerate(icmp.replies):
                if not 0.0 <= reply.rtt_ms <= top:
                    return f"icmp.replies[{index}].rtt_ms"
        return None
    if details is None:
        return None
    if details == "dns":
        return None if 0.0 <= m.dns.response_time_ms <= top else "dns.response_time_ms"
    if details == "http":
        timings = m.http.timings
        dns_ms, connect_ms, tls_ms, first_byte_ms, total_ms = _http_timings(timings)
        if (
            0.0 <= total_ms <= top
            and 0.0 <= dns_ms <= top
            and 0.0 <= connect_ms <= top
            and 0.0 <= tls_ms <= top
            and 0.0 <= first_byte_ms <= top
        ):
            return None
        for name in _HTTP_TIMINGS:
            if not 0.0 <= getattr(timings, name) <= top:
                return f"http.timings.{name}"
        return None
    return None if 0.0 <= m.tcp.connect_ms <= top else "tcp.connect_ms"


def strings_fit(m: measurement_pb2.Measurement, texts: bool = True) -> bool:
    """Every bounded string of the measurement within its bound (addresses aside: parsing
    them bounds them). `texts=False` reads only the strings bounded by MAX_NAME_LENGTH: an
    item no longer than MAX_TEXT_LENGTH encoded cannot hold a longer text."""
    target = m.target
    return (
        len(target.name) <= MAX_NAME_LENGTH
        and len(m.probe_version) <= MAX_NAME_LENGTH
        and (
            not texts
            or (
                len(target.url) <= MAX_TEXT_LENGTH
                and len(target.target_id) <= MAX_TEXT_LENGTH
                and len(m.task_id) <= MAX_TEXT_LENGTH
                and len(m.failure.detail) <= MAX_TEXT_LENGTH
            )
        )
    )


def is_uuid(text: str) -> bool:
    return len(text) == MEASUREMENT_ID_LENGTH and _UUID.fullmatch(text) is not None


class Checked(NamedTuple):
    """What validation already read from an acceptable measurement (ingest reuses it)."""

    measurement_id: str  # lower-case
    round: int
    task_id: str
    started_at_unix_s: float
    target_address: str  # canonical text, "" when the target had none
    target_id: str
    protocol: int
    outcome: int
    failure: str


def validate_measurement(
    index: int,
    m: measurement_pb2.Measurement,
    *,
    caller_probe_id: str,
    now_unix_s: float,
    limits: ValidationLimits,
) -> Rejection | None:
    """None when the measurement is acceptable, else why not (the first problem found)."""
    checked = check_measurement(
        index, m, caller_probe_id=caller_probe_id, now_unix_s=now_unix_s, limits=limits
    )
    return checked if isinstance(checked, Rejection) else None


def check_measurement(
    index: int,
    m: measurement_pb2.Measurement,
    *,
    caller_probe_id: str,
    now_unix_s: float,
    limits: ValidationLimits,
) -> Rejection | Checked:
    """Like validate_measurement, returning the fields read on the way when acceptable.

    One pass reads each field once and checks every rule in a single condition
    (the common case: the measurement is fine); only when that fails does
    `_explain` walk the rules in order to say which one and why.
    """
    mid = m.id
    started = m.started_at
    started_unix_s = started.seconds + started.nanos * 1e-9
    target = m.target
    address = target.address
    canonical = normalized_address(address) if address else ""
    target_id = target.target_id
    protocol = m.protocol
    outcome = m.outcome
    failure = m.failure
    kind = failure.kind
    round_number = m.round
    task_id = m.task_id
    source = m.source_address
    if (
        len(mid) == 36
        and _UUID.fullmatch(mid) is not None
        and m.probe_id == caller_probe_id
        and protocol in _KNOWN_PROTOCOLS
        and outcome in _KNOWN_OUTCOMES
        and started_unix_s > 0.0
        and now_unix_s - limits.retention_s <= started_unix_s <= now_unix_s + limits.clock_skew_s
        and round_number >= 0
        and canonical is not None
        and (canonical or target.name or target.url)
        and len(target.url) <= MAX_TEXT_LENGTH
        and len(target.name) <= MAX_NAME_LENGTH
        and len(target_id) <= MAX_TEXT_LENGTH
        and (not source or normalized_address(source) is not None)
        and ((kind in FAILURE_KINDS) if kind else outcome not in _FAILURE_OUTCOMES)
        and len(task_id) <= MAX_TEXT_LENGTH
        and len(failure.detail) <= MAX_TEXT_LENGTH
        and len(m.probe_version) <= MAX_NAME_LENGTH
        and bad_timing(m) is None
    ):
        return Checked(
            mid.lower(), round_number, task_id, started_unix_s, canonical, target_id, protocol, outcome, kind
        )
    return _explain(index, m, caller_probe_id=caller_probe_id, now_unix_s=now_unix_s, limits=limits)


# What one result says of its target, beside its address: (protocol, target.target_id).
ResultTarget = tuple[int, str]


class ResultTargets(NamedTuple):
    """ResultTarget of each accepted item, one list per field: plain values in lists cross from
    an ingest process to the collector's at about half the pickling cost of a tuple per item
    (collector/service/issued_tasks.py compares them with the issued tasks)."""

    protocols: list[int]
    target_ids: list[str]

    def row(self, position: int) -> ResultTarget:
        return self.protocols[position], self.target_ids[position]

    def select(self, positions: Sequence[int]) -> ResultTargets:
        protocols, target_ids = self
        return ResultTargets([protocols[p] for p in positions], [target_ids[p] for p in positions])


class BatchCheck(NamedTuple):
    """What `check_batch` found: the acceptable items (in order) and what ingest needs of them."""

    accepted: list[int]  # item indexes
    measurement_ids: bytes  # 16 bytes per accepted item (the UUID's bytes)
    target_addresses: list[str]  # canonical text per accepted item, "" when none
    rounds: set[int]
    first_started_unix_s: float
    last_started_unix_s: float
    rejections: list[Rejection]
    # Per accepted item: its task id and round, and what it says of its target (what
    # collector/service/issued_tasks.py judges).
    task_ids: list[str]
    item_rounds: list[int]
    item_targets: ResultTargets


def check_batch(
    measurements: Sequence[measurement_pb2.Measurement],
    *,
    caller_probe_id: str,
    now_unix_s: float,
    limits: ValidationLimits,
    frame: BatchFrame | None = None,
) -> BatchCheck:
    """check_measurement over a whole batch, at ingest speed.

    The same rules in the same single condition, inlined in one loop: at 100k
    results/s the budget is a few microseconds per result, and each protobuf
    field read costs 0.1-0.3 us, a function call with keywords about as much.
    The id is checked by converting it to its 16 bytes (what storage keeps)
    instead of by the regular expression. tests/collector/wire/test_validation.py
    checks that both functions agree on every rule. `frame`: what the wire bytes
    said about the items (collector/wire/batch_frame.py): the items over
    MAX_MEASUREMENT_BYTES are rejected, and string lengths and ping reply RTTs are
    read only for the items it does not clear; without it every item is read whole.
    """
    oldest = now_unix_s - limits.retention_s
    newest = now_unix_s + limits.clock_skew_s
    memo = _ADDRESS_MEMO
    normalize = normalized_address
    fromhex = bytes.fromhex
    failure_kinds = FAILURE_KINDS
    known_protocols = _KNOWN_PROTOCOLS
    known_outcomes = _KNOWN_OUTCOMES
    failure_outcomes = _FAILURE_OUTCOMES
    timing_problem = bad_timing
    fit = strings_fit
    oversized = frame.oversized if frame is not None else frozenset()
    everything = frozenset(range(len(measurements)))
    long = frame.long if frame is not None else everything
    longer = frame.longer if frame is not None else everything
    suspect = frame.suspect_rtt if frame is not None else everything
    icmp_timings = _icmp_timings
    top = MAX_TIMING_MS
    accepted: list[int] = []
    ids: list[bytes] = []
    addresses: list[str] = []
    task_ids: list[str] = []
    item_rounds: list[int] = []
    protocols: list[int] = []
    target_ids: list[str] = []
    rejections: list[Rejection] = []
    first = float("inf")
    last = float("-inf")
    for index, m in enumerate(measurements):
        mid = m.id
        raw = b""
        if len(mid) == 36 and mid[8] == mid[13] == mid[18] == mid[23] == "-":
            try:
                raw = fromhex(mid.replace("-", ""))
            except ValueError:
                raw = b""
        started = m.started_at
        started_unix_s = started.seconds + started.nanos * 1e-9
        target = m.target
        address = target.address
        canonical = (memo[address] if address in memo else normalize(address)) if address else ""
        protocol = m.protocol
        outcome = m.outcome
        failure = m.failure
        kind = failure.kind
        round_number = m.round
        source = m.source_address
        # Timings: ICMP (half of all results) inline, the rest in bad_timing; a ping's replies
        # only when the wire bytes did not clear them.
        details = m.WhichOneof("details")
        if details == "icmp":
            low, mean, high, stddev, interval = icmp_timings(m.icmp)
            timings_fine = (
                0.0 <= mean <= top
                and 0.0 <= low <= top
                and 0.0 <= high <= top
                and 0.0 <= stddev <= top
                and 0.0 <= interval <= top
                and (index not in suspect or timing_problem(m) is None)
            )
        elif details is None:
            timings_fine = True
        elif details == "dns":
            timings_fine = 0.0 <= m.dns.response_time_ms <= top
        elif details == "tcp":
            timings_fine = 0.0 <= m.tcp.connect_ms <= top
        else:
            timings_fine = timing_problem(m) is None
        if (
            len(raw) == 16
            and m.probe_id == caller_probe_id
            and protocol in known_protocols
            and outcome in known_outcomes
            and started_unix_s > 0.0
            and oldest <= started_unix_s <= newest
            and round_number >= 0
            and canonical is not None
            and (canonical or target.name or target.url)
            and (not source or normalize(source) is not None)
            and ((kind in failure_kinds) if kind else outcome not in failure_outcomes)
            and (index not in long or fit(m, index in longer))
            and timings_fine
            and not (oversized and index in oversized)
        ):
            accepted.append(index)
            ids.append(raw)
            addresses.append(canonical)
            task_ids.append(m.task_id)
            item_rounds.append(round_number)
            protocols.append(protocol)
            target_ids.append(target.target_id)
            if started_unix_s < first:
                first = started_unix_s
            if started_unix_s > last:
                last = started_unix_s
        else:
            rejections.append(
                _explain(
                    index,
                    m,
                    caller_probe_id=caller_probe_id,
                    now_unix_s=now_unix_s,
                    limits=limits,
                    oversized=index in oversized,
                )
            )
    return BatchCheck(
        accepted,
        b"".join(ids),
        addresses,
        set(item_rounds),
        first,
        last,
        rejections,
        task_ids,
        item_rounds,
        ResultTargets(protocols, target_ids),
    )


def _explain(
    index: int,
    m: measurement_pb2.Measurement,
    *,
    caller_probe_id: str,
    now_unix_s: float,
    limits: ValidationLimits,
    oversized: bool = False,
) -> Rejection:
    """The first rule a measurement breaks, with its field, reason and a message."""
    mid = m.id

    def reject(field: str, reason: RejectReason, message: str) -> Rejection:
        return Rejection(index, mid[:MAX_ID_LENGTH], field, reason, message)

    if oversized:
        return reject(
            "", RejectReason.MALFORMED, f"the measurement is over {MAX_MEASUREMENT_BYTES} bytes encoded"
        )

    if not is_uuid(mid):
        shown = repr(mid[:MAX_ID_LENGTH])
        return reject("id", RejectReason.BAD_ID, f"measurement id {shown} is not a UUID")
    if m.probe_id != caller_probe_id:
        return reject(
            "probe_id",
            RejectReason.WRONG_PROBE,
            f"probe_id {m.probe_id[:MAX_ID_LENGTH]!r} is not the authenticated probe {caller_probe_id!r}",
        )
    protocol = m.protocol
    if protocol not in _KNOWN_PROTOCOLS:
        return reject(
            "protocol", RejectReason.UNKNOWN_PROTOCOL, f"protocol {protocol} is not {_PROTOCOL_NAMES_TEXT}"
        )
    outcome = m.outcome
    if outcome not in _KNOWN_OUTCOMES:
        return reject("outcome", RejectReason.MALFORMED, f"outcome {outcome} is not a known outcome")
    started = m.started_at
    seconds, nanos = started.seconds, started.nanos
    if seconds == 0 and nanos == 0:
        return reject("started_at", RejectReason.MALFORMED, "started_at is missing")
    started_unix_s = seconds + nanos * 1e-9
    if started_unix_s <= 0.0:  # checked alone: a retention reaching back before 1970 admits it
        return reject("started_at", RejectReason.MALFORMED, "started_at is not after 1970")
    if started_unix_s > now_unix_s + limits.clock_skew_s:
        ahead = started_unix_s - now_unix_s
        return reject(
            "started_at",
            RejectReason.TIMESTAMP_IN_FUTURE,
            f"started_at is {ahead:.0f} s ahead of the collector's clock"
            f" (tolerance {limits.clock_skew_s:.0f} s)",
        )
    if started_unix_s < now_unix_s - limits.retention_s:
        return reject(
            "started_at",
            RejectReason.TIMESTAMP_TOO_OLD,
            f"started_at is older than the raw-result retention ({limits.retention_s / 86400:.1f} days)",
        )
    round_number = m.round
    if round_number < 0:
        return reject("round", RejectReason.MALFORMED, f"round {round_number} is negative")
    target = m.target
    address = target.address
    canonical = ""
    if address:
        canonical = normalized_address(address) or ""
        if not canonical:
            problem = (
                f"is over {MAX_ADDRESS_LENGTH} characters"
                if len(address) > MAX_ADDRESS_LENGTH
                else "is not an IP address"
            )
            return reject("target.address", RejectReason.BAD_ADDRESS, f"{address[:64]!r} {problem}")
    elif not (target.name or target.url):
        return reject("target", RejectReason.MALFORMED, "target has no address, name or url")
    target_id = target.target_id
    if (
        len(target.url) > MAX_TEXT_LENGTH
        or len(target.name) > MAX_NAME_LENGTH
        or len(target_id) > MAX_TEXT_LENGTH
    ):
        field, limit = (
            ("target.url", MAX_TEXT_LENGTH)
            if len(target.url) > MAX_TEXT_LENGTH
            else ("target.name", MAX_NAME_LENGTH)
            if len(target.name) > MAX_NAME_LENGTH
            else ("target.target_id", MAX_TEXT_LENGTH)
        )
        return reject(field, RejectReason.MALFORMED, f"{field} is over {limit} characters")
    if m.source_address and normalized_address(m.source_address) is None:
        return reject(
            "source_address", RejectReason.BAD_ADDRESS, f"{m.source_address[:64]!r} is not an IP address"
        )
    kind = m.failure.kind
    if kind:
        if kind not in FAILURE_KINDS:
            return reject(
                "failure.kind",
                RejectReason.UNKNOWN_FAILURE,
                f"failure kind {kind[:64]!r} is not in the vocabulary",
            )
    elif outcome in (_OUTCOME_FAILURE, _OUTCOME_REFUSED):
        return reject(
            "failure.kind", RejectReason.MALFORMED, "the outcome is a failure but failure.kind is empty"
        )
    task_id = m.task_id
    if len(task_id) > MAX_TEXT_LENGTH:
        return reject("task_id", RejectReason.MALFORMED, f"task_id is over {MAX_TEXT_LENGTH} characters")
    if len(m.failure.detail) > MAX_TEXT_LENGTH:
        return reject(
            "failure.detail", RejectReason.MALFORMED, f"failure.detail is over {MAX_TEXT_LENGTH} characters"
        )
    if len(m.probe_version) > MAX_NAME_LENGTH:
        return reject(
            "probe_version", RejectReason.MALFORMED, f"probe_version is over {MAX_NAME_LENGTH} characters"
        )
    timing = bad_timing(m)
    if timing is not None:
        return reject(
            timing,
            RejectReason.MALFORMED,
            f"{timing} is not a finite number of ms in [0, {MAX_TIMING_MS:.0f}]",
        )
    # The fast check and the rules above are meant to agree; should they not, the item is still
    # refused alone (an exception here would leave the whole batch unacknowledged).
    return reject("", RejectReason.MALFORMED, "the measurement failed validation")

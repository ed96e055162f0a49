"""Plain records that cross the storage interface (no protobuf, no SQL).

Times are float seconds since the Unix epoch (UTC), named `*_unix_s`: every
backend stores them as numbers, and ingest converts no datetimes per row.
Opaque `payload` fields hold serialized protobuf written and read only by the
collector's conversion code; storage never looks inside.

Raw results cross as `ResultBatchRecord`: one per submitted batch, not one
per result (docs/ingest.md says why).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Container
from dataclasses import dataclass
from typing import NamedTuple


class TokenStatus(enum.Enum):
    """What became of an enrollment attempt."""

    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class CredentialRole(enum.Enum):
    ADMIN = "admin"
    READER = "reader"


@dataclass(frozen=True, slots=True)
class EnrollmentToken:
    token_id: str
    token_hash: str  # sha256 hex of the secret; the secret itself is never stored
    name: str
    created_at_unix_s: float
    expires_at_unix_s: float
    used_at_unix_s: float | None = None
    used_by_probe: str = ""


@dataclass(frozen=True, slots=True)
class ProbeRecord:
    probe_id: str
    name: str
    credential_hash: str  # sha256 hex of the probe's credential
    enrolled_at_unix_s: float
    observed_asn: int = 0
    observed_country: str = ""
    pinned_asn: int = 0
    pinned_country: str = ""
    address: str = ""
    last_contact_unix_s: float | None = None
    results_received: int = 0
    revoked_at_unix_s: float | None = None
    software_version: str = ""
    capability_icmp: bool = False
    capability_ipv6: bool = False

    @property
    def asn(self) -> int:
        """Effective AS: the operator's pin wins over the observed one."""
        return self.pinned_asn or self.observed_asn

    @property
    def country(self) -> str:
        return self.pinned_country or self.observed_country

    @property
    def revoked(self) -> bool:
        return self.revoked_at_unix_s is not None


@dataclass(frozen=True, slots=True)
class ProbeContact:
    """What a probe's call tells us about it (updated on every probe RPC)."""

    probe_id: str
    at_unix_s: float
    address: str
    observed_asn: int
    observed_country: str
    software_version: str = ""
    # None: the call said nothing about capabilities (keep the stored ones).
    capability_icmp: bool | None = None
    capability_ipv6: bool | None = None


@dataclass(frozen=True, slots=True)
class TargetRecord:
    target_id: str  # deterministic from `target`, identical on every collector
    target: str  # as imported: IP address, host name or URL
    kind: str  # "address" | "hostname" | "url"
    protocols: tuple[int, ...]  # vantage.kinds.Protocol values
    country: str
    asn: int
    tags: tuple[str, ...]
    source: str
    address: str  # the IP address when `target` is one (or a URL's literal host), else ""
    added_at_unix_s: float


def merge_target(old: TargetRecord, new: TargetRecord) -> TargetRecord:
    """A re-imported target (the contract of Storage.upsert_targets, for every backend):
    protocols and tags unite, fields the new row gives win, identity and added_at stay."""
    return dataclasses.replace(
        old,
        kind=new.kind,
        protocols=tuple(sorted(set(old.protocols) | set(new.protocols))),
        country=new.country or old.country,
        asn=new.asn or old.asn,
        tags=tuple(dict.fromkeys(old.tags + new.tags)),
        source=new.source or old.source,
        address=new.address or old.address,
    )


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    imported: int
    updated: int


@dataclass(frozen=True, slots=True)
class ResultBatchRecord:
    """The accepted results of one submitted batch, stored as one row (docs/ingest.md).

    Raw results are kept per batch, not per result: one row holds the probe's
    serialized `vantage.v1.ResultBatch` of accepted items, and fixed-width
    columns hold what ingest derived for each item (its 16-byte measurement id
    and the target's AS). Per-result work in the database is then one insert of
    16 bytes into the dedup index, which is what lets ingest keep up with a
    large fleet; the round decodes the payloads of its batches once.
    """

    probe_id: str
    probe_asn: int  # the probe's effective location when it submitted
    probe_country: str
    received_at_unix_s: float
    first_started_at_unix_s: float
    last_started_at_unix_s: float  # retention drops a batch once this is past
    rounds: tuple[int, ...]  # the distinct rounds of its items, ascending
    measurement_ids: bytes  # 16 bytes per item (the UUID's bytes), in payload order
    target_asns: bytes  # uint32 little-endian per item, mapped at ingest (0: unknown)
    payload: bytes  # serialized vantage.v1.ResultBatch: exactly the items above
    # Filled in by storage: item indexes that were duplicates of stored results
    # (not counted, skipped when reading), and the row's key.
    skipped: tuple[int, ...] = ()
    batch_key: int = 0

    @property
    def items(self) -> int:
        return len(self.measurement_ids) // MEASUREMENT_ID_BYTES

    def ids(self) -> list[bytes]:
        """Each item's 16-byte measurement id, in order."""
        return split_ids(self.measurement_ids)

    def stored_ids(self) -> list[bytes]:
        """The ids this batch stored: each item's, but those it skipped as duplicates."""
        skipped = set(self.skipped)
        return [key for index, key in enumerate(self.ids()) if index not in skipped]


MEASUREMENT_ID_BYTES = 16


def measurement_id_bytes(measurement_id: str) -> bytes:
    """A UUID's text → its 16 bytes (ValueError when it is not 32 hex digits and dashes)."""
    raw = bytes.fromhex(measurement_id.replace("-", ""))
    if len(raw) != MEASUREMENT_ID_BYTES:
        raise ValueError(f"{measurement_id!r} is not a UUID")
    return raw


def split_ids(ids: bytes) -> list[bytes]:
    """A blob of 16-byte ids → the ids."""
    return [ids[i : i + MEASUREMENT_ID_BYTES] for i in range(0, len(ids), MEASUREMENT_ID_BYTES)]


def measurement_id_text(raw: bytes) -> str:
    """16 bytes → the canonical lower-case UUID text."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def duplicate_items(ids: bytes, stored_before: Container[bytes]) -> tuple[int, ...]:
    """Indexes of items whose id was already stored, or repeats one earlier in the batch."""
    seen: set[bytes] = set()
    skipped = []
    for index, key in enumerate(split_ids(ids)):
        if key in stored_before or key in seen:
            skipped.append(index)
        seen.add(key)
    return tuple(skipped)


@dataclass(frozen=True, slots=True)
class IngestCounts:
    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class IssuedTask:
    """A task handed to a probe; the round joins measurements to it for the task kind."""

    task_id: str
    round: int
    probe_id: str
    target_id: str
    kind: int  # vantage.kinds.TaskKind
    protocol: int
    # What a result of the task must echo of its target (collector/service/issued_tasks.py):
    # the address the task names, canonical text ("" when it names none: HTTP by host name),
    # Tasks stored before schema 8 have "".
    address: str = ""


class IssuedTarget(NamedTuple):
    """What ingest compares a result with: the round a task was issued in and its target.

    A tuple, and the same one for every probe given that target in that round
    (collector/service/issued_tasks.py shares them): it costs the task map no more than the
    round number alone did."""

    round: int
    protocol: int
    target_id: str
    address: str  # canonical text, "" when the task names none


class RoundMeasurement(NamedTuple):
    """A stored measurement of a round, with its task kind (0 when the task is unknown)."""

    measurement_id: str
    probe_id: str
    probe_asn: int
    probe_country: str
    target_id: str
    target_address: str
    target_asn: int
    protocol: int
    kind: int
    outcome: int
    failure: str
    rtt_ms: float | None
    loss_ratio: float | None
    status_code: int
    body_sha256: str
    body_length: int
    dns_answers: str


@dataclass(frozen=True, slots=True)
class RoundRecord:
    number: int
    start_unix_s: float
    length_s: float
    computed_by: str  # collector instance that claimed the round
    claimed_at_unix_s: float
    computed_at_unix_s: float | None = None  # None while (or if never) computed
    observations: int = 0
    suspect_probes: tuple[str, ...] = ()
    offline_probes: tuple[str, ...] = ()
    algorithm_version: str = ""


@dataclass(frozen=True, slots=True)
class StoredAsVerdict:
    round: int
    round_start_unix_s: float
    asn: int
    country: str
    status: int  # vantage.collector.verdict.model.Status
    confidence: float
    belief: float
    reachability_ratio: float
    payload: bytes  # serialized vantage.v1.AsStatus
    mechanism: int = 0  # vantage.collector.verdict.model.Mechanism (also in the payload)


@dataclass(frozen=True, slots=True)
class StoredCountryVerdict:
    round: int
    round_start_unix_s: float
    country: str
    status: int
    confidence: float
    reachability_ratio: float
    payload: bytes  # serialized vantage.v1.CountryStatus
    mechanism: int = 0


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event_id: str
    kind: int  # vantage.collector.verdict.model.EventKind
    asn: int  # 0 for a country event
    country: str
    started_at_unix_s: float
    ended_at_unix_s: float | None  # None while open
    opened_round: int
    updated_round: int
    payload: bytes  # serialized vantage.v1.Event
    mechanism: int = 0

    @property
    def is_open(self) -> bool:
        return self.ended_at_unix_s is None


@dataclass(frozen=True, slots=True)
class RoundResult:
    """Everything one round's computation stores, written in one transaction."""

    round: RoundRecord
    as_verdicts: tuple[StoredAsVerdict, ...]
    country_verdicts: tuple[StoredCountryVerdict, ...]
    events: tuple[StoredEvent, ...]
    # The whole engine state as one blob (schema 1's form; empty: not written), and/or its rows
    # (row key -> bytes, None deletes the row): only the rows this round changed.
    engine_state: bytes = b""
    engine_rows: tuple[tuple[str, bytes | None], ...] = ()


# ------------------------------------------------------------ target discovery (docs/discovery.md)
DISCOVERY_SOURCE = "discovery"  # TargetRecord.source of a target that discovery selected


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """A discovery campaign as the operator started it. Nothing else about it is state: its
    schedule is a function of time and these fields (collector/discovery/)."""

    campaign_id: str
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2, upper case, sorted
    asns: tuple[int, ...]  # sorted
    census_period_s: float
    refresh_s: float
    created_at_unix_s: float
    cancelled_at_unix_s: float | None = None

    @property
    def active(self) -> bool:
        return self.cancelled_at_unix_s is None


@dataclass(frozen=True, slots=True)
class BlockHistoryRecord:
    """One block's response history: opaque to storage (the discovery core reads it).

    `block` is the CIDR text ("198.51.100.0/24", an IPv6 /48); `history` for an IPv4 /24
    is 256 little-endian uint16 bitmaps (bit 0 = the latest census), shifted to census
    `epoch`. `asn`/`country` are where the datasets placed the block when it was written
    (for per-AS reads)."""

    block: str
    epoch: int
    history: bytes
    asn: int
    country: str
    updated_at_unix_s: float


# ------------------------------------------------------------ revisions (collector/verdict/revisions.py)
@dataclass(frozen=True, slots=True)
class RevisionRecord:
    """The latest revision of a recomputed round."""

    round: int
    revision: int  # 1 for the first recomputation
    revised_at_unix_s: float
    read_at_unix_s: float  # when the revision read the round's batches: later ones are late again
    late_results: int  # late results of the round, summed over its revisions
    late_probes: int
    revised_by: str


@dataclass(frozen=True, slots=True)
class LateBatch:
    """A stored batch holding results of a round computed (or last revised) before it arrived."""

    round: int
    batch_key: int
    probe_id: str
    received_at_unix_s: float


@dataclass(frozen=True, slots=True)
class SupersededEvent:
    """A version of an event a revision replaced, the answer until `valid_until_unix_s` (schema
    7). An empty payload: the revision found the event, which was not known before then."""

    event: StoredEvent
    valid_until_unix_s: float

    @property
    def unknown_before(self) -> bool:
        return not self.event.payload


@dataclass(frozen=True, slots=True)
class SupersededAsVerdict:
    """An AS verdict a revision replaced, and when it was the answer: [valid_from, valid_until)."""

    verdict: StoredAsVerdict
    revision: int
    valid_from_unix_s: float
    valid_until_unix_s: float


@dataclass(frozen=True, slots=True)
class SupersededCountryVerdict:
    verdict: StoredCountryVerdict
    revision: int
    valid_from_unix_s: float
    valid_until_unix_s: float

"""The one storage interface the collector service talks to.

Every backend (in-memory reference, SQLite, PostgreSQL) implements `Storage`
and passes the shared contract suite in tests/collector/storage_contract.py.
Methods are synchronous and thread-safe: the gRPC service calls them from a
worker thread pool. Each mutating method is one transaction: when it returns,
the change is durable (this is what lets the ack follow the commit).

Idempotence is the backends' job: `ingest` stores a measurement id at most
once (duplicates are counted, not errors), `claim_round` lets exactly one
caller claim a round even when several collectors share one database.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence

from vantage.collector.storage.records import (
    BlockHistoryRecord,
    CampaignRecord,
    CredentialRole,
    EnrollmentToken,
    IngestCounts,
    IssuedTarget,
    IssuedTask,
    LateBatch,
    ProbeContact,
    ProbeRecord,
    ResultBatchRecord,
    RevisionRecord,
    RoundRecord,
    RoundResult,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
    SupersededAsVerdict,
    SupersededCountryVerdict,
    SupersededEvent,
    TargetRecord,
    TokenStatus,
    UpsertCounts,
)


class StorageError(Exception):
    """The backend failed (disk full, database gone); the caller answers UNAVAILABLE."""


class Storage(abc.ABC):
    # ------------------------------------------------------------ lifecycle
    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; further calls are errors."""

    @abc.abstractmethod
    def storage_bytes(self) -> int:
        """Approximate size of the stored data (for the metrics)."""

    # ------------------------------------------------------------ operator credentials
    @abc.abstractmethod
    def add_credential(self, credential_hash: str, role: CredentialRole, now_unix_s: float) -> None:
        """Accept a credential (admin or reader) from now on; idempotent."""

    @abc.abstractmethod
    def credential_role(self, credential_hash: str) -> CredentialRole | None:
        """The role of an operator credential, None when unknown."""

    # ------------------------------------------------------------ enrollment and probes
    @abc.abstractmethod
    def add_enrollment_token(self, token: EnrollmentToken) -> None: ...

    @abc.abstractmethod
    def enroll_probe(self, token_hash: str, probe: ProbeRecord, now_unix_s: float) -> TokenStatus:
        """Atomically consume a one-time token and create `probe`; nothing changes unless OK.

        A token already used by a probe whose credential hash equals `probe`'s is OK with
        nothing changed: that probe retrying an enrollment whose answer it lost (its
        proposed credential, saved before enrolling, makes the retry recognisable)."""

    @abc.abstractmethod
    def get_probe(self, probe_id: str) -> ProbeRecord | None: ...

    @abc.abstractmethod
    def probe_by_credential(self, credential_hash: str) -> ProbeRecord | None: ...

    @abc.abstractmethod
    def list_probes(self) -> list[ProbeRecord]:
        """All probes, revoked ones included, ordered by enrollment time then id."""

    @abc.abstractmethod
    def record_contact(self, contact: ProbeContact) -> None:
        """Note a probe's call: last contact, address, observed location, version, capabilities."""

    @abc.abstractmethod
    def revoke_probe(self, probe_id: str, now_unix_s: float) -> ProbeRecord | None:
        """Mark revoked (idempotent: the first revocation time is kept); None when unknown."""

    @abc.abstractmethod
    def pin_probe(self, probe_id: str, asn: int, country: str) -> ProbeRecord | None:
        """Set (or with 0/"" clear) the operator's location pin; None when unknown."""

    # ------------------------------------------------------------ targets
    @abc.abstractmethod
    def upsert_targets(self, targets: Sequence[TargetRecord]) -> UpsertCounts:
        """Insert new targets (by target_id); for known ones, union protocols and tags and
        overwrite country/asn when the new row gives them (keeps added_at)."""

    @abc.abstractmethod
    def list_targets(self) -> list[TargetRecord]:
        """All targets ordered by target_id."""

    @abc.abstractmethod
    def remove_targets(self, keys: Collection[str]) -> int:
        """Remove targets whose id or target string is in `keys`; returns how many. A removed
        target of source "discovery" is declined: sync_discovered_targets never adds it again."""

    # ------------------------------------------------------------ work and ingest
    @abc.abstractmethod
    def record_tasks(self, tasks: Sequence[IssuedTask]) -> None:
        """Remember issued tasks (idempotent on task_id)."""

    @abc.abstractmethod
    def issued_task_targets(self, probe_id: str, task_ids: Collection[str]) -> dict[str, IssuedTarget]:
        """task_id → round and target of those of `task_ids` issued to `probe_id` (the others
        are absent): what ingest believes after a restart, or of work another collector issued."""

    @abc.abstractmethod
    def ingest(self, batch: ResultBatchRecord) -> IngestCounts:
        """Store one batch of accepted results (one transaction, durable on return). Items
        whose measurement id is already stored, or repeated within the batch, count as
        duplicates and are skipped when reading; a batch of nothing but duplicates stores
        no row. Adds the accepted count to the probe's results_received."""

    @abc.abstractmethod
    def stored_measurement_ids(self, ids: Collection[str]) -> set[str]:
        """Which of `ids` (UUID text) are stored, in canonical lower-case form."""

    @abc.abstractmethod
    def count_measurements(self) -> int:
        """Stored results (duplicates not counted)."""

    @abc.abstractmethod
    def round_batches(self, round_number: int) -> list[ResultBatchRecord]:
        """Every stored batch holding at least one result of the round, by batch key
        (a batch may hold other rounds' results too: the reader filters)."""

    @abc.abstractmethod
    def result_batches(self, after_key: int = 0, limit: int = 1000) -> list[ResultBatchRecord]:
        """Stored batches with a key above `after_key`, ascending (export, tests)."""

    @abc.abstractmethod
    def task_kinds(self, round_number: int) -> dict[str, int]:
        """task_id → kind of every task issued in the round."""

    @abc.abstractmethod
    def delete_measurements_before(self, cutoff_unix_s: float) -> int:
        """Retention: drop stored batches whose every result started before the cutoff (with
        their ids), and issued tasks of rounds that started before it. Verdicts and events
        are kept. Returns how many results were dropped."""

    # ------------------------------------------------------------ rounds and verdicts
    @abc.abstractmethod
    def claim_round(self, record: RoundRecord) -> bool:
        """Claim a round for computation; True for exactly one caller per round number."""

    @abc.abstractmethod
    def store_round_result(self, result: RoundResult) -> None:
        """Store one computed round in one transaction: the round record (computed_at set),
        per-AS and per-country verdicts, events (upserted by id; the versions they replace are
        kept, `superseded_events`), the engine state blob when not empty and the engine state
        rows given."""

    @abc.abstractmethod
    def latest_round(self) -> RoundRecord | None:
        """The most recent computed round (computed_at set), None before the first."""

    @abc.abstractmethod
    def load_engine_state(self) -> bytes | None:
        """The engine state blob (schema 1's form), None when none was stored."""

    @abc.abstractmethod
    def load_engine_rows(self) -> dict[str, bytes]:
        """Every stored engine state row by key (empty before the first round that wrote rows).
        A row is replaced or deleted only by a round at least as new as the one that wrote it."""

    @abc.abstractmethod
    def latest_as_verdicts(
        self, *, country: str = "", statuses: Collection[int] = (), after_asn: int = 0, limit: int = 100
    ) -> list[StoredAsVerdict]:
        """Each AS's most recent verdict, filtered, ordered by asn, asn > after_asn (paging)."""

    @abc.abstractmethod
    def latest_as_verdict(self, asn: int) -> StoredAsVerdict | None: ...

    @abc.abstractmethod
    def latest_country_verdict(self, country: str) -> StoredCountryVerdict | None: ...

    @abc.abstractmethod
    def latest_country_verdicts(self) -> list[StoredCountryVerdict]:
        """Each country's most recent verdict, ordered by country."""

    @abc.abstractmethod
    def as_timeline(self, asn: int, since_unix_s: float, until_unix_s: float) -> list[StoredAsVerdict]:
        """Verdicts of one AS with since <= round_start < until, oldest first."""

    @abc.abstractmethod
    def country_timeline(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[StoredCountryVerdict]: ...

    @abc.abstractmethod
    def list_events(
        self,
        *,
        asn: int | None = None,
        country: str | None = None,
        open_only: bool = False,
        updated_round: int | None = None,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
    ) -> list[StoredEvent]:
        """Events matching every given filter, by start time then id. With since/until:
        events overlapping [since, until) (open events extend to now)."""

    # ------------------------------------------------------------ revisions (schema 5)
    @abc.abstractmethod
    def store_revision(
        self,
        result: RoundResult,
        revision: RevisionRecord,
        *,
        withdrawn_events: Collection[str] = (),
        engine_rows_now: Sequence[tuple[str, bytes]] | None = None,
        pending_round: int | None = None,
        event_changes: Sequence[StoredEvent] = (),
    ) -> None:
        """Store a recomputation of a computed round in one transaction: the verdicts it
        replaces move to the superseded tables (valid until `revision.revised_at_unix_s`), the
        round's verdicts become `result`'s, its events are upserted and `withdrawn_events`
        deleted, `revision` is the round's latest, and the round's rows of the engine state
        history become `result.engine_rows`. With `engine_rows_now` (the whole state after the
        last round recomputed), the current engine state rows are replaced by it. `pending_round`
        is the next round the recomputation must still recompute (None: it is done).
        The versions of events it replaces or withdraws are kept as the answer until
        `revision.revised_at_unix_s` (`superseded_events`). `event_changes`: what a finished
        recomputation changed, as WatchEvents sends it, for other collectors to relay
        (`event_changes_after`, stored with `revision.revised_by`)."""

    @abc.abstractmethod
    def pending_revision(self) -> int | None:
        """The next round an unfinished recomputation must recompute, None when none is."""

    @abc.abstractmethod
    def late_batches(self, oldest_round: int, after_key: int = 0) -> list[LateBatch]:
        """(round, batch) pairs of rounds >= oldest_round that were computed and whose batch (key
        above `after_key`) was received after the round was claimed and after its latest revision
        read it; by round then batch key."""

    @abc.abstractmethod
    def unrevisable_batches(
        self, after_key: int, *, oldest_round: int, latest_round: int
    ) -> list[tuple[int, int, str]]:
        """(round, batch key, probe id) of batches with a key above `after_key` holding results
        that can revise nothing: of a round before `oldest_round`, or of a round before
        `latest_round` that was never computed; by key then round."""

    @abc.abstractmethod
    def last_batch_key(self) -> int:
        """The highest stored batch key (0 when none)."""

    @abc.abstractmethod
    def load_engine_rows_before(self, round_number: int) -> dict[str, bytes]:
        """The engine state rows as they were before `round_number` was computed (from the
        history: per key, the newest row of an earlier round; deleted rows left out)."""

    @abc.abstractmethod
    def prune_engine_history(self, oldest_round: int) -> int:
        """Fold history rows of rounds before `oldest_round` that a newer row of a round
        <= oldest_round replaces; returns how many were dropped."""

    @abc.abstractmethod
    def round_revisions(self, first_round: int, last_round: int) -> list[RevisionRecord]:
        """Latest revisions of the rounds in [first, last], by round."""

    @abc.abstractmethod
    def computed_rounds(
        self, first_round: int, last_round: int, limit: int | None = None
    ) -> list[RoundRecord]:
        """Computed rounds (computed_at set) in [first, last], by number; the first `limit` when given."""

    @abc.abstractmethod
    def superseded_as_verdicts(
        self, asn: int, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededAsVerdict]:
        """Replaced verdicts of one AS with since <= round_start < until, by round, revision."""

    @abc.abstractmethod
    def superseded_country_verdicts(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededCountryVerdict]: ...

    @abc.abstractmethod
    def event_changes_after(self, after_key: int, limit: int = 1000) -> list[tuple[int, str, StoredEvent]]:
        """(key, collector that revised, event as sent) of the stored event changes with a key
        above `after_key`, by key, the first `limit`."""

    @abc.abstractmethod
    def last_event_change_key(self) -> int:
        """The highest event change key (0 when none)."""

    @abc.abstractmethod
    def prune_event_changes(self, keep_last: int) -> int:
        """Drop the event changes but the `keep_last` newest (keys go on from the highest);
        returns how many were dropped."""

    @abc.abstractmethod
    def superseded_events(
        self, *, asn: int, country: str | None = None, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededEvent]:
        """Replaced versions of the events of one scope (as list_events filters them: `asn`, and
        `country` when given) overlapping [since, until), by event id, then valid_until.

        Schema 7: each time a round, first computed (valid until its computed_at) or revised
        (until the revision's time), replaces a stored event or withdraws it, the stored version
        is kept; a new event gets a version with an empty payload (not known before then)."""

    # ------------------------------------------------------------ target discovery
    @abc.abstractmethod
    def add_campaign(self, campaign: CampaignRecord) -> None:
        """Store a new discovery campaign (StorageError when its id exists)."""

    @abc.abstractmethod
    def list_campaigns(self) -> list[CampaignRecord]:
        """Every campaign, cancelled ones included, by creation time then id."""

    @abc.abstractmethod
    def cancel_campaign(self, campaign_id: str, now_unix_s: float) -> CampaignRecord | None:
        """Mark cancelled (idempotent: the first time is kept); None when unknown."""

    @abc.abstractmethod
    def store_blocks(self, blocks: Sequence[BlockHistoryRecord]) -> None:
        """Insert or replace block histories by block key, in one transaction."""

    @abc.abstractmethod
    def load_blocks(self, keys: Collection[str]) -> dict[str, BlockHistoryRecord]:
        """The stored histories of these blocks (absent keys are left out)."""

    @abc.abstractmethod
    def list_blocks(self, *, asns: Collection[int] | None = None) -> list[BlockHistoryRecord]:
        """Stored histories (of these ASes when given), ordered by block key."""

    @abc.abstractmethod
    def sync_discovered_targets(
        self, targets: Sequence[TargetRecord], retire: Collection[str]
    ) -> UpsertCounts:
        """Discovery's selection, in one transaction: insert `targets` (source "discovery")
        that are new, replace those stored with source "discovery", leave alone any stored
        with another source (a hand-imported target always wins); remove the targets whose
        id is in `retire` only if their source is "discovery". Declined targets (discovered
        ones the operator removed) are never added again."""

    @abc.abstractmethod
    def declined_targets(self) -> set[str]:
        """Target strings of the discovered targets the operator removed."""

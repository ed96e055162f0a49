"""In-memory storage: the reference implementation of the contract (tests, `--db memory:`).

Plain dicts under one lock; every method is "one transaction" because the
lock is held throughout. Nothing survives the process: never for production.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Sequence

from vantage.collector.storage.base import Storage, StorageError
from vantage.collector.storage.records import (
    DISCOVERY_SOURCE,
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
    duplicate_items,
    measurement_id_bytes,
    measurement_id_text,
    merge_target,
)


class MemoryStorage(Storage):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._credentials: dict[str, CredentialRole] = {}
        self._tokens: dict[str, EnrollmentToken] = {}  # by hash
        self._probes: dict[str, ProbeRecord] = {}
        self._targets: dict[str, TargetRecord] = {}
        self._tasks: dict[str, IssuedTask] = {}
        self._batches: dict[int, ResultBatchRecord] = {}
        self._batch_keys = 0
        self._measurement_ids: dict[bytes, int] = {}  # id → key of the batch that stored it
        self._rounds: dict[int, RoundRecord] = {}
        self._as_verdicts: dict[tuple[int, int], StoredAsVerdict] = {}
        self._latest_as: dict[int, StoredAsVerdict] = {}
        self._country_verdicts: dict[tuple[str, int], StoredCountryVerdict] = {}
        self._latest_country: dict[str, StoredCountryVerdict] = {}
        self._events: dict[str, StoredEvent] = {}
        self._engine_state: tuple[int, bytes] | None = None
        self._engine_rows: dict[str, tuple[int, bytes]] = {}
        self._history: dict[tuple[str, int], bytes | None] = {}  # (row key, round) → row
        self._revisions: dict[int, RevisionRecord] = {}
        self._pending_revision: int | None = None
        self._superseded_as: list[SupersededAsVerdict] = []
        self._superseded_country: list[SupersededCountryVerdict] = []
        self._superseded_events: dict[tuple[str, float], SupersededEvent] = {}
        self._event_changes: list[tuple[int, str, StoredEvent]] = []
        self._campaigns: dict[str, CampaignRecord] = {}
        self._blocks: dict[str, BlockHistoryRecord] = {}
        self._declined: dict[str, str] = {}  # target_id -> target

    def _check(self) -> None:
        if self._closed:
            raise StorageError("storage is closed")

    def close(self) -> None:
        self._closed = True

    def storage_bytes(self) -> int:
        with self._lock:
            return sum(len(b.payload) for b in self._batches.values())

    # ------------------------------------------------------------ credentials
    def add_credential(self, credential_hash: str, role: CredentialRole, now_unix_s: float) -> None:
        with self._lock:
            self._check()
            self._credentials.setdefault(credential_hash, role)

    def credential_role(self, credential_hash: str) -> CredentialRole | None:
        with self._lock:
            self._check()
            return self._credentials.get(credential_hash)

    # ------------------------------------------------------------ enrollment and probes
    def add_enrollment_token(self, token: EnrollmentToken) -> None:
        with self._lock:
            self._check()
            if token.token_hash in self._tokens or any(
                t.token_id == token.token_id for t in self._tokens.values()
            ):
                raise StorageError("duplicate enrollment token")
            self._tokens[token.token_hash] = token

    def enroll_probe(self, token_hash: str, probe: ProbeRecord, now_unix_s: float) -> TokenStatus:
        with self._lock:
            self._check()
            token = self._tokens.get(token_hash)
            if token is None:
                return TokenStatus.UNKNOWN
            if token.used_at_unix_s is not None:
                # The same probe retrying (same proposed credential) after a crash: it is enrolled.
                earlier = self._probes.get(token.used_by_probe or "")
                same = earlier is not None and earlier.credential_hash == probe.credential_hash
                return TokenStatus.OK if same else TokenStatus.USED
            if token.expires_at_unix_s <= now_unix_s:
                return TokenStatus.EXPIRED
            if probe.probe_id in self._probes:
                raise StorageError(f"probe {probe.probe_id} exists")
            self._tokens[token_hash] = dataclasses.replace(
                token, used_at_unix_s=now_unix_s, used_by_probe=probe.probe_id
            )
            self._probes[probe.probe_id] = probe
            return TokenStatus.OK

    def get_probe(self, probe_id: str) -> ProbeRecord | None:
        with self._lock:
            self._check()
            return self._probes.get(probe_id)

    def probe_by_credential(self, credential_hash: str) -> ProbeRecord | None:
        with self._lock:
            self._check()
            return next((p for p in self._probes.values() if p.credential_hash == credential_hash), None)

    def list_probes(self) -> list[ProbeRecord]:
        with self._lock:
            self._check()
            return sorted(self._probes.values(), key=lambda p: (p.enrolled_at_unix_s, p.probe_id))

    def record_contact(self, contact: ProbeContact) -> None:
        with self._lock:
            self._check()
            probe = self._probes.get(contact.probe_id)
            if probe is None:
                return
            self._probes[probe.probe_id] = dataclasses.replace(
                probe,
                last_contact_unix_s=max(probe.last_contact_unix_s or 0.0, contact.at_unix_s),
                address=contact.address,
                observed_asn=contact.observed_asn,
                observed_country=contact.observed_country,
                software_version=contact.software_version or probe.software_version,
                capability_icmp=probe.capability_icmp
                if contact.capability_icmp is None
                else contact.capability_icmp,
                capability_ipv6=probe.capability_ipv6
                if contact.capability_ipv6 is None
                else contact.capability_ipv6,
            )

    def revoke_probe(self, probe_id: str, now_unix_s: float) -> ProbeRecord | None:
        with self._lock:
            self._check()
            probe = self._probes.get(probe_id)
            if probe is None:
                return None
            if probe.revoked_at_unix_s is None:
                probe = self._probes[probe_id] = dataclasses.replace(probe, revoked_at_unix_s=now_unix_s)
            return probe

    def pin_probe(self, probe_id: str, asn: int, country: str) -> ProbeRecord | None:
        with self._lock:
            self._check()
            probe = self._probes.get(probe_id)
            if probe is None:
                return None
            probe = self._probes[probe_id] = dataclasses.replace(
                probe, pinned_asn=asn, pinned_country=country
            )
            return probe

    # ------------------------------------------------------------ targets
    def upsert_targets(self, targets: Sequence[TargetRecord]) -> UpsertCounts:
        imported = updated = 0
        with self._lock:
            self._check()
            for new in targets:
                old = self._targets.get(new.target_id)
                if old is None:
                    self._targets[new.target_id] = new
                    imported += 1
                    continue
                self._targets[new.target_id] = merge_target(old, new)
                updated += 1
        return UpsertCounts(imported=imported, updated=updated)

    def list_targets(self) -> list[TargetRecord]:
        with self._lock:
            self._check()
            return [self._targets[k] for k in sorted(self._targets)]

    def remove_targets(self, keys: Collection[str]) -> int:
        wanted = set(keys)
        with self._lock:
            self._check()
            doomed = [k for k, t in self._targets.items() if k in wanted or t.target in wanted]
            for key in doomed:
                removed = self._targets.pop(key)
                if removed.source == DISCOVERY_SOURCE:
                    self._declined[key] = removed.target
            return len(doomed)

    # ------------------------------------------------------------ work and ingest
    def record_tasks(self, tasks: Sequence[IssuedTask]) -> None:
        with self._lock:
            self._check()
            for task in tasks:
                self._tasks.setdefault(task.task_id, task)

    def issued_task_targets(self, probe_id: str, task_ids: Collection[str]) -> dict[str, IssuedTarget]:
        with self._lock:
            self._check()
            found = (self._tasks.get(task_id) for task_id in task_ids)
            return {
                t.task_id: IssuedTarget(t.round, t.protocol, t.target_id, t.address)
                for t in found
                if t is not None and t.probe_id == probe_id
            }

    def ingest(self, batch: ResultBatchRecord) -> IngestCounts:
        with self._lock:
            self._check()
            ids = batch.measurement_ids
            skipped = duplicate_items(ids, self._measurement_ids.keys())
            accepted = batch.items - len(skipped)
            if accepted:
                self._batch_keys += 1
                key = self._batch_keys
                self._batches[key] = dataclasses.replace(batch, skipped=skipped, batch_key=key)
                for raw in batch.ids():
                    self._measurement_ids.setdefault(raw, key)
                probe = self._probes.get(batch.probe_id)
                if probe is not None:
                    self._probes[batch.probe_id] = dataclasses.replace(
                        probe, results_received=probe.results_received + accepted
                    )
        return IngestCounts(accepted=accepted, duplicates=len(skipped))

    def stored_measurement_ids(self, ids: Collection[str]) -> set[str]:
        with self._lock:
            self._check()
            found = set()
            for text in ids:
                try:
                    raw = measurement_id_bytes(text)
                except ValueError:
                    continue
                if raw in self._measurement_ids:
                    found.add(measurement_id_text(raw))
            return found

    def count_measurements(self) -> int:
        with self._lock:
            self._check()
            return sum(b.items - len(b.skipped) for b in self._batches.values())

    def round_batches(self, round_number: int) -> list[ResultBatchRecord]:
        with self._lock:
            self._check()
            return [b for _, b in sorted(self._batches.items()) if round_number in b.rounds]

    def result_batches(self, after_key: int = 0, limit: int = 1000) -> list[ResultBatchRecord]:
        with self._lock:
            self._check()
            return [b for key, b in sorted(self._batches.items()) if key > after_key][:limit]

    def task_kinds(self, round_number: int) -> dict[str, int]:
        with self._lock:
            self._check()
            return {t.task_id: t.kind for t in self._tasks.values() if t.round == round_number}

    def delete_measurements_before(self, cutoff_unix_s: float) -> int:
        with self._lock:
            self._check()
            doomed = [k for k, b in self._batches.items() if b.last_started_at_unix_s < cutoff_unix_s]
            dropped = 0
            for key in doomed:
                batch = self._batches.pop(key)
                dropped += batch.items - len(batch.skipped)
                for raw in batch.stored_ids():
                    del self._measurement_ids[raw]
            old_rounds = {n for n, r in self._rounds.items() if r.start_unix_s < cutoff_unix_s}
            for task_key in [k for k, t in self._tasks.items() if t.round in old_rounds]:
                del self._tasks[task_key]
            return dropped

    # ------------------------------------------------------------ rounds and verdicts
    def claim_round(self, record: RoundRecord) -> bool:
        with self._lock:
            self._check()
            if record.number in self._rounds:
                return False
            self._rounds[record.number] = dataclasses.replace(record, computed_at_unix_s=None)
            return True

    def _put_verdict_rows(self, result: RoundResult, events_known_at: float | None = None) -> None:
        """A round's verdicts (history and latest) and events, under the caller's lock; a first
        computation and a revision put them alike. The versions of events they replace are kept
        as the answer until `events_known_at` (default: the round's computed_at)."""
        known_at = events_known_at
        if known_at is None:
            known_at = result.round.computed_at_unix_s or result.round.claimed_at_unix_s
        for e in result.events:
            old = self._events.get(e.event_id)
            if old is None:
                self._archive_event(dataclasses.replace(e, payload=b""), known_at)
            elif old.payload != e.payload:
                self._archive_event(old, known_at)
        for v in result.as_verdicts:
            self._as_verdicts[(v.asn, v.round)] = v
            latest = self._latest_as.get(v.asn)
            if latest is None or v.round >= latest.round:
                self._latest_as[v.asn] = v
        for c in result.country_verdicts:
            self._country_verdicts[(c.country, c.round)] = c
            latest_c = self._latest_country.get(c.country)
            if latest_c is None or c.round >= latest_c.round:
                self._latest_country[c.country] = c
        for e in result.events:
            self._events[e.event_id] = e

    def _archive_event(self, event: StoredEvent, valid_until_unix_s: float) -> None:
        self._superseded_events.setdefault(
            (event.event_id, valid_until_unix_s), SupersededEvent(event, valid_until_unix_s)
        )

    def store_round_result(self, result: RoundResult) -> None:
        with self._lock:
            self._check()
            self._rounds[result.round.number] = result.round
            self._put_verdict_rows(result)
            number = result.round.number
            if result.engine_state and (self._engine_state is None or number >= self._engine_state[0]):
                self._engine_state = (number, result.engine_state)
            for key, data in result.engine_rows:
                held = self._engine_rows.get(key)
                if held is not None and held[0] > number:
                    continue
                if data is None:
                    self._engine_rows.pop(key, None)
                else:
                    self._engine_rows[key] = (number, data)
            for key, data in result.engine_rows:
                self._history[(key, number)] = data

    # ------------------------------------------------------------ revisions
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
        with self._lock:
            self._check()
            number = result.round.number
            for change in event_changes:
                change_key = self._event_changes[-1][0] + 1 if self._event_changes else 1
                self._event_changes.append((change_key, revision.revised_by, change))
            held = self._revisions.get(number)
            if held is None:
                record = self._rounds.get(number)
                previous, valid_from = 0, (record.computed_at_unix_s or 0.0) if record else 0.0
            else:
                previous, valid_from = held.revision, held.revised_at_unix_s
            until = revision.revised_at_unix_s
            for key in [k for k in self._as_verdicts if k[1] == number]:
                self._superseded_as.append(
                    SupersededAsVerdict(self._as_verdicts.pop(key), previous, valid_from, until)
                )
            for ckey in [k for k in self._country_verdicts if k[1] == number]:
                self._superseded_country.append(
                    SupersededCountryVerdict(self._country_verdicts.pop(ckey), previous, valid_from, until)
                )
            self._put_verdict_rows(result, until)
            for event_id in withdrawn_events:
                withdrawn = self._events.pop(event_id, None)
                if withdrawn is not None:
                    self._archive_event(withdrawn, until)
            stored = self._rounds.get(number)
            if stored is not None:
                self._rounds[number] = dataclasses.replace(stored, observations=result.round.observations)
            self._revisions[number] = revision
            for hkey in [k for k in self._history if k[1] == number]:
                del self._history[hkey]
            for row_key, data in result.engine_rows:
                self._history[(row_key, number)] = data
            if engine_rows_now is not None:
                self._engine_rows = {key: (number, data) for key, data in engine_rows_now}
            self._pending_revision = pending_round

    def pending_revision(self) -> int | None:
        with self._lock:
            self._check()
            return self._pending_revision

    def late_batches(self, oldest_round: int, after_key: int = 0) -> list[LateBatch]:
        with self._lock:
            self._check()
            late = []
            for key, batch in sorted(self._batches.items()):
                if key <= after_key:
                    continue
                for number in batch.rounds:
                    record = self._rounds.get(number)
                    if number < oldest_round or record is None or record.computed_at_unix_s is None:
                        continue
                    revision = self._revisions.get(number)
                    read_at = revision.read_at_unix_s if revision else float("-inf")
                    received = batch.received_at_unix_s
                    if received > record.claimed_at_unix_s and received > read_at:
                        late.append(LateBatch(number, key, batch.probe_id, received))
            return sorted(late, key=lambda b: (b.round, b.batch_key))

    def unrevisable_batches(
        self, after_key: int, *, oldest_round: int, latest_round: int
    ) -> list[tuple[int, int, str]]:
        with self._lock:
            self._check()
            found = []
            for key, batch in sorted(self._batches.items()):
                if key <= after_key:
                    continue
                for number in batch.rounds:
                    record = self._rounds.get(number)
                    never = record is None or record.computed_at_unix_s is None
                    if number < oldest_round or (never and number < latest_round):
                        found.append((number, key, batch.probe_id))
            return found

    def last_batch_key(self) -> int:
        with self._lock:
            self._check()
            return max(self._batches, default=0)

    def load_engine_rows_before(self, round_number: int) -> dict[str, bytes]:
        with self._lock:
            self._check()
            newest: dict[str, tuple[int, bytes | None]] = {}
            for (key, number), data in self._history.items():
                if number < round_number and (key not in newest or newest[key][0] < number):
                    newest[key] = (number, data)
            return {key: data for key, (_, data) in newest.items() if data is not None}

    def prune_engine_history(self, oldest_round: int) -> int:
        with self._lock:
            self._check()
            newest: dict[str, int] = {}
            for key, number in self._history:
                if number < oldest_round:
                    newest[key] = max(newest.get(key, number), number)
            drop = [(k, n) for k, n in self._history if n < oldest_round and n < newest[k]]
            for hkey in drop:
                del self._history[hkey]
            return len(drop)

    def round_revisions(self, first_round: int, last_round: int) -> list[RevisionRecord]:
        with self._lock:
            self._check()
            return [r for n, r in sorted(self._revisions.items()) if first_round <= n <= last_round]

    def computed_rounds(
        self, first_round: int, last_round: int, limit: int | None = None
    ) -> list[RoundRecord]:
        with self._lock:
            self._check()
            found = [
                r
                for n, r in sorted(self._rounds.items())
                if first_round <= n <= last_round and r.computed_at_unix_s is not None
            ]
            return found if limit is None else found[:limit]

    def superseded_as_verdicts(
        self, asn: int, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededAsVerdict]:
        with self._lock:
            self._check()
            rows = [
                s
                for s in self._superseded_as
                if s.verdict.asn == asn and since_unix_s <= s.verdict.round_start_unix_s < until_unix_s
            ]
            return sorted(rows, key=lambda s: (s.verdict.round, s.revision))

    def superseded_country_verdicts(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededCountryVerdict]:
        with self._lock:
            self._check()
            rows = [
                s
                for s in self._superseded_country
                if s.verdict.country == country
                and since_unix_s <= s.verdict.round_start_unix_s < until_unix_s
            ]
            return sorted(rows, key=lambda s: (s.verdict.round, s.revision))

    def event_changes_after(self, after_key: int, limit: int = 1000) -> list[tuple[int, str, StoredEvent]]:
        with self._lock:
            self._check()
            return [c for c in self._event_changes if c[0] > after_key][:limit]

    def last_event_change_key(self) -> int:
        with self._lock:
            self._check()
            return self._event_changes[-1][0] if self._event_changes else 0

    def prune_event_changes(self, keep_last: int) -> int:
        with self._lock:
            self._check()
            dropped = max(0, len(self._event_changes) - keep_last)
            del self._event_changes[:dropped]
            return dropped

    def superseded_events(
        self, *, asn: int, country: str | None = None, since_unix_s: float, until_unix_s: float
    ) -> list[SupersededEvent]:
        with self._lock:
            self._check()
            return [
                s
                for key, s in sorted(self._superseded_events.items())
                if s.event.asn == asn
                and (country is None or s.event.country == country)
                and (s.event.ended_at_unix_s is None or s.event.ended_at_unix_s > since_unix_s)
                and s.event.started_at_unix_s < until_unix_s
            ]

    def latest_round(self) -> RoundRecord | None:
        with self._lock:
            self._check()
            done = [r for r in self._rounds.values() if r.computed_at_unix_s is not None]
            return max(done, key=lambda r: r.number) if done else None

    def load_engine_state(self) -> bytes | None:
        with self._lock:
            self._check()
            return self._engine_state[1] if self._engine_state else None

    def load_engine_rows(self) -> dict[str, bytes]:
        with self._lock:
            self._check()
            return {key: data for key, (_, data) in self._engine_rows.items()}

    def latest_as_verdicts(
        self, *, country: str = "", statuses: Collection[int] = (), after_asn: int = 0, limit: int = 100
    ) -> list[StoredAsVerdict]:
        with self._lock:
            self._check()
            wanted = set(statuses)
            selected = [
                v
                for asn, v in sorted(self._latest_as.items())
                if asn > after_asn
                and (not country or v.country == country)
                and (not wanted or v.status in wanted)
            ]
            return selected[:limit]

    def latest_as_verdict(self, asn: int) -> StoredAsVerdict | None:
        with self._lock:
            self._check()
            return self._latest_as.get(asn)

    def latest_country_verdict(self, country: str) -> StoredCountryVerdict | None:
        with self._lock:
            self._check()
            return self._latest_country.get(country)

    def latest_country_verdicts(self) -> list[StoredCountryVerdict]:
        with self._lock:
            self._check()
            return [self._latest_country[c] for c in sorted(self._latest_country)]

    def as_timeline(self, asn: int, since_unix_s: float, until_unix_s: float) -> list[StoredAsVerdict]:
        with self._lock:
            self._check()
            return sorted(
                (
                    v
                    for (a, _), v in self._as_verdicts.items()
                    if a == asn and since_unix_s <= v.round_start_unix_s < until_unix_s
                ),
                key=lambda v: v.round,
            )

    def country_timeline(
        self, country: str, since_unix_s: float, until_unix_s: float
    ) -> list[StoredCountryVerdict]:
        with self._lock:
            self._check()
            return sorted(
                (
                    v
                    for (c, _), v in self._country_verdicts.items()
                    if c == country and since_unix_s <= v.round_start_unix_s < until_unix_s
                ),
                key=lambda v: v.round,
            )

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
        with self._lock:
            self._check()
            selected = [
                e
                for e in self._events.values()
                if (asn is None or e.asn == asn)
                and (country is None or e.country == country)
                and (not open_only or e.ended_at_unix_s is None)
                and (updated_round is None or e.updated_round == updated_round)
                and (since_unix_s is None or e.ended_at_unix_s is None or e.ended_at_unix_s > since_unix_s)
                and (until_unix_s is None or e.started_at_unix_s < until_unix_s)
            ]
            return sorted(selected, key=lambda e: (e.started_at_unix_s, e.event_id))

    # ------------------------------------------------------------ target discovery
    def add_campaign(self, campaign: CampaignRecord) -> None:
        with self._lock:
            self._check()
            if campaign.campaign_id in self._campaigns:
                raise StorageError(f"campaign {campaign.campaign_id} exists")
            self._campaigns[campaign.campaign_id] = campaign

    def list_campaigns(self) -> list[CampaignRecord]:
        with self._lock:
            self._check()
            return sorted(self._campaigns.values(), key=lambda c: (c.created_at_unix_s, c.campaign_id))

    def cancel_campaign(self, campaign_id: str, now_unix_s: float) -> CampaignRecord | None:
        with self._lock:
            self._check()
            campaign = self._campaigns.get(campaign_id)
            if campaign is None:
                return None
            if campaign.cancelled_at_unix_s is None:
                campaign = dataclasses.replace(campaign, cancelled_at_unix_s=now_unix_s)
                self._campaigns[campaign_id] = campaign
            return campaign

    def store_blocks(self, blocks: Sequence[BlockHistoryRecord]) -> None:
        with self._lock:
            self._check()
            for block in blocks:
                self._blocks[block.block] = block

    def load_blocks(self, keys: Collection[str]) -> dict[str, BlockHistoryRecord]:
        with self._lock:
            self._check()
            return {key: self._blocks[key] for key in keys if key in self._blocks}

    def list_blocks(self, *, asns: Collection[int] | None = None) -> list[BlockHistoryRecord]:
        with self._lock:
            self._check()
            wanted = None if asns is None else set(asns)
            return [
                self._blocks[key]
                for key in sorted(self._blocks)
                if wanted is None or self._blocks[key].asn in wanted
            ]

    def sync_discovered_targets(
        self, targets: Sequence[TargetRecord], retire: Collection[str]
    ) -> UpsertCounts:
        imported = updated = 0
        with self._lock:
            self._check()
            for new in targets:
                old = self._targets.get(new.target_id)
                if new.target_id in self._declined:
                    continue  # the operator removed it
                if old is None:
                    imported += 1
                elif old.source == DISCOVERY_SOURCE:
                    updated += 1
                    new = dataclasses.replace(new, added_at_unix_s=old.added_at_unix_s)
                else:
                    continue  # hand-imported: it wins
                self._targets[new.target_id] = new
            for key in set(retire):
                old = self._targets.get(key)
                if old is not None and old.source == DISCOVERY_SOURCE:
                    del self._targets[key]
        return UpsertCounts(imported=imported, updated=updated)

    def declined_targets(self) -> set[str]:
        with self._lock:
            self._check()
            return set(self._declined.values())

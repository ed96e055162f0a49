"""ProbeService: Enroll, GetWork, SubmitResults (bidirectional), Heartbeat."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator

import grpc

from vantage.collector.service.app import CollectorApp, abort, storage_call
from vantage.collector.service.auth import PROBE_CREDENTIAL_PREFIX, hash_secret, new_secret
from vantage.collector.service.ingest import (
    BatchOutcome,
    BatchRefused,
    ingest_batch,
    store_checked_batch,
)
from vantage.collector.service.late_ack import RevisePolicy
from vantage.collector.service.work import WorkPlanner
from vantage.collector.storage.base import StorageError
from vantage.collector.storage.records import ProbeRecord, TokenStatus
from vantage.collector.wire.record_messages import duration, timestamp
from vantage.v1 import probe_service_pb2, probe_service_pb2_grpc

log = logging.getLogger("vantage.collector")

TOKEN_PROBLEMS = {
    TokenStatus.UNKNOWN: "unknown enrollment token",
    TokenStatus.USED: "enrollment token already used (tokens are one-time)",
    TokenStatus.EXPIRED: "enrollment token expired",
}
MAX_NAME_LENGTH = 128
# A proposed credential carries at least as much randomness as one the collector makes
# (32 bytes in URL-safe base64: 43 characters), and is bounded.
MIN_PROPOSED_SECRET_CHARS = 43
MAX_PROPOSED_SECRET_CHARS = 128
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def is_probe_credential(text: str) -> bool:
    secret = text.removeprefix(PROBE_CREDENTIAL_PREFIX)
    return (
        text.startswith(PROBE_CREDENTIAL_PREFIX)
        and MIN_PROPOSED_SECRET_CHARS <= len(secret) <= MAX_PROPOSED_SECRET_CHARS
        and set(secret) <= _URL_SAFE
    )


class ProbeService(probe_service_pb2_grpc.ProbeServiceServicer):
    def __init__(self, app: CollectorApp) -> None:
        self.app = app
        self.planner = WorkPlanner(app)

    async def Enroll(
        self,
        request: probe_service_pb2.EnrollRequest,
        context: grpc.aio.ServicerContext[probe_service_pb2.EnrollRequest, probe_service_pb2.EnrollResponse],
    ) -> probe_service_pb2.EnrollResponse:
        app = self.app
        await app.refuse_if_blocked(context, "enrollment")  # a token cannot be known good before use
        if not request.enrollment_token:
            await app.auth_failed(context, "enrollment", "missing enrollment token")
        now = app.clock()
        probe_id = str(uuid.uuid4())
        proposed = request.proposed_credential
        if proposed and not is_probe_credential(proposed):
            await abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"proposed_credential must be {PROBE_CREDENTIAL_PREFIX!r} and at least"
                f" {MIN_PROPOSED_SECRET_CHARS} URL-safe base64 characters",
            )
        credential = proposed or new_secret(PROBE_CREDENTIAL_PREFIX)
        draft = ProbeRecord(
            probe_id=probe_id,
            name=request.name[:MAX_NAME_LENGTH],
            credential_hash=hash_secret(credential),
            enrolled_at_unix_s=now,
        )
        contact = app.contact_of(
            draft,
            context.peer(),
            software_version=request.software_version,
            icmp=request.capabilities.icmp,
            ipv6=request.capabilities.ipv6,
        )
        probe = ProbeRecord(
            probe_id=probe_id,
            name=request.name[:MAX_NAME_LENGTH],
            credential_hash=draft.credential_hash,
            enrolled_at_unix_s=now,
            observed_asn=contact.observed_asn,
            observed_country=contact.observed_country,
            address=contact.address,
            last_contact_unix_s=now,
            software_version=request.software_version[:MAX_NAME_LENGTH],
            capability_icmp=request.capabilities.icmp,
            capability_ipv6=request.capabilities.ipv6,
        )
        status = await storage_call(
            app, context, app.storage.enroll_probe, hash_secret(request.enrollment_token), probe, now
        )
        if status is not TokenStatus.OK:
            await app.auth_failed(context, "enrollment", TOKEN_PROBLEMS[status])
        enrolled = await storage_call(app, context, app.storage.probe_by_credential, draft.credential_hash)
        if enrolled is not None:
            note_raw_sockets(app, enrolled.probe_id, request.capabilities.raw_sockets)
        if enrolled is not None and enrolled.probe_id != probe_id:  # a retry: the probe enrolled before
            log.info("probe %s repeated its enrollment (its first answer was lost)", enrolled.probe_id)
            return probe_service_pb2.EnrollResponse(
                probe_id=enrolled.probe_id, credential=credential, asn=enrolled.asn, country=enrolled.country
            )
        log.info(
            "probe %s enrolled from %s (AS%d %s)", probe_id, probe.address, probe.asn, probe.country or "??"
        )
        return probe_service_pb2.EnrollResponse(
            probe_id=probe_id, credential=credential, asn=probe.asn, country=probe.country
        )

    async def GetWork(
        self,
        request: probe_service_pb2.GetWorkRequest,
        context: grpc.aio.ServicerContext[probe_service_pb2.GetWorkRequest, probe_service_pb2.WorkPlan],
    ) -> probe_service_pb2.WorkPlan:
        app = self.app
        probe = await app.authenticate_probe(context)
        caps = request.capabilities
        has_caps = request.HasField("capabilities")
        contact = app.contact_of(
            probe,
            context.peer(),
            software_version=request.software_version,
            icmp=caps.icmp if has_caps else None,
            ipv6=caps.ipv6 if has_caps else None,
        )
        await storage_call(app, context, app.storage.record_contact, contact)
        if has_caps:
            note_raw_sockets(app, probe.probe_id, caps.raw_sockets)
        refreshed = await storage_call(app, context, app.storage.get_probe, probe.probe_id)
        probe = refreshed or probe
        now = app.clock()
        round_number = app.round_number(now)
        tasks = await storage_call(app, context, self.planner.tasks_for, probe, round_number)
        return probe_service_pb2.WorkPlan(
            round=round_number,
            round_start=timestamp(app.round_start(round_number)),
            round_length=duration(app.config.round_seconds),
            tasks=tasks,
            clock_skew_tolerance=duration(app.config.limits.clock_skew_s),
            server_time=timestamp(now),
            probe_asn=probe.asn,
            probe_country=probe.country,
        )

    async def SubmitResults(
        self,
        request_iterator: AsyncIterator[bytes],
        context: grpc.aio.ServicerContext[bytes, probe_service_pb2.BatchAck],
    ) -> AsyncIterator[probe_service_pb2.BatchAck]:
        """Batches arrive undecoded (see add_to_server): ingest decodes them on a worker thread."""
        app = self.app
        probe = await app.authenticate_probe(context)
        await storage_call(app, context, app.storage.record_contact, app.contact_of(probe, context.peer()))
        refreshed = await storage_call(app, context, app.storage.get_probe, probe.probe_id)
        probe = refreshed or probe
        async for raw in request_iterator:
            # Re-checked per batch (cached): a probe revoked mid-stream is cut off.
            current = await app.authenticate_probe(context)
            if current.asn != probe.asn or current.country != probe.country:
                probe = current
            try:
                outcome = await self._ingest(raw, probe)
            except BatchRefused as exc:
                await abort(context, exc.code, exc.message)
            except StorageError as exc:
                log.error("a batch from probe %s was not stored: %s", probe.probe_id, exc)
                await abort(context, grpc.StatusCode.UNAVAILABLE, f"storage unavailable, resend later: {exc}")
            if app.metrics is not None:
                app.metrics.observe_batch(
                    accepted=outcome.ack.accepted,
                    duplicates=outcome.ack.duplicates,
                    rejected_by_reason=outcome.rejected_by_reason,
                    latency_s=outcome.latency_s,
                )
            yield outcome.ack

    async def Heartbeat(
        self,
        request: probe_service_pb2.HeartbeatRequest,
        context: grpc.aio.ServicerContext[
            probe_service_pb2.HeartbeatRequest, probe_service_pb2.HeartbeatResponse
        ],
    ) -> probe_service_pb2.HeartbeatResponse:
        app = self.app
        probe = await app.authenticate_probe(context)
        contact = app.contact_of(probe, context.peer(), software_version=request.software_version)
        await storage_call(app, context, app.storage.record_contact, contact)
        return probe_service_pb2.HeartbeatResponse(
            server_time=timestamp(app.clock()), next_heartbeat=duration(app.config.heartbeat_s)
        )

    async def _ingest(self, raw: bytes, probe: ProbeRecord) -> BatchOutcome:
        """One batch: large ones are decoded and checked in an ingest process, then stored here."""
        app = self.app
        config = app.config
        now = app.clock()
        if not app.ingest_pool.takes(raw):
            return await app.blocking(
                ingest_batch,
                raw,
                probe=probe,
                storage=app.storage,
                locator=app.locator,
                issued=app.issued_tasks,
                limits=config.limits,
                max_items=config.max_batch_items,
                now_unix_s=now,
                revise_policy=RevisePolicy(config.round_seconds, config.revise_window_s),
            )
        started = time.perf_counter()
        # The worker walks the bytes before decoding them (an oversized batch costs it O(limit)
        # and comes back as BatchRefused); walking them here too cost a pass per batch.
        checked = await app.ingest_pool.check(
            raw,
            probe_id=probe.probe_id,
            limits=config.limits,
            max_items=config.max_batch_items,
            now_unix_s=now,
        )
        ack, by_reason = await app.blocking(
            store_checked_batch,
            checked,
            raw,
            probe=probe,
            storage=app.storage,
            locator=app.locator,
            issued=app.issued_tasks,
            now_unix_s=now,
            revise_policy=RevisePolicy(config.round_seconds, config.revise_window_s),
        )
        return BatchOutcome(ack=ack, rejected_by_reason=by_reason, latency_s=time.perf_counter() - started)


def add_to_server(servicer: ProbeService, server: grpc.aio.Server) -> None:
    """The generated add_ProbeServiceServicer_to_server, except that SubmitResults receives each
    ResultBatch as the bytes on the wire: ingest decodes them off the event loop and stores them
    as they came when every item is accepted (collector/service/ingest.py)."""
    rpc_method_handlers = {
        "Enroll": grpc.unary_unary_rpc_method_handler(
            servicer.Enroll,
            request_deserializer=probe_service_pb2.EnrollRequest.FromString,
            response_serializer=probe_service_pb2.EnrollResponse.SerializeToString,
        ),
        "GetWork": grpc.unary_unary_rpc_method_handler(
            servicer.GetWork,
            request_deserializer=probe_service_pb2.GetWorkRequest.FromString,
            response_serializer=probe_service_pb2.WorkPlan.SerializeToString,
        ),
        "SubmitResults": grpc.stream_stream_rpc_method_handler(
            servicer.SubmitResults,
            request_deserializer=None,  # the raw bytes
            response_serializer=probe_service_pb2.BatchAck.SerializeToString,
        ),
        "Heartbeat": grpc.unary_unary_rpc_method_handler(
            servicer.Heartbeat,
            request_deserializer=probe_service_pb2.HeartbeatRequest.FromString,
            response_serializer=probe_service_pb2.HeartbeatResponse.SerializeToString,
        ),
    }
    service = "vantage.v1.ProbeService"
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, rpc_method_handlers),))
    server.add_registered_method_handlers(service, rpc_method_handlers)  # type: ignore[attr-defined]


def note_raw_sockets(app: CollectorApp, probe_id: str, raw_sockets: bool) -> None:
    """What the probe said of its raw sockets (ProbeCapabilities.raw_sockets) decides its traces."""
    if raw_sockets != (probe_id in app.raw_socket_probes):
        app.raw_socket_probes = app.raw_socket_probes ^ {probe_id}

"""AdminService: enrollment tokens, probe revocation and pins, targets, ASN reload.

Every call needs an admin credential (see app.require_operator).
"""

from __future__ import annotations

import functools
import logging
import re

import grpc

from vantage.collector.service.address_guard import load_policy
from vantage.collector.service.app import CollectorApp, abort, storage_call
from vantage.collector.service.auth import ENROLLMENT_TOKEN_PREFIX, hash_secret, new_id, new_secret
from vantage.collector.service.discovery_rpc import (
    DiscoveryRequestError,
    campaign_to_proto,
    hitlist_blocks,
    new_campaign,
)
from vantage.collector.storage.records import CredentialRole, EnrollmentToken, TargetRecord
from vantage.collector.wire.record_messages import probe_to_proto, target_to_proto, timestamp, unix_s
from vantage.collector.wire.targets import TargetError, target_from_spec
from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc, query_service_pb2

log = logging.getLogger("vantage.collector")

ADMIN = (CredentialRole.ADMIN,)
# ListTargets pages: 1000 rows (a few hundred KiB) per response at most.
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 1000
_COUNTRY = re.compile(r"[A-Z]{2}")


class AdminService(admin_service_pb2_grpc.AdminServiceServicer):
    def __init__(self, app: CollectorApp) -> None:
        self.app = app

    def _probe_proto(self, probe: object) -> query_service_pb2.ProbeRecord:
        return probe_to_proto(
            probe,  # type: ignore[arg-type]
            now_unix_s=self.app.clock(),
            silent_after_s=self.app.config.silent_after_s,
            suspect=getattr(probe, "probe_id", "") in self.app.suspect_probes,
        )

    async def CreateEnrollmentToken(
        self,
        request: admin_service_pb2.CreateEnrollmentTokenRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.CreateEnrollmentTokenRequest, admin_service_pb2.CreateEnrollmentTokenResponse
        ],
    ) -> admin_service_pb2.CreateEnrollmentTokenResponse:
        app = self.app
        await app.require_operator(context, ADMIN)
        now = app.clock()
        expires = (
            unix_s(request.expires_at)
            if request.HasField("expires_at")
            else now + app.config.token_lifetime_s
        )
        if expires <= now:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, "expires_at is in the past")
        secret = new_secret(ENROLLMENT_TOKEN_PREFIX)
        token = EnrollmentToken(
            token_id=new_id(),
            token_hash=hash_secret(secret),
            name=request.name[:128],
            created_at_unix_s=now,
            expires_at_unix_s=expires,
        )
        await storage_call(app, context, app.storage.add_enrollment_token, token)
        log.info("enrollment token %s (%s) created, expires %s", token.token_id, token.name, expires)
        return admin_service_pb2.CreateEnrollmentTokenResponse(
            token=secret, token_id=token.token_id, expires_at=timestamp(expires)
        )

    async def RevokeProbe(
        self,
        request: admin_service_pb2.RevokeProbeRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.RevokeProbeRequest, admin_service_pb2.RevokeProbeResponse
        ],
    ) -> admin_service_pb2.RevokeProbeResponse:
        app = self.app
        await app.require_operator(context, ADMIN)
        probe = await storage_call(app, context, app.storage.revoke_probe, request.probe_id, app.clock())
        if probe is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, f"no probe {request.probe_id!r}")
        app.forget_probe(probe.probe_id)
        log.info("probe %s revoked", probe.probe_id)
        return admin_service_pb2.RevokeProbeResponse(probe=self._probe_proto(probe))

    async def PinProbeLocation(
        self,
        request: admin_service_pb2.PinProbeLocationRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.PinProbeLocationRequest, query_service_pb2.ProbeRecord
        ],
    ) -> query_service_pb2.ProbeRecord:
        app = self.app
        await app.require_operator(context, ADMIN)
        country = request.country.strip().upper()
        if country and _COUNTRY.fullmatch(country) is None:
            await abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"country {request.country!r} is not a 2-letter code",
            )
        probe = await storage_call(
            app, context, app.storage.pin_probe, request.probe_id, request.asn, country
        )
        if probe is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, f"no probe {request.probe_id!r}")
        app.forget_probe(probe.probe_id)
        return self._probe_proto(probe)

    async def ImportTargets(
        self,
        request: admin_service_pb2.ImportTargetsRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.ImportTargetsRequest, admin_service_pb2.ImportTargetsResponse
        ],
    ) -> admin_service_pb2.ImportTargetsResponse:
        app = self.app
        await app.require_operator(context, ADMIN)
        now = app.clock()
        records: list[TargetRecord] = []
        errors: list[admin_service_pb2.RowError] = []
        for spec in request.targets:
            try:
                records.append(target_from_spec(spec, locate=app.locator.locate, now_unix_s=now))
            except TargetError as exc:
                errors.append(
                    admin_service_pb2.RowError(line=spec.line, target=spec.target[:256], message=str(exc))
                )
        counts = await storage_call(app, context, app.storage.upsert_targets, records)
        return admin_service_pb2.ImportTargetsResponse(
            imported=counts.imported, updated=counts.updated, errors=errors
        )

    async def ListTargets(
        self,
        request: admin_service_pb2.ListTargetsRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.ListTargetsRequest, admin_service_pb2.ListTargetsResponse
        ],
    ) -> admin_service_pb2.ListTargetsResponse:
        app = self.app
        await app.require_operator(context, ADMIN)
        page_size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        targets = await storage_call(app, context, app.storage.list_targets)
        selected = [
            t
            for t in targets
            if t.target_id > request.page_token
            and (not request.country or t.country == request.country.upper())
            and (not request.asn or t.asn == request.asn)
            and (not request.source or t.source == request.source)
        ]
        page = selected[:page_size]
        next_token = page[-1].target_id if len(selected) > page_size else ""
        return admin_service_pb2.ListTargetsResponse(
            targets=[target_to_proto(t) for t in page], next_page_token=next_token
        )

    async def RemoveTargets(
        self,
        request: admin_service_pb2.RemoveTargetsRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.RemoveTargetsRequest, admin_service_pb2.RemoveTargetsResponse
        ],
    ) -> admin_service_pb2.RemoveTargetsResponse:
        app = self.app
        await app.require_operator(context, ADMIN)
        removed = await storage_call(app, context, app.storage.remove_targets, list(request.targets))
        return admin_service_pb2.RemoveTargetsResponse(removed=removed)

    async def ReloadAsnDatabase(
        self,
        request: admin_service_pb2.ReloadAsnDatabaseRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.ReloadAsnDatabaseRequest, admin_service_pb2.ReloadAsnDatabaseResponse
        ],
    ) -> admin_service_pb2.ReloadAsnDatabaseResponse:
        app = self.app
        await app.require_operator(context, ADMIN)
        try:
            # The exclusion list first: on a bad file neither is reloaded.
            policy = await app.blocking(load_policy, app.guard.source)
            ranges = await app.blocking(app.locator.reload)
            app.guard.install(policy)
        except (OSError, ValueError) as exc:
            await abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"reload failed, the old datasets stay in use: {exc}",
            )
        log.info("ASN datasets reloaded: %d ranges", ranges)
        return admin_service_pb2.ReloadAsnDatabaseResponse(ranges=ranges)

    # ------------------------------------------------------------ target discovery
    async def StartDiscovery(
        self,
        request: admin_service_pb2.StartDiscoveryRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.StartDiscoveryRequest, admin_service_pb2.DiscoveryCampaign
        ],
    ) -> admin_service_pb2.DiscoveryCampaign:
        app = self.app
        await app.require_operator(context, ADMIN)
        try:
            record = new_campaign(
                request,
                app.locator,
                now_unix_s=app.clock(),
                round_seconds=app.config.round_seconds,
                bounds=app.discovery.bounds,
            )
        except DiscoveryRequestError as exc:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        await storage_call(app, context, app.storage.add_campaign, record)
        log.info("discovery campaign %s started: %s %s", record.campaign_id, record.countries, record.asns)
        progress = await app.blocking(app.discovery.progress, record, app.clock(), app.guard.policy)
        return campaign_to_proto(record, progress)

    async def ListDiscovery(
        self,
        request: admin_service_pb2.ListDiscoveryRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.ListDiscoveryRequest, admin_service_pb2.ListDiscoveryResponse
        ],
    ) -> admin_service_pb2.ListDiscoveryResponse:
        app = self.app
        await app.require_operator(context, ADMIN)
        records = await storage_call(app, context, app.storage.list_campaigns)
        now = app.clock()
        campaigns = []
        for record in records:
            if record.active or request.include_cancelled:
                progress = await app.blocking(app.discovery.progress, record, now, app.guard.policy)
                campaigns.append(campaign_to_proto(record, progress))
        return admin_service_pb2.ListDiscoveryResponse(campaigns=campaigns)

    async def CancelDiscovery(
        self,
        request: admin_service_pb2.CancelDiscoveryRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.CancelDiscoveryRequest, admin_service_pb2.DiscoveryCampaign
        ],
    ) -> admin_service_pb2.DiscoveryCampaign:
        app = self.app
        await app.require_operator(context, ADMIN)
        record = await storage_call(app, context, app.storage.cancel_campaign, request.id, app.clock())
        if record is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, f"no discovery campaign {request.id!r}")
        log.info("discovery campaign %s cancelled", record.campaign_id)
        progress = await app.blocking(app.discovery.progress, record, app.clock(), app.guard.policy)
        return campaign_to_proto(record, progress)

    async def ImportHitlist(
        self,
        request: admin_service_pb2.ImportHitlistRequest,
        context: grpc.aio.ServicerContext[
            admin_service_pb2.ImportHitlistRequest, admin_service_pb2.ImportHitlistResponse
        ],
    ) -> admin_service_pb2.ImportHitlistResponse:
        app = self.app
        await app.require_operator(context, ADMIN)
        now = app.clock()
        result = await app.blocking(hitlist_blocks, request, app.storage, app.locator, app.discovery, now)
        await storage_call(app, context, app.storage.store_blocks, result.blocks)
        if result.blocks:
            asns = {block.asn for block in result.blocks}
            await app.blocking(functools.partial(app.discovery.refresh_targets, now, extra_asns=asns))
        if result.ipv6_targets:
            await storage_call(app, context, app.storage.sync_discovered_targets, result.ipv6_targets, ())
        return admin_service_pb2.ImportHitlistResponse(
            imported=result.imported,
            skipped=result.skipped,
            blocks=len(result.blocks) + result.ipv6_blocks,
            errors=result.errors,
        )

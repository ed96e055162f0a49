"""QueryService: statuses, timelines, live events and the probe list.

Verdicts are stored as serialized wire messages (built once by the round
loop), so a status query is an indexed read plus a parse, never a recompute.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from vantage.collector.service.app import CollectorApp, abort, storage_call
from vantage.collector.service.discovery_rpc import coverage
from vantage.collector.service.timeline_revisions import as_of_error, events_as_of, shown_points
from vantage.collector.wire.record_messages import probe_to_proto, timestamp, unix_s
from vantage.v1 import query_service_pb2, query_service_pb2_grpc

# ListAsStatus pages, as the wire format documents: default 100, at most 1000.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# A timeline without `since` covers the last day (288 five-minute rounds).
DEFAULT_TIMELINE_S = 86400.0
# ListEvents answers the most recent events: default 1000, at most 10000 (an Atom feed
# carries tens; an archive page hundreds).
DEFAULT_EVENTS_LIMIT = 1000
MAX_EVENTS_LIMIT = 10000


class QueryService(query_service_pb2_grpc.QueryServiceServicer):
    def __init__(self, app: CollectorApp) -> None:
        self.app = app

    async def GetAsStatus(
        self,
        request: query_service_pb2.GetAsStatusRequest,
        context: grpc.aio.ServicerContext[query_service_pb2.GetAsStatusRequest, query_service_pb2.AsStatus],
    ) -> query_service_pb2.AsStatus:
        app = self.app
        await app.require_reader(context)
        stored = await storage_call(app, context, app.storage.latest_as_verdict, request.asn)
        if stored is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, f"no verdict for AS{request.asn} yet")
        return query_service_pb2.AsStatus.FromString(stored.payload)

    async def ListAsStatus(
        self,
        request: query_service_pb2.ListAsStatusRequest,
        context: grpc.aio.ServicerContext[
            query_service_pb2.ListAsStatusRequest, query_service_pb2.ListAsStatusResponse
        ],
    ) -> query_service_pb2.ListAsStatusResponse:
        app = self.app
        await app.require_reader(context)
        if request.page_size > MAX_PAGE_SIZE:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"page_size is at most {MAX_PAGE_SIZE}")
        page_size = request.page_size or DEFAULT_PAGE_SIZE
        try:
            after = int(request.page_token) if request.page_token else 0
        except ValueError:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"bad page_token {request.page_token!r}")
        rows = await app.blocking(
            app.storage.latest_as_verdicts,
            country=request.country.upper(),
            statuses=[int(s) for s in request.statuses],
            after_asn=after,
            limit=page_size + 1,
        )
        page = rows[:page_size]
        return query_service_pb2.ListAsStatusResponse(
            statuses=[query_service_pb2.AsStatus.FromString(row.payload) for row in page],
            next_page_token=str(page[-1].asn) if len(rows) > page_size else "",
        )

    async def GetCountryStatus(
        self,
        request: query_service_pb2.GetCountryStatusRequest,
        context: grpc.aio.ServicerContext[
            query_service_pb2.GetCountryStatusRequest, query_service_pb2.CountryStatus
        ],
    ) -> query_service_pb2.CountryStatus:
        app = self.app
        await app.require_reader(context)
        country = request.country.upper()
        stored = await storage_call(app, context, app.storage.latest_country_verdict, country)
        if stored is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, f"no verdict for country {country!r} yet")
        return query_service_pb2.CountryStatus.FromString(stored.payload)

    async def ListCountryStatus(
        self,
        request: query_service_pb2.ListCountryStatusRequest,
        context: grpc.aio.ServicerContext[
            query_service_pb2.ListCountryStatusRequest, query_service_pb2.ListCountryStatusResponse
        ],
    ) -> query_service_pb2.ListCountryStatusResponse:
        app = self.app
        await app.require_reader(context)
        wanted = {int(s) for s in request.statuses}
        rows = await storage_call(app, context, app.storage.latest_country_verdicts)
        return query_service_pb2.ListCountryStatusResponse(
            statuses=[
                query_service_pb2.CountryStatus.FromString(row.payload)
                for row in rows
                if not wanted or row.status in wanted
            ]
        )

    async def GetTimeline(
        self,
        request: query_service_pb2.GetTimelineRequest,
        context: grpc.aio.ServicerContext[query_service_pb2.GetTimelineRequest, query_service_pb2.Timeline],
    ) -> query_service_pb2.Timeline:
        app = self.app
        await app.require_reader(context)
        now = app.clock()
        until = unix_s(request.until) if request.HasField("until") else now + app.config.round_seconds
        since = unix_s(request.since) if request.HasField("since") else until - DEFAULT_TIMELINE_S
        if since >= until:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, "since must be before until")
        scope = request.WhichOneof("scope")
        as_of = unix_s(request.as_of) if request.HasField("as_of") else None
        if as_of is not None:
            problem = await app.blocking(as_of_error, app, as_of)
            if problem:
                await abort(context, grpc.StatusCode.INVALID_ARGUMENT, problem)
        points: list[query_service_pb2.TimelinePoint] = []
        if scope == "asn":
            shown = await app.blocking(shown_points, app, "asn", request.asn, since, until, as_of)
            events = await app.blocking(
                app.storage.list_events, asn=request.asn, since_unix_s=since, until_unix_s=until
            )
        elif scope == "country":
            country = request.country.upper()
            shown = await app.blocking(shown_points, app, "country", country, since, until, as_of)
            events = await app.blocking(
                app.storage.list_events, asn=0, country=country, since_unix_s=since, until_unix_s=until
            )
        else:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, "give asn or country")
        for item in shown:
            row = item.verdict
            point = query_service_pb2.TimelinePoint(
                round=row.round,
                status=row.status,  # type: ignore[arg-type]
                confidence=row.confidence,
                belief=getattr(row, "belief", 0.0),
                reachability_ratio=row.reachability_ratio,
                mechanism=row.mechanism,  # type: ignore[arg-type]
                revision=item.revision,
                late_results=item.late_results,
                late_probes=item.late_probes,
            )
            point.round_start.FromNanoseconds(int(row.round_start_unix_s * 1e9))
            if item.revised_at_unix_s is not None:
                point.revised_at.FromNanoseconds(int(item.revised_at_unix_s * 1e9))
            points.append(point)
        if as_of is not None:
            events = await app.blocking(
                events_as_of,
                app,
                events,
                asn=request.asn if scope == "asn" else 0,
                country=None if scope == "asn" else request.country.upper(),
                since=since,
                until=until,
                as_of=as_of,
            )
        answer = query_service_pb2.Timeline(
            points=points, events=[query_service_pb2.Event.FromString(e.payload) for e in events]
        )
        answer.as_of.FromNanoseconds(int((now if as_of is None else as_of) * 1e9))
        return answer

    async def WatchEvents(
        self,
        request: query_service_pb2.WatchEventsRequest,
        context: grpc.aio.ServicerContext[query_service_pb2.WatchEventsRequest, query_service_pb2.Event],
    ) -> AsyncIterator[query_service_pb2.Event]:
        app = self.app
        await app.require_reader(context)
        country = request.country.upper()
        watcher = app.events.subscribe(asn=request.asn, country=country)
        try:
            if request.include_open:
                opened = await app.blocking(app.storage.list_events, open_only=True)
                for event in opened:
                    if watcher.wants(event):
                        yield query_service_pb2.Event.FromString(event.payload)
            while True:
                item = await watcher.queue.get()
                if item is None:
                    return  # the collector is shutting down
                yield query_service_pb2.Event.FromString(item.payload)
                if watcher.overflowed and watcher.queue.empty():
                    await abort(
                        context,
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        "watcher too slow; reconnect with include_open",
                    )
        finally:
            app.events.unsubscribe(watcher)

    async def ListEvents(
        self,
        request: query_service_pb2.ListEventsRequest,
        context: grpc.aio.ServicerContext[
            query_service_pb2.ListEventsRequest, query_service_pb2.ListEventsResponse
        ],
    ) -> query_service_pb2.ListEventsResponse:
        app = self.app
        await app.require_reader(context)
        if request.limit > MAX_EVENTS_LIMIT:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"limit is at most {MAX_EVENTS_LIMIT}")
        since = unix_s(request.since) if request.HasField("since") else None
        until = unix_s(request.until) if request.HasField("until") else None
        if since is not None and until is not None and since >= until:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, "since must be before until")
        events = await app.blocking(
            app.storage.list_events,
            asn=request.asn or None,
            country=request.country.upper() or None,
            open_only=request.open_only,
            since_unix_s=since,
            until_unix_s=until,
        )
        recent = events[-(request.limit or DEFAULT_EVENTS_LIMIT) :]
        return query_service_pb2.ListEventsResponse(
            events=[query_service_pb2.Event.FromString(e.payload) for e in recent]
        )

    async def GetLatestRound(
        self,
        request: query_service_pb2.GetLatestRoundRequest,
        context: grpc.aio.ServicerContext[
            query_service_pb2.GetLatestRoundRequest, query_service_pb2.RoundInfo
        ],
    ) -> query_service_pb2.RoundInfo:
        app = self.app
        await app.require_reader(context)
        latest = await storage_call(app, context, app.storage.latest_round)
        if latest is None or latest.computed_at_unix_s is None:
            await abort(context, grpc.StatusCode.NOT_FOUND, "no round computed yet")
        return query_service_pb2.RoundInfo(
            round=latest.number,
            start=timestamp(latest.start_unix_s),
            length_s=latest.length_s,
            computed_at=timestamp(latest.computed_at_unix_s),
            algorithm_version=latest.algorithm_version,
        )

    async def ListProbes(
        self,
        request: query_service_pb2.ListProbesRequest,
        context: grpc.aio.ServicerContext[
            query_service_pb2.ListProbesRequest, query_service_pb2.ListProbesResponse
        ],
    ) -> query_service_pb2.ListProbesResponse:
        app = self.app
        await app.require_reader(context)
        probes = await storage_call(app, context, app.storage.list_probes)
        now = app.clock()
        country = request.country.upper()
        return query_service_pb2.ListProbesResponse(
            probes=[
                probe_to_proto(
                    p,
                    now_unix_s=now,
                    silent_after_s=app.config.silent_after_s,
                    suspect=p.probe_id in app.suspect_probes,
                )
                for p in probes
                if (not country or p.country == country) and (not request.asn or p.asn == request.asn)
            ]
        )

    async def GetCoverage(
        self,
        request: query_service_pb2.GetCoverageRequest,
        context: grpc.aio.ServicerContext[query_service_pb2.GetCoverageRequest, query_service_pb2.Coverage],
    ) -> query_service_pb2.Coverage:
        app = self.app
        await app.require_reader(context)
        return await storage_call(app, context, coverage, request, app.storage, app.locator, app.discovery)

"""The collectors behind the site: QueryService over gRPC (asyncio), tried in order.

Several `--collector` addresses are replicas of one deployment (collectors on one
PostgreSQL, docs/scale-out.md): a call that finds one unavailable asks the next.
A NOT_FOUND is an answer (no such country or AS), not a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from vantage.v1 import query_service_pb2, query_service_pb2_grpc

# A page waits this long for one answer before trying the next collector.
CALL_TIMEOUT_S = 10.0
# ListAsStatus's largest page (collector/service/query_service.py MAX_PAGE_SIZE).
PAGE_SIZE = 1000
# A collector that restarts (or starts after the site, as in the lab demo) is asked again within
# seconds; gRPC's default reconnect backoff grows to 120 s, during which every page would be a 503.
CHANNEL_OPTIONS = (("grpc.max_reconnect_backoff_ms", 3000),)
_FAILOVER = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN}


class NotFound(LookupError):
    pass


class Unsupported(LookupError):
    """The collector is older than this call (UNIMPLEMENTED)."""


class CollectorDown(ConnectionError):
    """No collector answered; the message says which and why, for the 503 page."""


@dataclass(frozen=True, slots=True)
class Connection:
    addresses: tuple[str, ...]
    plaintext: bool
    root_certificates: bytes | None
    metadata: tuple[tuple[str, str], ...]


def _stamp(unix_s: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(unix_s * 1e9))
    return stamp


class Source:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._stubs: list[tuple[str, Any, Any]] = []

    def _open(self) -> list[tuple[str, Any, Any]]:
        if not self._stubs:
            for address in self.connection.addresses:
                if self.connection.plaintext:
                    channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
                else:
                    credentials = grpc.ssl_channel_credentials(
                        root_certificates=self.connection.root_certificates
                    )
                    channel = grpc.aio.secure_channel(address, credentials, options=CHANNEL_OPTIONS)
                self._stubs.append((address, channel, query_service_pb2_grpc.QueryServiceStub(channel)))
        return self._stubs

    async def close(self) -> None:
        for _, channel, _ in self._stubs:
            await channel.close()
        self._stubs.clear()

    async def _call(self, method: str, request: Any) -> Any:
        failures = []
        for address, _, stub in self._open():
            try:
                return await getattr(stub, method)(
                    request, metadata=self.connection.metadata, timeout=CALL_TIMEOUT_S
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    raise NotFound(exc.details()) from None
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                    raise Unsupported(f"{address}: {method}") from None
                if exc.code() not in _FAILOVER:
                    raise CollectorDown(f"{address}: {exc.code().name}: {exc.details()}") from None
                failures.append(f"{address}: {exc.code().name}")
        raise CollectorDown("no collector answered (" + "; ".join(failures) + ")")

    async def latest_round(self) -> tuple[int, float, float]:
        """(round, its start, its length) of the latest computed round; zeros before the first."""
        try:
            info = await self._call("GetLatestRound", query_service_pb2.GetLatestRoundRequest())
        except NotFound:
            return 0, 0.0, 0.0
        return info.round, info.start.ToNanoseconds() / 1e9, info.length_s

    async def as_status(self, asn: int) -> query_service_pb2.AsStatus:
        return await self._call("GetAsStatus", query_service_pb2.GetAsStatusRequest(asn=asn))  # type: ignore[no-any-return]

    async def country_status(self, country: str) -> query_service_pb2.CountryStatus:
        return await self._call(  # type: ignore[no-any-return]
            "GetCountryStatus", query_service_pb2.GetCountryStatusRequest(country=country)
        )

    async def country_statuses(self, statuses: Sequence[int] = ()) -> list[query_service_pb2.CountryStatus]:
        request = query_service_pb2.ListCountryStatusRequest(statuses=statuses)  # type: ignore[arg-type]
        return list((await self._call("ListCountryStatus", request)).statuses)

    async def as_page(
        self, *, country: str = "", statuses: Sequence[int] = (), page_size: int = 100, page_token: str = ""
    ) -> query_service_pb2.ListAsStatusResponse:
        request = query_service_pb2.ListAsStatusRequest(
            country=country,
            statuses=statuses,  # type: ignore[arg-type]
            page_size=page_size,
            page_token=page_token,
        )
        return await self._call("ListAsStatus", request)  # type: ignore[no-any-return]

    async def all_as_statuses(
        self, *, country: str = "", statuses: Sequence[int] = ()
    ) -> list[query_service_pb2.AsStatus]:
        found: list[query_service_pb2.AsStatus] = []
        token = ""
        while True:
            page = await self.as_page(
                country=country, statuses=statuses, page_size=PAGE_SIZE, page_token=token
            )
            found.extend(page.statuses)
            token = page.next_page_token
            if not token:
                return found

    async def timeline(
        self, *, asn: int = 0, country: str = "", since_unix_s: float, until_unix_s: float
    ) -> query_service_pb2.Timeline:
        request = query_service_pb2.GetTimelineRequest(since=_stamp(since_unix_s), until=_stamp(until_unix_s))
        if asn:
            request.asn = asn
        else:
            request.country = country
        return await self._call("GetTimeline", request)  # type: ignore[no-any-return]

    async def events(
        self,
        *,
        asn: int = 0,
        country: str = "",
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        open_only: bool = False,
        limit: int = 0,
    ) -> list[query_service_pb2.Event]:
        request = query_service_pb2.ListEventsRequest(
            asn=asn, country=country, open_only=open_only, limit=limit
        )
        if since_unix_s is not None:
            request.since.CopyFrom(_stamp(since_unix_s))
        if until_unix_s is not None:
            request.until.CopyFrom(_stamp(until_unix_s))
        response = await self._call("ListEvents", request)
        return list(response.events)

    async def coverage(self, *, country: str = "", asn: int = 0) -> query_service_pb2.Coverage | None:
        """GetCoverage (the collector's discovery), or None from a collector without it."""
        try:
            return await self._call(  # type: ignore[no-any-return]
                "GetCoverage", query_service_pb2.GetCoverageRequest(country=country, asn=asn)
            )
        except Unsupported:
            return None

    async def probes(self) -> query_service_pb2.ListProbesResponse:
        return await self._call("ListProbes", query_service_pb2.ListProbesRequest())  # type: ignore[no-any-return]


def read_root_certificates(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()

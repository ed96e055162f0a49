"""Silence signals in protobuf: the "probes disconnected" event and the corroborated outage.

collector/service/silence_signal.py decides; this module only writes the messages.
"""

from __future__ import annotations

import dataclasses

from vantage.collector.storage.records import StoredEvent
from vantage.v1 import query_service_pb2

PROBES_DISCONNECTED_KIND = int(query_service_pb2.EVENT_KIND_PROBES_DISCONNECTED)


def disconnected_event(
    *,
    event_id: str,
    asn: int,
    country: str,
    started_at_unix_s: float,
    ended_at_unix_s: float | None,
    confidence: float,
    summary: str,
    opened_round: int,
    updated_round: int,
) -> StoredEvent:
    """A "probes disconnected" event of an AS (asn set; `country` its country, for watchers of
    the country) or of a country (asn 0)."""
    message = query_service_pb2.Event(
        id=event_id,
        kind=query_service_pb2.EVENT_KIND_PROBES_DISCONNECTED,
        state=query_service_pb2.EVENT_STATE_OPEN
        if ended_at_unix_s is None
        else query_service_pb2.EVENT_STATE_CLOSED,
        asn=asn,
        country="" if asn else country,
        confidence=confidence,
        summary=summary,
        opened_round=opened_round,
        updated_round=updated_round,
    )
    message.started_at.FromNanoseconds(int(started_at_unix_s * 1e9))
    if ended_at_unix_s is not None:
        message.ended_at.FromNanoseconds(int(ended_at_unix_s * 1e9))
    return StoredEvent(
        event_id=event_id,
        kind=PROBES_DISCONNECTED_KIND,
        asn=asn,
        country=country,
        started_at_unix_s=started_at_unix_s,
        ended_at_unix_s=ended_at_unix_s,
        opened_round=opened_round,
        updated_round=updated_round,
        payload=message.SerializeToString(),
    )


def corroborated(event: StoredEvent, evidence: str) -> StoredEvent:
    """An outage event whose summary adds what the silence of the scope's probes says."""
    message = query_service_pb2.Event.FromString(event.payload)
    message.summary = f"{message.summary} Corroborated from inside: {evidence}."
    return dataclasses.replace(event, payload=message.SerializeToString())


def event_confidence(event: StoredEvent) -> float:
    return float(query_service_pb2.Event.FromString(event.payload).confidence)

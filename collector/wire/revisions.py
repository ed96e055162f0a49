"""Revised events in protobuf: what WatchEvents sends when a recomputation changes an event.

The only place that writes `vantage.v1.Event.change` and `revised_round` into a stored event's
payload (collector/service/revisions.py decides which events changed).
"""

from __future__ import annotations

import dataclasses

from vantage.collector.storage.records import StoredEvent
from vantage.v1 import query_service_pb2

REVISED = query_service_pb2.EVENT_CHANGE_REVISED
WITHDRAWN = query_service_pb2.EVENT_CHANGE_WITHDRAWN


def marked_event(event: StoredEvent, *, change: int, revised_round: int) -> StoredEvent:
    """`event` with its payload saying why it is sent (REVISED, WITHDRAWN) and by which round."""
    message = query_service_pb2.Event.FromString(event.payload)
    message.change = change  # type: ignore[assignment]
    message.revised_round = revised_round
    return dataclasses.replace(event, payload=message.SerializeToString())


def with_inside_evidence(event: StoredEvent, sentence: str) -> StoredEvent:
    """`event` with the inside view's sentence (collector/verdict/inside_view.py) closing its
    summary."""
    message = query_service_pb2.Event.FromString(event.payload)
    message.summary = f"{message.summary} {sentence}".strip()
    return dataclasses.replace(event, payload=message.SerializeToString())


def open_as_of(event: StoredEvent) -> StoredEvent:
    """`event` as it read while still open (its end not yet known): no end, state OPEN."""
    message = query_service_pb2.Event.FromString(event.payload)
    message.ClearField("ended_at")
    message.state = query_service_pb2.EVENT_STATE_OPEN
    return dataclasses.replace(event, ended_at_unix_s=None, payload=message.SerializeToString())


def event_summary(event: StoredEvent) -> str:
    return str(query_service_pb2.Event.FromString(event.payload).summary)

"""RIPE RIS Live's JSON messages -> FeedMessage (pure).

The format is RIS Live's (https://ris-live.ripe.net/manual/): each websocket text frame is
{"type": ..., "data": {...}}. A "ris_message" of data.type "UPDATE" carries `peer`,
`peer_asn` (a decimal string), `host` (the route collector, "rrc21"), `timestamp` (unix
seconds), `path` (AS numbers; an AS_SET is a nested list), `announcements`
[{"next_hop", "prefixes": [...]}] and `withdrawals` [...]; "RIS_PEER_STATE" carries `state`
("connected" or "down"). "ris_error" carries data.message. Other types (ris_subscribe_ok,
pong, ris_rrc_list, OPEN, KEEPALIVE, NOTIFICATION) say nothing about routes.

A peer is named "HOST/PEER" (host without ".ripe.net"): the same router address can peer with
two collectors, and each session is its own view.
"""

from __future__ import annotations

import json
import math
from typing import Any

from vantage.collector.bgp.messages import FeedMessage, PeerState, as_path_origin, read_asn, read_prefix
from vantage.collector.bgp.model import RouteUpdate
from vantage.collector.bgp.parse_error import ParseError

__all__ = ["FORMAT", "SUBSCRIBE_UPDATES", "parse_ris_live", "parse_ris_live_object"]

FORMAT = "ris-live"
# What the client sends after connecting: every UPDATE and peer state, from every collector
# (a host filter can be added by the source's URL); RIS Live's manual, "ris_subscribe".
SUBSCRIBE_UPDATES: dict[str, Any] = {"type": "ris_subscribe", "data": {"type": "UPDATE"}}
# RIS Live marks the end of a table replay with this pseudo-prefix in announcements.
_END_OF_RIB = "eor"


def parse_ris_live(text: str | bytes) -> FeedMessage:
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError("message", "bad_json", f"not JSON: {exc}") from None
    return parse_ris_live_object(frame)


def parse_ris_live_object(frame: object) -> FeedMessage:
    if not isinstance(frame, dict):
        raise ParseError("message", "bad_shape", "not a JSON object")
    kind = frame.get("type")
    data = frame.get("data")
    if kind == "ris_error":
        message = data.get("message") if isinstance(data, dict) else data
        return FeedMessage(notice=f"ris_error: {message}")
    if kind != "ris_message":
        if not isinstance(kind, str):
            raise ParseError("type", "bad_shape", f"{kind!r} is not a message type")
        return FeedMessage()
    if not isinstance(data, dict):
        raise ParseError("data", "bad_shape", "not an object")
    subtype = data.get("type")
    if subtype == "UPDATE":
        return _update(data)
    if subtype == "RIS_PEER_STATE":
        return _peer_state(data)
    return FeedMessage()


def _peer_name(data: dict[str, Any]) -> str:
    peer = data.get("peer")
    if not isinstance(peer, str) or not peer:
        raise ParseError("data.peer", "missing_field", f"{peer!r} is not a peer address")
    host = data.get("host")
    if not isinstance(host, str) or not host:
        raise ParseError("data.host", "missing_field", f"{host!r} is not a collector name")
    return f"{host.removesuffix('.ripe.net')}/{peer}"


def _timestamp(data: dict[str, Any]) -> float:
    value = data.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ParseError("data.timestamp", "bad_timestamp", f"{value!r} is not unix seconds")
    return float(value)


def _peer_state(data: dict[str, Any]) -> FeedMessage:
    state = data.get("state")
    if state not in ("connected", "down"):
        raise ParseError("data.state", "bad_state", f"{state!r} is neither 'connected' nor 'down'")
    peer = _peer_name(data)
    return FeedMessage(peer_states=(PeerState(peer, state == "connected", _timestamp(data), str(state)),))


def _path(value: object) -> tuple[tuple[int, ...], int | None]:
    if value is None:
        return (), None
    if not isinstance(value, list):
        raise ParseError("data.path", "bad_path", f"{value!r} is not a list")
    segments: list[tuple[bool, list[int]]] = []
    for index, element in enumerate(value):
        if isinstance(element, list):
            members = [read_asn(asn, f"data.path[{index}]") for asn in element]
            segments.append((True, members))
        else:
            asn = read_asn(element, f"data.path[{index}]")
            if segments and not segments[-1][0]:
                segments[-1][1].append(asn)
            else:
                segments.append((False, [asn]))
    return as_path_origin(segments)


def _update(data: dict[str, Any]) -> FeedMessage:
    peer = _peer_name(data)
    peer_asn = read_asn(data.get("peer_asn"), "data.peer_asn")
    at = _timestamp(data)
    updates: list[RouteUpdate] = []
    end_of_rib = False
    withdrawals = data.get("withdrawals", [])
    if not isinstance(withdrawals, list):
        raise ParseError("data.withdrawals", "bad_shape", "not a list")
    for index, text in enumerate(withdrawals):
        prefix = read_prefix(text, f"data.withdrawals[{index}]")
        updates.append(RouteUpdate(peer, peer_asn, prefix, True, (), None, at))
    announcements = data.get("announcements", [])
    if not isinstance(announcements, list):
        raise ParseError("data.announcements", "bad_shape", "not a list")
    path: tuple[int, ...] = ()
    origin: int | None = None
    if announcements:
        path, origin = _path(data.get("path"))
        if not path:
            raise ParseError("data.path", "bad_path", "an announcement without an AS path")
    for index, announcement in enumerate(announcements):
        where = f"data.announcements[{index}]"
        if not isinstance(announcement, dict):
            raise ParseError(where, "bad_shape", "not an object")
        prefixes = announcement.get("prefixes")
        if not isinstance(prefixes, list):
            raise ParseError(f"{where}.prefixes", "bad_shape", f"{prefixes!r} is not a list")
        for position, text in enumerate(prefixes):
            if text == _END_OF_RIB:
                end_of_rib = True
                continue
            prefix = read_prefix(text, f"{where}.prefixes[{position}]")
            updates.append(RouteUpdate(peer, peer_asn, prefix, False, path, origin, at))
    return FeedMessage(updates=tuple(updates), end_of_rib=(peer,) if end_of_rib else ())

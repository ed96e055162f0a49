"""MRT records (RFC 6396), as mrtparse decodes them, -> FeedMessage (pure).

mrtparse (https://github.com/t2mune/mrtparse) reads the binary format; each record's `data` is
a dict whose enumerated fields are {number: name} (e.g. "type": {13: "TABLE_DUMP_V2"}). This
module reads those dicts; mrt_files.py opens the files. Read:
  - TABLE_DUMP_V2 (type 13): the PEER_INDEX_TABLE (subtype 1) names the peers, each
    RIB_IPV4_UNICAST / RIB_IPV6_UNICAST record (subtypes 2, 4; their ADD-PATH forms 8, 10,
    RFC 8050) gives one prefix's route from each peer: announcements;
  - BGP4MP (type 16, and BGP4MP_ET, 17): UPDATE messages (subtypes 1, 4, 6, 7 and their
    ADD-PATH forms 8-11) give IPv4 withdrawals and NLRI, and MP_REACH / MP_UNREACH for IPv6
    (unicast only); STATE_CHANGE (subtypes 0, 5) into or out of Established is a session up
    or down.
Other records (OSPF, multicast, VPN families) say nothing this table needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vantage.collector.bgp.messages import FeedMessage, PeerState, as_path_origin, read_asn, read_prefix
from vantage.collector.bgp.model import RouteUpdate
from vantage.collector.bgp.parse_error import ParseError

__all__ = ["FORMAT", "MrtDecoder"]

FORMAT = "mrt"
_TABLE_DUMP_V2 = 13
_BGP4MP = frozenset({16, 17})
_PEER_INDEX_TABLE = 1
_RIB_UNICAST = frozenset({2, 4, 8, 10})
_STATE_CHANGE = frozenset({0, 5})
_MESSAGE = frozenset({1, 4, 6, 7, 8, 9, 10, 11})
_UPDATE = 2
_ESTABLISHED = 6
_AS_PATH, _AS4_PATH, _MP_REACH, _MP_UNREACH = 2, 17, 14, 15
_AS_SET, _AS_SEQUENCE = 1, 2
_AS_TRANS = 23456  # RFC 6793: an AS_PATH holding it is completed by AS4_PATH
_UNICAST = 1


def _code(value: object, field: str) -> int:
    """The number of an mrtparse {number: name} field."""
    if isinstance(value, dict) and len(value) == 1:
        (number,) = value
        if isinstance(number, int):
            return number
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ParseError(field, "bad_record", f"{value!r} is not an MRT code")


def _timestamp(data: Mapping[str, Any]) -> float:
    return float(_code(data.get("timestamp"), "timestamp"))


class MrtDecoder:
    """Decodes one file's records in order (a RIB record needs the file's peer index table)."""

    def __init__(self) -> None:
        self._peers: list[tuple[str, int]] = []

    def decode(self, data: Mapping[str, Any]) -> FeedMessage:
        kind = _code(data.get("type"), "type")
        subtype = _code(data.get("subtype"), "subtype")
        if kind == _TABLE_DUMP_V2:
            if subtype == _PEER_INDEX_TABLE:
                self._peer_index(data)
                return FeedMessage()
            if subtype in _RIB_UNICAST:
                return self._rib(data)
            return FeedMessage()
        if kind in _BGP4MP:
            if subtype in _STATE_CHANGE:
                return _state_change(data)
            if subtype in _MESSAGE:
                return _message(data)
        return FeedMessage()

    def _peer_index(self, data: Mapping[str, Any]) -> None:
        entries = data.get("peer_entries")
        if not isinstance(entries, list):
            raise ParseError("peer_entries", "bad_record", "not a list")
        self._peers = [
            (str(entry.get("peer_ip")), read_asn(entry.get("peer_as"), f"peer_entries[{index}].peer_as"))
            for index, entry in enumerate(entries)
        ]

    def _rib(self, data: Mapping[str, Any]) -> FeedMessage:
        prefix = read_prefix(f"{data.get('prefix')}/{data.get('length')}", "prefix")
        at = _timestamp(data)
        entries = data.get("rib_entries")
        if not isinstance(entries, list):
            raise ParseError("rib_entries", "bad_record", "not a list")
        updates = []
        for index, entry in enumerate(entries):
            where = f"rib_entries[{index}]"
            peer_index = entry.get("peer_index")
            if not isinstance(peer_index, int) or not 0 <= peer_index < len(self._peers):
                raise ParseError(f"{where}.peer_index", "bad_record", f"{peer_index!r}: no such peer")
            peer, peer_asn = self._peers[peer_index]
            attributes = entry.get("path_attributes", [])
            if not _has_as_path(attributes):
                # The dumping router's own route (BIRD dumps its static and device routes with
                # no attributes, as "peer" ::): no BGP peer heard it, nothing to count.
                continue
            path, origin = _path(attributes, f"{where}.path_attributes")
            updates.append(RouteUpdate(peer, peer_asn, prefix, False, path, origin, at))
        return FeedMessage(updates=tuple(updates))


def _state_change(data: Mapping[str, Any]) -> FeedMessage:
    old = _code(data.get("old_state"), "old_state")
    new = _code(data.get("new_state"), "new_state")
    if (old == _ESTABLISHED) == (new == _ESTABLISHED):
        return FeedMessage()
    peer = str(data.get("peer_ip"))
    return FeedMessage(peer_states=(PeerState(peer, new == _ESTABLISHED, _timestamp(data), f"state {new}"),))


def _message(data: Mapping[str, Any]) -> FeedMessage:
    message = data.get("bgp_message")
    if not isinstance(message, dict):
        raise ParseError("bgp_message", "bad_record", "not a BGP message")
    if _code(message.get("type"), "bgp_message.type") != _UPDATE:
        return FeedMessage()
    peer = str(data.get("peer_ip"))
    peer_asn = read_asn(data.get("peer_as"), "peer_as")
    at = _timestamp(data)
    attributes = message.get("path_attributes", [])
    updates: list[RouteUpdate] = []

    def withdraw(routes: Sequence[Mapping[str, Any]], field: str) -> None:
        for index, route in enumerate(routes):
            text = f"{route.get('prefix')}/{route.get('length')}"
            prefix = read_prefix(text, f"{field}[{index}]")
            updates.append(RouteUpdate(peer, peer_asn, prefix, True, (), None, at))

    withdraw(message.get("withdrawn_routes", []), "bgp_message.withdrawn_routes")
    announced: list[tuple[Sequence[Mapping[str, Any]], str]] = []
    if message.get("nlri"):
        announced.append((message["nlri"], "bgp_message.nlri"))
    for index, attribute in enumerate(attributes):
        kind = _code(attribute.get("type"), f"bgp_message.path_attributes[{index}].type")
        value = attribute.get("value")
        if kind not in (_MP_REACH, _MP_UNREACH) or not isinstance(value, dict):
            continue
        if _code(value.get("safi"), f"bgp_message.path_attributes[{index}].value.safi") != _UNICAST:
            continue
        where = f"bgp_message.path_attributes[{index}].value"
        if kind == _MP_UNREACH:
            withdraw(value.get("withdrawn_routes", []), f"{where}.withdrawn_routes")
        elif value.get("nlri"):
            announced.append((value["nlri"], f"{where}.nlri"))
    if announced:
        path, origin = _path(attributes, "bgp_message.path_attributes")
        for routes, field in announced:
            for index, route in enumerate(routes):
                prefix = read_prefix(f"{route.get('prefix')}/{route.get('length')}", f"{field}[{index}]")
                updates.append(RouteUpdate(peer, peer_asn, prefix, False, path, origin, at))
    return FeedMessage(updates=tuple(updates))


def _segments(value: object, field: str) -> list[tuple[bool, list[int]]]:
    if not isinstance(value, list):
        raise ParseError(field, "bad_path", "not a list of segments")
    segments = []
    for index, segment in enumerate(value):
        kind = _code(segment.get("type"), f"{field}[{index}].type")
        if kind not in (_AS_SET, _AS_SEQUENCE):
            continue  # confederation segments are local to the peer's confederation
        members = segment.get("value")
        if not isinstance(members, list):
            raise ParseError(f"{field}[{index}].value", "bad_path", "not a list")
        asns = [read_asn(asn, f"{field}[{index}].value[{i}]") for i, asn in enumerate(members)]
        segments.append((kind == _AS_SET, asns))
    return segments


def _has_as_path(attributes: object) -> bool:
    return isinstance(attributes, list) and any(
        isinstance(attribute, dict) and _code(attribute.get("type"), "type") == _AS_PATH
        for attribute in attributes
    )


def _path(attributes: object, field: str) -> tuple[tuple[int, ...], int | None]:
    if not isinstance(attributes, list):
        raise ParseError(field, "bad_record", "not a list of attributes")
    as_path: list[tuple[bool, list[int]]] | None = None
    as4_path: list[tuple[bool, list[int]]] | None = None
    for index, attribute in enumerate(attributes):
        kind = _code(attribute.get("type"), f"{field}[{index}].type")
        if kind == _AS_PATH:
            as_path = _segments(attribute.get("value"), f"{field}[{index}].value")
        elif kind == _AS4_PATH:
            as4_path = _segments(attribute.get("value"), f"{field}[{index}].value")
    if as_path is None:
        raise ParseError(field, "bad_path", "an announcement without AS_PATH")
    if as4_path and any(_AS_TRANS in members for _, members in as_path):
        as_path = as4_path  # a 2-octet session: AS4_PATH holds the real tail (RFC 6793, 4.2.3)
    return as_path_origin([segment for segment in as_path if segment[1]])

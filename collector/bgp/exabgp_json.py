"""ExaBGP's JSON API messages (`encoder json`) -> FeedMessage (pure).

ExaBGP writes one JSON object per line to the processes its configuration names. What matters:

    {"exabgp": "4.0.1", "time": 1700000000.0, "type": "update",
     "neighbor": {"address": {"local": ..., "peer": "198.18.0.1"}, "asn": {"local": ..., "peer": 64500},
                  "direction": "receive",
                  "message": {"update": {"attribute": {"as-path": ...},
                                         "announce": {"ipv4 unicast": {NEXT_HOP: [{"nlri": PREFIX}]}},
                                         "withdraw": {"ipv4 unicast": [{"nlri": PREFIX}]}}}}}

`message` is {"eor": {"afi": ..., "safi": ...}} for an End-of-RIB. A "state" message carries
neighbor.state "connected", "up" or "down" (with "reason"). The AS path has two shapes:
ExaBGP 4.2 (Debian's exabgp, lib/exabgp/bgp/message/update/attribute/aspath.py there) writes
"as-path": [64500, 64501] and a trailing AS_SET apart, as "as-set": [...]; ExaBGP 5
(src/exabgp/bgp/message/update/attribute/aspath.py) writes
"as-path": {"0": {"element": "as-sequence", "value": [...]}, "1": {"element": "as-set", ...}}.
Both are read. Families other than IPv4 and IPv6 unicast (flowspec, VPNs) are ignored.
"""

from __future__ import annotations

import json
import math
from typing import Any

from vantage.collector.bgp.messages import FeedMessage, PeerState, as_path_origin, read_asn, read_prefix
from vantage.collector.bgp.model import RouteUpdate
from vantage.collector.bgp.parse_error import ParseError

__all__ = ["FORMAT", "parse_exabgp", "parse_exabgp_object"]

FORMAT = "exabgp"
_FAMILIES = frozenset({"ipv4 unicast", "ipv6 unicast"})
_SEGMENT_KINDS = {"as-sequence": False, "as-set": True}  # confederation segments are local: skipped


def parse_exabgp(line: str | bytes) -> FeedMessage:
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError("message", "bad_json", f"not JSON: {exc}") from None
    return parse_exabgp_object(message)


def parse_exabgp_object(message: object) -> FeedMessage:
    if not isinstance(message, dict):
        raise ParseError("message", "bad_shape", "not a JSON object")
    kind = message.get("type")
    if kind == "vantage-relay":  # relay.py: lines it had to drop
        return FeedMessage(notice=f"relay lost {message.get('lost')} lines")
    if kind not in ("update", "state"):
        if not isinstance(kind, str):
            raise ParseError("type", "bad_shape", f"{kind!r} is not a message type")
        return FeedMessage()  # open, keepalive, notification, fsm, signal...
    at = message.get("time")
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at) or at < 0:
        raise ParseError("time", "bad_timestamp", f"{at!r} is not unix seconds")
    neighbor = message.get("neighbor")
    if not isinstance(neighbor, dict):
        raise ParseError("neighbor", "missing_field", "not an object")
    address = neighbor.get("address")
    peer = address.get("peer") if isinstance(address, dict) else None
    if not isinstance(peer, str) or not peer:
        raise ParseError("neighbor.address.peer", "missing_field", f"{peer!r} is not a peer address")
    if kind == "state":
        state = neighbor.get("state")
        if state == "connected":
            return FeedMessage()  # TCP up, no session yet
        if state not in ("up", "down"):
            raise ParseError("neighbor.state", "bad_state", f"{state!r} is not connected, up or down")
        detail = str(neighbor.get("reason", state))
        return FeedMessage(peer_states=(PeerState(peer, state == "up", float(at), detail),))
    asn = neighbor.get("asn")
    peer_asn = read_asn(asn.get("peer") if isinstance(asn, dict) else None, "neighbor.asn.peer")
    if neighbor.get("direction", "receive") != "receive":
        return FeedMessage()  # what we sent, if the configuration asks for it
    body = neighbor.get("message")
    if not isinstance(body, dict):
        raise ParseError("neighbor.message", "missing_field", "not an object")
    if "eor" in body:
        return FeedMessage(end_of_rib=(peer,))
    update = body.get("update")
    if not isinstance(update, dict):
        raise ParseError("neighbor.message.update", "missing_field", "not an object")
    return FeedMessage(updates=_updates(update, peer, peer_asn, float(at)))


def _updates(update: dict[str, Any], peer: str, peer_asn: int, at: float) -> tuple[RouteUpdate, ...]:
    where = "neighbor.message.update"
    updates: list[RouteUpdate] = []
    withdraw = update.get("withdraw", {})
    if not isinstance(withdraw, dict):
        raise ParseError(f"{where}.withdraw", "bad_shape", "not an object")
    for family, nlris in withdraw.items():
        if family not in _FAMILIES:
            continue
        field = f"{where}.withdraw.{family}"
        if not isinstance(nlris, list):
            raise ParseError(field, "bad_shape", "not a list")
        for index, nlri in enumerate(nlris):
            prefix = read_prefix(_nlri(nlri), f"{field}[{index}]")
            updates.append(RouteUpdate(peer, peer_asn, prefix, True, (), None, at))
    announce = update.get("announce", {})
    if not isinstance(announce, dict):
        raise ParseError(f"{where}.announce", "bad_shape", "not an object")
    families = [family for family in announce if family in _FAMILIES]
    if not families:
        return tuple(updates)
    attribute = update.get("attribute")
    if not isinstance(attribute, dict):
        raise ParseError(f"{where}.attribute", "missing_field", "an announcement without attributes")
    path, origin = _as_path(attribute, f"{where}.attribute")
    for family in families:
        field = f"{where}.announce.{family}"
        by_next_hop = announce[family]
        if not isinstance(by_next_hop, dict):
            raise ParseError(field, "bad_shape", "not an object keyed by next hop")
        for next_hop, nlris in by_next_hop.items():
            if isinstance(nlris, dict):  # ExaBGP 3's {"prefix": {}}
                nlris = list(nlris)
            if not isinstance(nlris, list):
                raise ParseError(f"{field}.{next_hop}", "bad_shape", "not a list")
            for index, nlri in enumerate(nlris):
                prefix = read_prefix(_nlri(nlri), f"{field}.{next_hop}[{index}]")
                updates.append(RouteUpdate(peer, peer_asn, prefix, False, path, origin, at))
    return tuple(updates)


def _nlri(nlri: object) -> object:
    return nlri.get("nlri") if isinstance(nlri, dict) else nlri


def _as_path(attribute: dict[str, Any], where: str) -> tuple[tuple[int, ...], int | None]:
    field = f"{where}.as-path"
    value = attribute.get("as-path")
    segments: list[tuple[bool, list[int]]] = []
    if isinstance(value, list):  # ExaBGP 4.2: the sequence, then any AS_SET apart
        segments.append((False, [read_asn(asn, f"{field}[{i}]") for i, asn in enumerate(value)]))
        as_set = attribute.get("as-set")
        if isinstance(as_set, list) and as_set:
            segments.append((True, [read_asn(asn, f"{where}.as-set[{i}]") for i, asn in enumerate(as_set)]))
    elif isinstance(value, dict):  # ExaBGP 5: {"0": {"element": ..., "value": [...]}, ...}
        try:
            positions = sorted(value, key=int)
        except ValueError:
            raise ParseError(field, "bad_path", "segment keys are not positions") from None
        for position in positions:
            segment = value[position]
            element = segment.get("element") if isinstance(segment, dict) else None
            members = segment.get("value") if isinstance(segment, dict) else None
            if not isinstance(members, list) or not isinstance(element, str):
                raise ParseError(f"{field}.{position}", "bad_path", "not an {element, value} segment")
            if element not in _SEGMENT_KINDS:
                continue
            asns = [read_asn(asn, f"{field}.{position}.value[{i}]") for i, asn in enumerate(members)]
            segments.append((_SEGMENT_KINDS[element], asns))
    elif value is not None:
        raise ParseError(field, "bad_path", f"{value!r} is neither a list nor segments")
    # An empty path is an iBGP route the collector's own AS originates: kept, origin unknown.
    return as_path_origin([segment for segment in segments if segment[1]])

"""`vantage probe measure --format atlas`: results as RIPE Atlas prints them (pure).

RIPE Atlas result formats (https://atlas.ripe.net/docs/apis/result-format/), for the kinds
Atlas has: ping, dns, http and traceroute (TCP connect has no Atlas type). A one-off run has
no Atlas measurement or probe: msm_id and prb_id are 0; "fw" is the firmware generation whose
formats these are (5080), so that readers such as ripe.atlas.sagan pick the current parsers
(tests/probe/measure/test_atlas.py parses every kind with it).
"""

from __future__ import annotations

import base64
import json
from typing import Any, TextIO

from vantage.kinds import Outcome
from vantage.probe.engine.model import (
    DnsDetails,
    HttpDetails,
    IcmpDetails,
    MeasurementResult,
    TraceReply,
    TracerouteDetails,
)

ATLAS_FIRMWARE = 5080
ATLAS_KINDS = ("icmp", "dns", "http", "traceroute")
# Atlas's "err" letters for ICMP unreachable codes in traceroute replies, by IP version:
# (the unreachable type, the destination's own port unreachable code, letters by code).
_UNREACHABLE_LETTERS = {
    4: (3, 3, {0: "N", 1: "H", 2: "P", 9: "A", 10: "A", 13: "A"}),
    6: (1, 4, {0: "N", 1: "A", 3: "H", 5: "A", 6: "A"}),
}


def write_atlas(results: list[MeasurementResult], stream: TextIO) -> None:
    stream.write("".join(json.dumps(atlas_result(r), sort_keys=True) + "\n" for r in results))


def _common(result: MeasurementResult, kind: str) -> dict[str, Any]:
    return {
        "fw": ATLAS_FIRMWARE,
        "msm_id": 0,
        "prb_id": 0,
        "type": kind,
        "timestamp": int(result.started_at.timestamp()),
        "from": result.source_address,
        "af": result.address_family or 4,
        "dst_addr": result.address,
        "src_addr": result.source_address,
    }


def atlas_result(result: MeasurementResult) -> dict[str, Any]:
    """One result in its Atlas form; ValueError for a kind Atlas does not have."""
    details = result.details
    if isinstance(details, TracerouteDetails) or result.protocol.name == "TRACEROUTE":
        return _traceroute(result, details if isinstance(details, TracerouteDetails) else None)
    if isinstance(details, IcmpDetails):
        return _ping(result, details)
    if isinstance(details, DnsDetails):
        return _dns(result, details)
    if isinstance(details, HttpDetails):
        return _http(result, details)
    raise ValueError(f"RIPE Atlas has no {result.protocol.name.lower()} result type")


def _ping(result: MeasurementResult, d: IcmpDetails) -> dict[str, Any]:
    doc = _common(result, "ping")
    answered = d.received > 0
    doc.update(
        dst_name=result.name or result.address,
        proto="ICMP",
        size=d.packet_size,
        ttl=d.reply_ttl,
        sent=d.sent,
        rcvd=d.received,
        dup=d.duplicates,
        min=d.min_rtt_ms if answered else -1,
        avg=d.avg_rtt_ms if answered else -1,
        max=d.max_rtt_ms if answered else -1,
        result=[{"x": "*"} if r.lost else {"rtt": round(r.rtt_ms, 3)} for r in d.replies if not r.duplicate],
    )
    return doc


def _dns(result: MeasurementResult, d: DnsDetails) -> dict[str, Any]:
    doc = _common(result, "dns")
    doc.update(dst_addr=d.server, dst_port=str(d.server_port), proto=d.transport.upper())
    if d.rcode:
        doc["result"] = {
            "rt": round(d.response_time_ms, 3),
            "size": d.response_size,
            "abuf": base64.b64encode(d.abuf).decode("ascii"),
            "ANCOUNT": len(d.answers),
            "QDCOUNT": 1,
            "NSCOUNT": 0,
            "ARCOUNT": 0,
        }
    else:
        failure = result.failure
        timed_out = failure is not None and failure.kind == "generic_timeout_error"
        doc["error"] = {"timeout": 5000} if timed_out else {"socket": failure.detail if failure else "error"}
    return doc


def _http(result: MeasurementResult, d: HttpDetails) -> dict[str, Any]:
    doc = _common(result, "http")
    entry: dict[str, Any] = {
        "af": result.address_family or 4,
        "dst_addr": d.connected_address or result.address,
        "method": d.method,
        "src_addr": result.source_address,
    }
    if d.status_code:
        entry.update(
            res=d.status_code,
            rt=round(d.timings.total_ms, 3),
            hsize=d.header_size,
            bsize=d.body_length,
            ver=d.http_version or "1.1",
        )
    else:
        entry["err"] = result.failure.detail if result.failure else "error"
    doc.update(uri=d.url, result=[entry])
    return doc


def _reply(reply: TraceReply, family: int) -> dict[str, Any]:
    if reply.lost:
        return {"x": "*"}
    out: dict[str, Any] = {"from": reply.from_address, "rtt": round(reply.rtt_ms, 3), "ttl": reply.reply_ttl}
    unreachable, port_unreachable, letters = _UNREACHABLE_LETTERS[6 if family == 6 else 4]
    if reply.icmp_type == unreachable and reply.icmp_code != port_unreachable:
        out["err"] = letters.get(reply.icmp_code, str(reply.icmp_code))
    if reply.quoted_ttl not in (0, 1):
        out["ittl"] = reply.quoted_ttl
    if reply.tcp_flags:
        out["flags"] = (
            ("S" if reply.tcp_flags & 0x02 else "")
            + ("R" if reply.tcp_flags & 0x04 else "")
            + ("A" if reply.tcp_flags & 0x10 else "")
        )
    if reply.mpls:
        stack = [
            {"exp": m.traffic_class, "label": m.label, "s": int(m.bottom_of_stack), "ttl": m.ttl}
            for m in reply.mpls
        ]
        out["icmpext"] = {"version": 2, "rfc4884": 1, "obj": [{"class": 1, "type": 1, "mpls": stack}]}
    return out


def _traceroute(result: MeasurementResult, d: TracerouteDetails | None) -> dict[str, Any]:
    doc = _common(result, "traceroute")
    end = int(result.started_at.timestamp() + result.duration_ms / 1000)
    doc.update(dst_name=result.name or result.address, endtime=end)
    if d is None:  # refused or failed before the first probe
        detail = result.failure.detail if result.failure else result.outcome.name.lower()
        doc.update(proto="ICMP", paris_id=0, size=0, result=[{"error": detail, "hop": 1}])
        return doc
    size = d.packet_size
    doc.update(
        proto=d.method.upper(),
        paris_id=d.flow_id % 16 or 16,  # Atlas: 0 is classic traceroute, 1-16 Paris variations
        size=size,
        result=[{"hop": hop.ttl, "result": [_reply(r, doc["af"]) for r in hop.replies]} for hop in d.hops],
    )
    if d.method in ("udp", "tcp"):
        doc["dst_port"] = d.port
    if result.outcome is not Outcome.OK and not d.hops:
        doc["result"] = [{"error": result.failure.detail if result.failure else "no hops", "hop": 1}]
    return doc

"""Stored result batches -> the round's traceroutes, hops mapped to ASes (wire module).

The round decodes its batches once for the verdict's measurements
(collector/wire/measurements.py); traceroutes are rare among them, so a batch is decoded again
here only when its bytes can hold one: the tag of Measurement.traceroute (field 24,
length-delimited: 0xC2 0x01) must occur in it, which a byte search tells in C at memory speed.
A false hit only costs a decode. Hops are mapped to AS at the collector, with the same IP->AS
table as the targets (`locate`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from vantage.collector.storage.records import ResultBatchRecord
from vantage.collector.verdict.paths import Locate, Trace, map_hops
from vantage.kinds import Protocol
from vantage.v1 import probe_service_pb2

_TRACEROUTE_TAG = bytes([24 << 3 | 2, 1])  # varint of (24 << 3) | 2 = 194: 0xC2 0x01


def round_traces(batches: Iterable[ResultBatchRecord], round_number: int, locate: Locate) -> list[Trace]:
    traces: list[Trace] = []
    for batch in batches:
        if _TRACEROUTE_TAG not in batch.payload:
            continue
        items = probe_service_pb2.ResultBatch.FromString(batch.payload).measurements
        asns = struct.unpack(f"<{len(items)}I", batch.target_asns)
        skipped = set(batch.skipped)
        for index, m in enumerate(items):
            if m.round != round_number or index in skipped or int(m.protocol) != Protocol.TRACEROUTE:
                continue
            if m.WhichOneof("details") != "traceroute":
                continue
            details = m.traceroute
            first = [
                (hop.ttl, next((r.from_address for r in hop.replies if not r.lost and r.from_address), ""))
                for hop in details.hops
            ]
            target_asn = asns[index] or locate(m.target.address)[0]
            traces.append(
                Trace(
                    probe_id=batch.probe_id,
                    probe_asn=batch.probe_asn,
                    target_id=m.target.target_id or m.target.address,
                    target_asn=target_asn,
                    started_unix_s=m.started_at.seconds + m.started_at.nanos / 1e9,
                    hops=map_hops(first, locate),
                    reached=details.destination_reached,
                )
            )
    return traces

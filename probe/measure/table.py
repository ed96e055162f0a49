"""The human-readable table of `vantage probe measure` (one row per result, as they come)."""

from __future__ import annotations

from typing import TextIO

from vantage.kinds import Outcome
from vantage.probe.engine.model import (
    DnsDetails,
    HttpDetails,
    IcmpDetails,
    MeasurementRequest,
    MeasurementResult,
    TcpDetails,
    TraceReply,
    TracerouteDetails,
)

_OK = Outcome.OK

COLUMNS: dict[str, tuple[tuple[str, int], ...]] = {
    "icmp": (
        ("TARGET", 28),
        ("SENT", 5),
        ("RECV", 5),
        ("LOSS", 6),
        ("DUP", 4),
        ("MIN/AVG/MAX ms", 24),
        ("TTL", 4),
    ),
    "dns": (
        ("NAME", 28),
        ("TYPE", 6),
        ("SERVER", 22),
        ("RCODE", 9),
        ("TIME ms", 9),
        ("SIZE", 6),
        ("ANSWERS", 40),
    ),
    "http": (("URL", 40), ("STATUS", 7), ("DNS/CONN/TLS/TTFB/TOTAL ms", 32), ("BYTES", 9), ("TLS", 8)),
    "tcp": (("TARGET", 40), ("PORT", 6), ("CONNECT ms", 11)),
    # A trace is printed as traceroute(8) prints it (trace_lines): one line per hop, the
    # address when it changes, each probe's RTT or "*", and !H/!N/!X/MPLS annotations.
    "traceroute": (("HOP", 3), ("ADDRESS", 16), ("RTT ms", 30)),
}


def outcome_text(result: MeasurementResult) -> str:
    if result.outcome is Outcome.OK:
        return "ok"
    if result.outcome is Outcome.MISMATCH:
        return "MISMATCH (answer outside --expect)"
    if result.failure is not None:
        return f"{result.failure.kind} ({result.failure.operation.name.lower()}: {result.failure.detail})"
    return result.outcome.name.lower()


class TableWriter:
    def __init__(self, protocol: str, stream: TextIO) -> None:
        self.columns = COLUMNS[protocol]
        self.stream = stream
        self._header_written = False
        # One format string per table: a sweep prints 65k rows, and str.format pads in C.
        self._row = " ".join(f"{{:<{width}}}" for _, width in self.columns) + " {}\n"
        self._icmp = protocol == "icmp"
        self._trace = protocol == "traceroute"

    def _answered_once(self, result: MeasurementResult) -> str:
        details = result.details
        if (
            result.outcome is not _OK
            or type(details) is not IcmpDetails
            or details.sent != 1
            or details.received != 1
            or details.duplicates
        ):
            return self._row.format(*icmp_cells(result, ""))
        rtt = details.min_rtt_ms
        text = f"{rtt:.2f}" if rtt < 100 else f"{rtt:.0f}"
        # The widths of COLUMNS["icmp"] written out (checked below): an f-string with literal
        # widths is the cheapest way to a row, and a sweep prints one per target.
        rtts = f"{text}/{text}/{text}"
        return f"{result.address:<28} 1     1     0%     0    {rtts:<24} {details.reply_ttl:<4} ok\n"

    def write(self, result: MeasurementResult, request: MeasurementRequest) -> None:
        self.write_batch([result], [request.name])

    def write_batch(self, results: list[MeasurementResult], names: list[str] | None = None) -> None:
        """Rows for `results` in one write; `names` are the requests' names (default: the results')."""
        if self._trace:
            self.stream.write("".join(trace_lines(result) for result in results))
            return
        if not self._header_written:
            self.stream.write(self._row.format(*(name for name, _ in self.columns), "RESULT"))
            self._header_written = True
        if names is None:
            names = [result.name for result in results]
        row = self._row.format
        if self._icmp:
            rows = [
                self._answered_once(result) if not name else row(*icmp_cells(result, name))
                for result, name in zip(results, names, strict=True)
            ]
        else:
            rows = [
                row(*cells(result, name), outcome_text(result))
                for result, name in zip(results, names, strict=True)
            ]
        self.stream.write("".join(rows))


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


assert [width for _, width in COLUMNS["icmp"]] == [28, 5, 5, 6, 4, 24, 4], "update _answered_once"


def icmp_cells(result: MeasurementResult, name: str) -> tuple[object, ...]:
    """An ICMP row's cells and its outcome (str.format pads and prints the numbers)."""
    details = result.details
    label = f"{name} ({result.address})" if name and result.address else name or result.address
    if not isinstance(details, IcmpDetails):
        return (label, "-", "-", "-", "-", "-", "-", outcome_text(result))
    sent, received = details.sent, details.received
    if received:
        low = details.min_rtt_ms
        if low == details.max_rtt_ms:  # one reply (a sweep's common case): format one number
            text = f"{low:.2f}" if low < 100 else f"{low:.0f}"
            rtts = f"{text}/{text}/{text}"
        else:
            rtts = f"{_ms(low)}/{_ms(details.avg_rtt_ms)}/{_ms(details.max_rtt_ms)}"
        ttl: object = details.reply_ttl
    else:
        rtts = ttl = "-"
    if received == sent and sent:
        loss = "0%"
    elif not received:
        loss = "100%"
    else:
        loss = f"{100.0 * (sent - received) / sent:.0f}%"
    outcome = "ok" if result.outcome is _OK else outcome_text(result)
    return (label, sent, received, loss, details.duplicates, rtts, ttl, outcome)


def cells(result: MeasurementResult, name: str) -> list[str]:
    details = result.details
    label = f"{name} ({result.address})" if name and result.address else name or result.address
    if isinstance(details, IcmpDetails):
        loss = 100.0 * (details.sent - details.received) / details.sent if details.sent else 100.0
        rtts = (
            f"{_ms(details.min_rtt_ms)}/{_ms(details.avg_rtt_ms)}/{_ms(details.max_rtt_ms)}"
            if details.received
            else "-"
        )
        ttl = str(details.reply_ttl) if details.received else "-"
        return [
            label,
            str(details.sent),
            str(details.received),
            f"{loss:.0f}%",
            str(details.duplicates),
            rtts,
            ttl,
        ]
    if isinstance(details, DnsDetails):
        answers = ", ".join(f"{a.data} ({a.ttl}s)" for a in details.answers) or "-"
        server = f"{details.server}:{details.server_port}" + ("/tcp" if details.transport == "tcp" else "")
        time_ms = _ms(details.response_time_ms) if details.rcode else "-"
        size = str(details.response_size) if details.rcode else "-"
        return [details.query_name, details.query_type, server, details.rcode or "-", time_ms, size, answers]
    if isinstance(details, HttpDetails):
        t = details.timings
        timings = "/".join(_ms(v) for v in (t.dns_ms, t.connect_ms, t.tls_ms, t.first_byte_ms, t.total_ms))
        tls = details.tls.version if details.tls and details.tls.version else "-"
        status = str(details.status_code) if details.status_code else "-"
        return [details.url, status, timings, str(details.body_length), tls]
    if isinstance(details, TcpDetails):
        connect = _ms(details.connect_ms) if result.outcome is Outcome.OK else "-"
        return [label, str(details.port), connect]
    return [label, *["-"] * (len(COLUMNS["tcp"]) - 1)]


# traceroute(8)'s annotations for ICMP unreachable codes (RFC 792, RFC 1812; RFC 4443), by IP
# version: (unreachable type, the destination's own port unreachable code, marks by code).
_UNREACHABLE_MARKS = {
    4: (3, 3, {0: "!N", 1: "!H", 2: "!P", 9: "!X", 10: "!X", 13: "!X"}),
    6: (1, 4, {0: "!N", 1: "!X", 3: "!H", 5: "!X", 6: "!X"}),
}


def _reply_mark(reply: TraceReply, family: int) -> str:
    marks = []
    unreachable, port_unreachable, by_code = _UNREACHABLE_MARKS[6 if family == 6 else 4]
    if reply.icmp_type == unreachable and reply.icmp_code != port_unreachable:
        marks.append(by_code.get(reply.icmp_code, f"!{reply.icmp_code}"))
    if reply.mpls:
        labels = ",".join(
            f"L={m.label},E={m.traffic_class},S={int(m.bottom_of_stack)},T={m.ttl}" for m in reply.mpls
        )
        marks.append(f"<MPLS:{labels}>")
    if reply.anomaly:
        marks.append(f"[{reply.anomaly}]")
    return " ".join(marks)


def trace_lines(result: MeasurementResult) -> str:
    """One trace as traceroute(8) prints it, then its outcome."""
    details = result.details
    target = f"{result.name} ({result.address})" if result.name else f"{result.address} ({result.address})"
    if not isinstance(details, TracerouteDetails):
        return f"traceroute to {target}: {outcome_text(result)}\n"
    probes = f"{details.method}" + (f" port {details.port}" if details.port else "")
    lines = [
        f"traceroute to {target}, {details.max_ttl} hops max, {details.packet_size} byte packets, "
        f"{probes} probes\n"
    ]
    for hop in details.hops:
        parts: list[str] = []
        shown = ""
        for reply in hop.replies:
            if reply.lost:
                parts.append("*")
                continue
            if reply.from_address != shown:
                parts.append(reply.from_address)
                shown = reply.from_address
            mark = _reply_mark(reply, result.address_family)
            parts.append(f"{reply.rtt_ms:.3f} ms" + (f" {mark}" if mark else ""))
        lines.append(f"{hop.ttl:>2}  {'  '.join(parts)}\n")
    notes = f"stopped: {details.stop_reason}"
    if details.anomalies:
        notes += f"; anomalies: {', '.join(details.anomalies)}"
    if details.unmatched_replies:
        notes += f"; {details.unmatched_replies} unmatched ICMP messages"
    result_text = "ok" if result.outcome is _OK else outcome_text(result)
    lines.append(f"    {notes}; result: {result_text}\n")
    return "".join(lines)

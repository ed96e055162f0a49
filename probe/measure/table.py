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

"""The live view while a scenario runs: a table refreshed in place on a terminal, plain lines otherwise.

`render_table` is pure (rows and times in, text out). `LiveDisplay` decides
how to show it: on a TTY it redraws the whole table in place each round; when
the output is a file or a pipe (CI logs) it prints one line per change — a
staged action, a status change, an event — so the log reads as a timeline.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from vantage.lab.views import StatusRow

STATUS_STYLE = {
    "UP": "\x1b[32m",
    "DEGRADED": "\x1b[33m",
    "DOWN": "\x1b[31;1m",
    "FILTERED": "\x1b[35;1m",
    "UNKNOWN": "\x1b[90m",
}
RESET = "\x1b[0m"
CLEAR_SCREEN = "\x1b[H\x1b[2J"


def _since(row: StatusRow, t0: datetime) -> str:
    if row.since is None:
        return "-"
    return f"{(row.since - t0).total_seconds():+.0f}s"


def render_table(
    *,
    title: str,
    elapsed_s: float,
    as_rows: Sequence[StatusRow],
    country_rows: Sequence[StatusRow],
    t0: datetime,
    log_lines: Sequence[str],
    colour: bool,
    width: int = 160,
) -> str:
    def status(text: str) -> str:
        cell = f"{text:<9}"
        return f"{STATUS_STYLE.get(text, '')}{cell}{RESET}" if colour else cell

    lines = [f"{title}   t = {elapsed_s:+.0f} s", ""]
    lines.append(f"{'COUNTRY':<9} {'STATUS':<9} {'CONF':>5} {'SINCE':>7}  SUMMARY")
    for row in country_rows:
        lines.append(
            f"{row.scope:<9} {status(row.status)} {row.confidence:>5.2f} "
            f"{_since(row, t0):>7}  {row.summary[:70]}"
        )
    lines.append("")
    lines.append(f"{'AS':<9} {'NAME':<28} {'CC':<3} {'STATUS':<9} {'CONF':>5} {'SINCE':>7}  SUMMARY")
    for row in as_rows:
        lines.append(
            f"{row.scope:<9} {row.name[:28]:<28} {row.country:<3} {status(row.status)} "
            f"{row.confidence:>5.2f} {_since(row, t0):>7}  {row.summary[:50]}"
        )
    if log_lines:
        lines.append("")
        lines.extend(line[:width] for line in log_lines[-8:])
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class LiveDisplay:
    stream: TextIO
    title: str
    t0: datetime
    interactive: bool
    log_lines: list[str] = field(default_factory=list)
    _last_status: dict[str, str] = field(default_factory=dict)
    _as_rows: list[StatusRow] = field(default_factory=list)
    _country_rows: list[StatusRow] = field(default_factory=list)

    def note(self, elapsed_s: float, message: str) -> None:
        """A staged action or an event: kept under the table, or printed at once."""
        line = f"[{elapsed_s:+5.0f}s] {message}"
        self.log_lines.append(line)
        if not self.interactive:
            self.stream.write(line + "\n")
            self.stream.flush()

    def update(self, elapsed_s: float, as_rows: list[StatusRow], country_rows: list[StatusRow]) -> None:
        self._as_rows, self._country_rows = as_rows, country_rows
        if self.interactive:
            self.redraw(elapsed_s)
            return
        for row in [*country_rows, *as_rows]:
            before = self._last_status.get(row.scope)
            if before != row.status:
                previous = f"{before} -> " if before else ""
                self.stream.write(
                    f"[{elapsed_s:+5.0f}s] {row.scope:<8} {previous}{row.status} "
                    f"(confidence {row.confidence:.2f}) {row.summary[:80]}\n"
                )
            self._last_status[row.scope] = row.status
        self.stream.flush()

    def redraw(self, elapsed_s: float) -> None:
        text = render_table(
            title=self.title,
            elapsed_s=elapsed_s,
            as_rows=self._as_rows,
            country_rows=self._country_rows,
            t0=self.t0,
            log_lines=self.log_lines,
            colour=True,
            width=shutil.get_terminal_size().columns,
        )
        self.stream.write(CLEAR_SCREEN + text)
        self.stream.flush()

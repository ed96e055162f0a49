"""The measure table: the short path for a target that answered once prints the general row."""

from __future__ import annotations

import io

import pytest

from tests.probe.measure.test_json import _details, _result
from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome
from vantage.probe.measure.table import TableWriter, icmp_cells

ANSWERED = [
    _result(_details()),
    *(_result(_details(min_rtt_ms=v, avg_rtt_ms=v, max_rtt_ms=v)) for v in (99.994, 100.4, 0.0)),
]
OTHERS = [
    _result(_details(sent=3, received=2, duplicates=1, min_rtt_ms=0.5, avg_rtt_ms=1.0, max_rtt_ms=1.5)),
    _result(
        _details(received=0, min_rtt_ms=0.0, avg_rtt_ms=0.0, max_rtt_ms=0.0, reply_ttl=0),
        outcome=Outcome.FAILURE,
        failure=Failure(failures.GENERIC_TIMEOUT, Operation.ICMP_ECHO, "no reply within 1000 ms"),
    ),
]


def _general(result: object, name: str = "") -> str:
    writer = TableWriter("icmp", io.StringIO())
    return writer._row.format(*icmp_cells(result, name))  # type: ignore[arg-type]


@pytest.mark.parametrize("result", ANSWERED + OTHERS)
def test_every_row_is_the_general_row(result: object) -> None:
    stream = io.StringIO()
    TableWriter("icmp", stream).write_batch([result])  # type: ignore[list-item]
    header, row = stream.getvalue().splitlines(keepends=True)
    assert header.startswith("TARGET") and row == _general(result)


def test_rows_read_as_ping_would() -> None:
    stream = io.StringIO()
    TableWriter("icmp", stream).write_batch([ANSWERED[0], OTHERS[0], OTHERS[1]], ["", "", "www.lab.test"])
    rows = [line.split() for line in stream.getvalue().splitlines()[1:]]
    assert rows[0] == ["198.18.0.1", "1", "1", "0%", "0", "0.30/0.30/0.30", "64", "ok"]
    assert rows[1][1:7] == ["3", "2", "33%", "1", "0.50/1.00/1.50", "64"]
    assert rows[2][:2] == ["www.lab.test", "(198.18.0.1)"] and "generic_timeout_error" in rows[2]

"""Reading the query commands' JSON and rendering the live view (pure)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from vantage.lab.live import LiveDisplay, render_table
from vantage.lab.views import event_from_document, is_closed, status_rows, timeline_points

T0 = datetime(2022, 1, 5, 10, 30, tzinfo=UTC)

STATUS = {
    "statuses": [
        {
            "asn": 9198,
            "as_name": "Kazakhtelecom-like",
            "country": "KZ",
            "status": "STATUS_DOWN",
            "confidence": 0.97,
            "since": "2022-01-05T10:30:06Z",
            "evidence": {"summary": "DOWN: 0/12"},
        },
        {"asn": 1299, "country": "SE", "status": "STATUS_UP", "confidence": 0.9},
    ],
    "countries": [
        {
            "country": "KZ",
            "status": "STATUS_DOWN",
            "measured_ases": 2,
            "confidence": 0.9,
            "driving_ases": [{"asn": 9198, "status": "STATUS_DOWN"}],
        },
        {"country": "SE", "status": "STATUS_UP", "measured_ases": 1},
    ],
}


def test_status_rows_find_ases_and_countries_at_any_depth() -> None:
    as_rows, country_rows = status_rows(STATUS)
    assert [(r.scope, r.status) for r in as_rows] == [("AS9198", "DOWN"), ("AS1299", "UP")]
    assert as_rows[0].since == T0 + timedelta(seconds=6) and as_rows[0].summary == "DOWN: 0/12"
    assert [(r.scope, r.status) for r in country_rows] == [("KZ", "DOWN"), ("SE", "UP")]
    # A field left out by the JSON mapping (default value) reads as its default.
    assert as_rows[1].confidence == 0.9 and as_rows[1].name == ""


def test_timeline_points_and_events() -> None:
    timeline = {
        "points": [
            {"round": 2, "round_start": "2022-01-05T10:30:03Z", "status": "STATUS_DOWN"},
            {
                "round": 1,
                "round_start": "2022-01-05T10:30:00Z",
                "status": "STATUS_UP",
                "reachability_ratio": 1.0,
            },
        ],
        "events": [
            {
                "id": "e1",
                "kind": "EVENT_KIND_OUTAGE",
                "state": "EVENT_STATE_CLOSED",
                "asn": 9198,
                "started_at": "2022-01-05T10:30:03Z",
                "ended_at": "2022-01-05T10:30:33Z",
            }
        ],
    }
    points = timeline_points(timeline, T0)
    assert [(p.t_s, p.reachability, p.status) for p in points] == [(0.0, 1.0, "UP"), (3.0, 0.0, "DOWN")]
    event = event_from_document(timeline["events"][0], T0, 5.0, 36.0)
    assert (event.kind, event.asn, event.started_s, event.ended_s) == ("outage", 9198, 3.0, 33.0)
    assert is_closed(timeline["events"][0]) and not is_closed({"state": "EVENT_STATE_OPEN"})


def test_table_and_plain_lines() -> None:
    as_rows, country_rows = status_rows(STATUS)
    text = render_table(
        title="demo",
        elapsed_s=42,
        as_rows=as_rows,
        country_rows=country_rows,
        t0=T0,
        log_lines=["x"],
        colour=False,
    )
    assert "t = +42 s" in text and "AS9198" in text and "Kazakhtelecom-like" in text and "+6s" in text
    stream = io.StringIO()
    display = LiveDisplay(stream=stream, title="demo", t0=T0, interactive=False)
    display.update(3, as_rows, country_rows)
    display.update(6, as_rows, country_rows)  # nothing changed: nothing printed
    display.note(7, "staged: national cut")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5 and lines[-1] == "[   +7s] staged: national cut"
    assert any("AS9198   DOWN" in line for line in lines)

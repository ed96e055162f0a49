"""Matching detected events to the staged truth (pure)."""

from __future__ import annotations

from vantage.lab.report import DetectedEvent, format_report, match_events
from vantage.lab.scenario import ExpectedEvent

OUTAGE_KZ = ExpectedEvent("outage", 0, "KZ", 30.0, 60.0, False)
OUTAGE_AS = ExpectedEvent("outage", 9198, "", 30.0, 60.0, False)
FILTERING = ExpectedEvent("filtering", 9198, "", 95.0, None, False)
OPTIONAL = ExpectedEvent("degradation", 0, "KZ", 5.0, 25.0, True)


def _event(
    event_id: str, kind: str, asn: int, country: str, start: float, end: float | None, seen: float | None
):
    return DetectedEvent(event_id, kind, asn, country, start, end, seen)


def test_exact_detection_with_delay() -> None:
    detected = [
        _event("a", "outage", 0, "KZ", 32.0, 62.0, 36.0),
        _event("b", "outage", 9198, "", 32.0, 64.0, 35.0),
        _event("c", "filtering", 9198, "", 98.0, None, 101.0),
    ]
    report = match_events([OUTAGE_KZ, OUTAGE_AS, FILTERING, OPTIONAL], detected, duration_s=130, slack_s=10)
    assert report.passed
    assert [m.detection_delay_s for m in report.matches[:3]] == [6.0, 5.0, 6.0]
    assert report.matches[0].end_delay_s == 2.0
    assert report.required_detected == 3 == report.required_total
    text = format_report(report)
    assert "outage KZ 30s-60s" in text and "+6s" in text and "0 false events" in text


def test_missed_and_false_events_fail() -> None:
    detected = [
        _event("x", "outage", 1299, "", 40.0, 50.0, 44.0),
        _event("y", "filtering", 9198, "", 20.0, 30.0, 22.0),
    ]
    report = match_events([OUTAGE_AS, FILTERING], detected, duration_s=130, slack_s=10)
    assert not report.passed
    assert [m.expected for m in report.missed] == [OUTAGE_AS, FILTERING]
    assert {e.event_id for e in report.false_events} == {"x", "y"}
    text = format_report(report)
    assert "MISSED" in text and "FALSE" in text


def test_kind_and_scope_must_agree() -> None:
    wrong_kind = _event("a", "degradation", 9198, "", 32.0, 60.0, 34.0)
    country_not_as = _event("b", "outage", 0, "KZ", 32.0, 60.0, 34.0)
    report = match_events([OUTAGE_AS], [wrong_kind, country_not_as], duration_s=130, slack_s=10)
    assert report.missed and len(report.false_events) == 2


def test_fragments_and_late_end_within_slack() -> None:
    fragments = [
        _event("a", "outage", 9198, "", 31.0, 40.0, 33.0),
        _event("b", "outage", 9198, "", 44.0, 66.0, 47.0),
    ]
    report = match_events([OUTAGE_AS], fragments, duration_s=130, slack_s=10)
    assert report.passed and len(report.matches[0].detected) == 2
    assert "+1 fragment" in format_report(report)


def test_optional_truth_absorbs_without_being_required() -> None:
    rollup = _event("r", "degradation", 0, "KZ", 6.0, 26.0, None)
    report = match_events([OPTIONAL], [rollup], duration_s=130, slack_s=10)
    assert report.passed and report.required_total == 0
    # Not seen live: the delay falls back to the event's own start.
    assert report.matches[0].detection_delay_s == 1.0
    assert match_events([OPTIONAL], [], duration_s=130, slack_s=10).passed


def test_an_event_after_the_slack_is_false() -> None:
    late = _event("late", "outage", 9198, "", 75.0, 90.0, 78.0)
    report = match_events([OUTAGE_AS], [late], duration_s=130, slack_s=10)
    assert report.missed and report.false_events == (late,)


def test_one_detection_cannot_cover_two_staged_events() -> None:
    second = ExpectedEvent("outage", 9198, "", 75.0, 95.0, False)
    merged = _event("m", "outage", 9198, "", 32.0, 97.0, 35.0)  # the brief restoration was missed
    report = match_events([OUTAGE_AS, second], [merged], duration_s=130, slack_s=10)
    assert [len(m.detected) for m in report.matches] == [1, 0]
    assert report.missed == (report.matches[1],) and not report.passed


def test_required_truth_wins_over_optional() -> None:
    optional = ExpectedEvent("outage", 9198, "", 20.0, 70.0, True)
    report = match_events(
        [optional, OUTAGE_AS], [_event("a", "outage", 9198, "", 32.0, 60.0, 35.0)], duration_s=130, slack_s=10
    )
    assert [len(m.detected) for m in report.matches] == [0, 1] and report.passed

"""Embeddable charts: a timeline (and its ASes' strips) drawn by the lab's renderer (lab/chart.py).

Two sizes: `article` for a news article's column (8 in at 100 dpi = 800 px wide)
and `phone` (4.8 in = 480 px: shown about 360 px wide on a phone, the 8-12 pt
text stays 8 px or more), each with a title, a UTC axis, the events of the window
shaded and a source line naming this site.
"""

from __future__ import annotations

from collections.abc import Sequence

from vantage.collector.service.config import DEFAULT_ROUND_SECONDS
from vantage.lab.chart import Series, Span, render_chart
from vantage.lab.views import SeriesPoint
from vantage.web.models import EventRow, Timeline

# Events shaded as the lab shades the staged actions that cause them.
SPAN_KIND = {"outage": "cut", "degradation": "loss", "filtering": "filter"}
SIZES_IN = {"article": 8.0, "phone": 4.8}  # width in inches; ?size=
DPI = 100
# A country with hundreds of ASes gets strips for the worst of them only: a chart stays readable.
MAX_STRIPS = 12
FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def _series(label: str, timeline: Timeline, origin_unix_s: float) -> Series:
    return Series(
        label,
        tuple(
            SeriesPoint(p.round_start_unix_s - origin_unix_s, p.reachability, p.status)
            for p in timeline.points
        ),
    )


def _spans(events: Sequence[EventRow], origin_unix_s: float, end_unix_s: float) -> tuple[Span, ...]:
    return tuple(
        Span(
            max(0.0, e.started_unix_s - origin_unix_s),
            min(end_unix_s, e.ended_unix_s or end_unix_s) - origin_unix_s,
            SPAN_KIND.get(e.kind, "cut"),
            e.title,
        )
        for e in events
        if e.started_unix_s < end_unix_s
    )


def chart(
    *,
    title: str,
    main_label: str,
    main: Timeline,
    strips: Sequence[tuple[str, Timeline]],
    since_unix_s: float,
    until_unix_s: float,
    source: str,
    image_format: str,
    size: str = "article",
) -> bytes:
    round_s = _round_seconds(main, *(t for _, t in strips))
    return render_chart(
        title=title,
        countries=[_series(main_label, main, since_unix_s)],
        ases=[_series(label, t, since_unix_s) for label, t in strips[:MAX_STRIPS]],
        spans=_spans(main.events, since_unix_s, until_unix_s),
        duration_s=until_unix_s - since_unix_s,
        round_seconds=round_s,
        image_format=image_format,
        width_in=SIZES_IN[size],
        dpi=DPI,
        start_unix_s=since_unix_s,
        source=source,
    )


def _round_seconds(*timelines: Timeline) -> float:
    for timeline in timelines:
        if timeline.points and timeline.points[-1].round:
            last = timeline.points[-1]
            return last.round_start_unix_s / last.round
    return DEFAULT_ROUND_SECONDS

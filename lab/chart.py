"""The picture a journalist would post: reachability per country and status per AS over time (PNG).

Top panel: per country, the share of measurements that succeeded each round
(the collector's timeline `reachability_ratio`), like Cloudflare Radar's
traffic graph. Bottom panel: one strip per AS coloured by its status each round.
Staged actions are shaded on both, labelled at the top. matplotlib is imported
inside `render_chart` (Agg backend, no display) so that importing this module
stays cheap. The web's embeddable charts (web/charts.py) use the same renderer,
with a UTC axis, detected events as the shaded spans and a source line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vantage.lab.scenario import Action, Scope
from vantage.lab.views import SeriesPoint

STATUS_COLOURS = {
    "UP": "#2e9e4f",
    "DEGRADED": "#f0b429",
    "DOWN": "#d64545",
    "FILTERED": "#8e5bd6",
    "UNKNOWN": "#b8b8b8",
}
SPAN_COLOURS = {"cut": "#d64545", "loss": "#f0b429", "delay": "#f0b429", "filter": "#8e5bd6"}


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: tuple[SeriesPoint, ...]


@dataclass(frozen=True, slots=True)
class Span:
    start_s: float
    end_s: float
    kind: str  # the action kind that opened it
    label: str


def action_spans(actions: Sequence[Action], duration_s: float) -> tuple[Span, ...]:
    """Intervals during which each staged cut, loss, delay or filter was in force."""
    spans = []
    for index, action in enumerate(actions):
        if action.kind not in SPAN_COLOURS:
            continue
        undo = "restore" if action.kind == "cut" else "clear"
        end = duration_s
        for later in actions[index + 1 :]:
            if later.kind == undo and _undoes(later.scope, action.scope):
                end = later.at_s
                break
        spans.append(Span(action.at_s, end, action.kind, action.label))
    return tuple(spans)


def _undoes(given: Scope, applied: Scope) -> bool:
    return given.everything or given == applied


def status_bars(points: Sequence[SeriesPoint], round_seconds: float) -> dict[str, list[tuple[float, float]]]:
    """(start, width) bars per status, consecutive rounds of one status merged into one bar."""
    bars: dict[str, list[tuple[float, float]]] = {}
    previous: tuple[str, float] | None = None  # status and end of the last bar
    for point in points:
        runs = bars.setdefault(point.status, [])
        if previous == (point.status, point.t_s) and runs:
            start, width = runs[-1]
            runs[-1] = (start, width + round_seconds)
        else:
            runs.append((point.t_s, round_seconds))
        previous = (point.status, point.t_s + round_seconds)
    return bars


def write_chart(
    path: Path,
    *,
    title: str,
    countries: Sequence[Series],
    ases: Sequence[Series],
    spans: Sequence[Span],
    duration_s: float,
    round_seconds: float,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        render_chart(
            title=title,
            countries=countries,
            ases=ases,
            spans=spans,
            duration_s=duration_s,
            round_seconds=round_seconds,
        )
    )
    return path


def render_chart(
    *,
    title: str,
    countries: Sequence[Series],
    ases: Sequence[Series],
    spans: Sequence[Span],
    duration_s: float,
    round_seconds: float,
    image_format: str = "png",
    width_in: float = 12.0,
    dpi: int = 110,
    start_unix_s: float | None = None,
    source: str = "",
) -> bytes:
    """The chart as PNG or SVG bytes (the lab's file; the web's embeddable charts).

    With `start_unix_s`, t_s counts from that instant and the axis reads in UTC;
    `source` is printed under the chart ("Vantage — <title>, <address>").
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, FuncFormatter

    figure, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(width_in, 4 + 0.35 * max(len(ases), 1)),
        sharex=True,
        gridspec_kw={"height_ratios": [2, max(1.0, 0.25 * len(ases))]},
    )
    for axis in (top, bottom):
        for span in spans:
            axis.axvspan(span.start_s, span.end_s, color=SPAN_COLOURS[span.kind], alpha=0.12, lw=0)
    for level, span in enumerate(spans):
        top.text(
            span.start_s,
            1.02 + 0.07 * (level % 3),
            span.label,
            fontsize=7,
            color=SPAN_COLOURS[span.kind],
            transform=top.get_xaxis_transform(),
            clip_on=False,
        )
    # Countries that stayed up are drawn first, so the ones that went dark lie on top.
    for series in sorted(countries, key=lambda s: -min((p.reachability for p in s.points), default=1.0)):
        if series.points:
            times = [p.t_s for p in series.points]
            top.step(
                times, [100 * p.reachability for p in series.points], where="post", lw=2, label=series.label
            )
    top.set_ylabel("measurements answered (%)")
    top.set_ylim(-5, 105)
    top.legend(loc="lower left", fontsize=8, ncol=max(1, len(countries)))
    top.grid(alpha=0.3)

    # One collection per AS and status (a bar per round each was a collection of its own:
    # seconds per chart at a day of 5-minute rounds).
    for row, series in enumerate(ases):
        for status, bars in status_bars(series.points, round_seconds).items():
            bottom.broken_barh(
                bars, (row - 0.4, 0.8), color=STATUS_COLOURS.get(status, STATUS_COLOURS["UNKNOWN"])
            )
    bottom.set_yticks(range(len(ases)), [series.label for series in ases], fontsize=8)
    bottom.invert_yaxis()
    if start_unix_s is None:
        bottom.set_xlabel("seconds since the scenario started")
    else:
        origin = start_unix_s
        ticks = _utc_ticks(origin, duration_s, most=max(3, int(width_in * 0.8)))
        bottom.xaxis.set_major_locator(FixedLocator([t - origin for t in ticks]))
        bottom.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _utc_tick(origin + x, duration_s)))
        bottom.set_xlabel(f"UTC, from {_utc_tick(origin, 0, full=True)}")
    bottom.set_xlim(min([0.0, *(p.t_s for s in ases for p in s.points)]), duration_s)
    bottom.legend(
        handles=[Patch(color=colour, label=status) for status, colour in STATUS_COLOURS.items()],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25 if len(ases) > 4 else -0.45),
        ncol=len(STATUS_COLOURS) if width_in >= 6 else 3,  # a phone-sized chart: two rows
        fontsize=8,
    )
    figure.suptitle(title, fontsize=12, y=0.995)
    if source:
        figure.text(0.01, 0.005, source, fontsize=8, color="#555555", ha="left", va="bottom")
    figure.tight_layout(rect=(0, 0.03 if source else 0, 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=dpi, metadata=_metadata(image_format))
    plt.close(figure)
    return buffer.getvalue()


def _metadata(image_format: str) -> dict[str, str | None]:
    # No creation date in the file: the same data gives the same bytes (ETags, golden tests).
    if image_format == "svg":
        return {"Date": None}
    if image_format == "png":
        return {"Software": None}
    return {}


# Tick steps a reader counts in: minutes, hours, days, weeks.
_TICK_STEPS_S = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def _utc_ticks(start_unix_s: float, span_s: float, *, most: int) -> list[float]:
    """Instants on whole UTC minutes, hours or days (the first step giving at most `most` ticks)."""
    step = next((s for s in _TICK_STEPS_S if span_s / s <= most), _TICK_STEPS_S[-1])
    first = -(-start_unix_s // step) * step
    return [first + n * step for n in range(int((start_unix_s + span_s - first) // step) + 1)]


def _utc_tick(unix_s: float, span_s: float, *, full: bool = False) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(unix_s, UTC)
    if full:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.strftime("%d %b %H:%M" if span_s > 86400 else "%H:%M")

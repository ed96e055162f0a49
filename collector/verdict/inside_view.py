"""The inside view of an outage, in one sentence: what the probes inside the scope measured.

During a cut the probes inside the cut AS (or country) cannot upload; they keep measuring from
their plan and their outbox keeps the results (probe/daemon/outbox.py). When the link returns they
upload, late, and a revision recomputes the rounds (collector/service/revisions.py). Outside-in
evidence says the scope was unreachable from the world; the inside probes' own measurements of
targets outside the country say the same from the other side, or contradict it. This module turns
those measurements into the sentence an outage's evidence carries:

    Confirmed from inside: 2 probes in AS9198 measured 40 targets outside the country,
    0 answered, 10:31–18:29 UTC.

"Confirmed" when no target answered, "Contradicted" when at least half did, "Partly confirmed" in
between. Pure: the caller reads the measurements from storage; times are plain numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

VERBS = ("Partly confirmed", "Confirmed", "Contradicted")


@dataclass(frozen=True, slots=True)
class InsideMeasurement:
    """One result of a probe, reduced to what the inside view needs."""

    probe_id: str
    probe_asn: int
    probe_country: str
    target_id: str
    target_country: str  # "" when unknown: not counted as outside
    answered: bool
    round_start_unix_s: float
    round_length_s: float


@dataclass(frozen=True, slots=True)
class InsideView:
    probes: int
    targets: int  # distinct targets outside the country
    answered: int  # of those, how many answered at least once
    first_unix_s: float
    last_unix_s: float  # end of the last round measured

    def verb(self) -> str:
        if self.answered == 0:
            return "Confirmed"
        if 2 * self.answered >= self.targets:
            return "Contradicted"
        return "Partly confirmed"


def inside_view(
    measurements: Iterable[InsideMeasurement],
    *,
    asn: int,
    country: str,
    since_unix_s: float,
    until_unix_s: float | None,
) -> InsideView | None:
    """What probes in the scope (AS `asn`, or country `country` when asn is 0) measured of
    targets outside the country during [since, until) (until None: still going). None when they
    measured nothing there.

    The outage's edge rounds, the one it began in and the one it ended in, are left out when
    rounds between them were measured: the cut can begin or end inside a round (the outside view
    knows only rounds), so the inside probes' answers there say when, not whether. Without them
    a restoration in the middle of the outage's last round turned "Confirmed" into "Partly
    confirmed" (tests/lab/test_inside_view.py)."""
    during: list[InsideMeasurement] = []
    for m in measurements:
        if (m.probe_asn != asn) if asn else (m.probe_country != country):
            continue
        if not m.target_country or m.target_country == m.probe_country:
            continue
        # A round is the outage's when its middle is: an event's start and end are round times
        # or a measurement's within its round.
        middle = m.round_start_unix_s + m.round_length_s / 2
        if middle < since_unix_s or (until_unix_s is not None and middle > until_unix_s):
            continue
        during.append(m)
    inner = [m for m in during if not _is_edge_round(m, since_unix_s, until_unix_s)]
    return _view(inner or during)


def rounds_to_read(down_rounds: Mapping[int, float]) -> list[int]:
    """The outage's rounds whose inside measurements the view reads, ascending, from each DOWN
    round's reachability ratio as seen from outside: like with like, the fully dark rounds when
    there are any. A DOWN round in which some targets answered from outside is the cut coming or
    going (CI saw a restoration take several 2-second lab rounds), and the inside probes' answers
    there say when, not whether; without fully dark rounds, every DOWN round."""
    dark = [number for number, ratio in down_rounds.items() if ratio <= 0.0]
    return sorted(dark or down_rounds)


def _is_edge_round(m: InsideMeasurement, since_unix_s: float, until_unix_s: float | None) -> bool:
    """Whether the measurement's round holds the outage's start or its end (an end at the
    round's own end included: an event ends when the round after it starts)."""
    start, end = m.round_start_unix_s, m.round_start_unix_s + m.round_length_s
    return start <= since_unix_s < end or (until_unix_s is not None and start < until_unix_s <= end)


def _view(measurements: Iterable[InsideMeasurement]) -> InsideView | None:
    probes: set[str] = set()
    targets: dict[str, bool] = {}
    first: float | None = None
    last: float | None = None
    for m in measurements:
        end = m.round_start_unix_s + m.round_length_s
        probes.add(m.probe_id)
        targets[m.target_id] = targets.get(m.target_id, False) or m.answered
        first = m.round_start_unix_s if first is None else min(first, m.round_start_unix_s)
        last = end if last is None else max(last, end)
    if first is None or last is None:
        return None
    return InsideView(len(probes), len(targets), sum(targets.values()), first, last)


def inside_sentence(view: InsideView, *, asn: int, country: str) -> str:
    """The issue's sentence, e.g. "Confirmed from inside: 2 probes in AS9198 measured 40 targets
    outside the country, 0 answered, 10:31–18:29 UTC." """
    where = f"AS{asn}" if asn else country
    probes = "1 probe" if view.probes == 1 else f"{view.probes} probes"
    targets = "1 target" if view.targets == 1 else f"{view.targets} targets"
    span = f"{_hhmm(view.first_unix_s)}–{_hhmm(view.last_unix_s)} UTC"
    return (
        f"{view.verb()} from inside: {probes} in {where} measured {targets} outside the country, "
        f"{view.answered} answered, {span}."
    )


def inside_part(summary: str) -> str:
    """The inside view's sentence at the end of a summary ("" when it has none)."""
    for verb in VERBS:
        at = summary.find(f"{verb} from inside: ")
        if at >= 0:
            return summary[at:]
    return ""


def _hhmm(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%H:%M")

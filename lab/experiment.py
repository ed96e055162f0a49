"""One scenario run against a deployed lab: warm up, stage the timeline, watch, judge, draw.

The sequence: `vantage watch --json` starts first (so no event is missed);
the warm-up polls `vantage status --json` until every AS and country is UP (or
the scenario's warm-up bound passes); t=0 is taken; the runner applies the
actions on schedule while the live view refreshes each round (its status query
on a thread of its own, `BackgroundStatus`, so that a slow query never delays an
action); at the end the timelines of every AS and country (`vantage timeline
--json`) give the events and the curves, the events are matched with the ground
truth moved onto the times the actions were actually staged, and the chart is
written. `vantage probes --json` is sampled (on another thread, in order)
whenever actions fire, so that a probe's uploads across a cut can be checked
(store-and-forward).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from vantage.lab import chart, netns, views
from vantage.lab.live import LiveDisplay
from vantage.lab.netns import LabError
from vantage.lab.product import EventWatcher, Product
from vantage.lab.report import DetectedEvent, Report, format_report, match_events
from vantage.lab.runner import StagedAction, run_timeline, staged_actions, staged_truth
from vantage.lab.scenario import Action, Scenario
from vantage.lab.session import Lab

# How late an event may end and still match the staged truth: the collector
# needs a round to see the change and hysteresis holds it one more.
END_SLACK_ROUNDS = 4


@dataclass(slots=True)
class ProbeSample:
    elapsed_s: float
    results_by_asn: dict[int, int]


@dataclass(slots=True)
class Outcome:
    scenario: Scenario
    t0: datetime
    warmed_up: bool
    report: Report
    detected: list[DetectedEvent]
    chart_path: Path | None
    probe_samples: list[ProbeSample] = field(default_factory=list)
    final_as_rows: list[views.StatusRow] = field(default_factory=list)
    final_country_rows: list[views.StatusRow] = field(default_factory=list)
    staged: tuple[StagedAction, ...] = ()  # each action's actual staging time (the truth's times)
    status_skipped: int = 0  # live-view refreshes dropped because a status query overran


class BackgroundStatus:
    """Runs the live view's status query on a thread of its own, one query at a time.

    The timeline's loop starts a query and goes on staging actions; a query that is
    still running when the next falls due makes the runner skip that one
    (lab/runner.py). `finish` waits for the last query and raises what it raised.
    """

    def __init__(self, query: Callable[[float], None]) -> None:
        self._query = query
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, elapsed_s: float) -> None:
        if self.busy():
            raise RuntimeError("a status query is still running")
        self._thread = threading.Thread(target=self._run, args=(elapsed_s,), name="lab-status", daemon=True)
        self._thread.start()

    def _run(self, elapsed_s: float) -> None:
        try:
            self._query(elapsed_s)
        except BaseException as exc:  # handed to the caller by finish()
            self._error = exc

    def finish(self) -> None:
        if self._thread is not None:
            self._thread.join()
        error, self._error = self._error, None
        if error is not None:
            raise error


class Experiment:
    def __init__(
        self,
        lab: Lab,
        product: Product,
        scenario: Scenario,
        *,
        stream: TextIO,
        interactive: bool,
        chart_path: Path | None,
    ) -> None:
        self.lab = lab
        self.product = product
        self.scenario = scenario
        self.stream = stream
        self.interactive = interactive
        self.chart_path = chart_path
        self.round_s = float(lab.topology.round_seconds)
        self.probe_samples: list[ProbeSample] = []
        self._announced_events: set[tuple[str, bool]] = set()
        # The live display is written by the timeline's loop and by the status thread.
        self._display_lock = threading.Lock()

    def say(self, message: str) -> None:
        self.stream.write(message + "\n")
        self.stream.flush()

    def status(self) -> tuple[list[views.StatusRow], list[views.StatusRow]]:
        as_rows, country_rows = views.status_rows(self.product.query("status"))
        if not country_rows:
            # A collector whose `status` lists ASes only: ask per country.
            for country in self.lab.topology.countries:
                country_rows.extend(views.status_rows(self.product.query("status", "--country", country))[1])
        return as_rows, country_rows

    def warm_up(self) -> bool:
        """Poll until every AS and every country is UP; False if the bound passed first."""
        deadline = time.monotonic() + self.scenario.warmup_s
        expected_ases = {a.asn for a in self.lab.topology.ases}
        last_line = ""
        while True:
            try:
                as_rows, country_rows = self.status()
            except LabError as exc:
                as_rows, country_rows = [], []
                line = f"  waiting for the collector's first verdicts ({str(exc).splitlines()[-1][:80]})"
            else:
                up = {row.asn for row in as_rows if row.status == "UP"}
                countries_up = sum(1 for row in country_rows if row.status == "UP")
                line = (
                    f"  warming up: {len(up & expected_ases)}/{len(expected_ases)} ASes UP, "
                    f"{countries_up}/{len(self.lab.topology.countries)} countries UP"
                )
                if expected_ases <= up and countries_up >= len(self.lab.topology.countries):
                    self.say(line)
                    return True
            if line != last_line:
                self.say(line)
                last_line = line
            if time.monotonic() > deadline:
                self.say(f"  warm-up bound of {self.scenario.warmup_s:g} s passed; starting anyway")
                return False
            time.sleep(min(1.0, self.round_s / 2))

    def sample_probes(self, elapsed_s: float) -> None:
        document = self.product.query("probes")
        results: dict[int, int] = {}
        for record in document.get("probes", []) if isinstance(document, dict) else []:
            asn = int(record.get("observed_asn", 0) or record.get("asn", 0))
            results[asn] = results.get(asn, 0) + int(record.get("results_received", 0))
        self.probe_samples.append(ProbeSample(elapsed_s, results))

    def run(self) -> Outcome:
        self.lab.needs_netem(self.scenario.actions)
        watcher = self.product.start_watch()
        warmed_up = self.warm_up()
        t0 = datetime.now(UTC)
        t0_monotonic = time.monotonic()
        display = LiveDisplay(
            stream=self.stream,
            title=f"Vantage lab: {self.scenario.name}",
            t0=t0,
            interactive=self.interactive,
        )
        self.sample_probes(0.0)
        # Probe samples are queries too: taken in order on a thread of their own, dated when
        # each query starts, so that they never hold up the next action either.
        sampler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lab-probes")
        samples: list[Future[None]] = []

        def sample_now() -> None:
            self.sample_probes(time.monotonic() - t0_monotonic)

        def apply(active: tuple[Action, ...], fired: tuple[Action, ...], elapsed_s: float) -> None:
            self.lab.apply(active)
            samples.append(sampler.submit(sample_now))
            with self._display_lock:
                for action in fired:
                    late_s = elapsed_s - action.at_s
                    late = f" (planned {action.at_s:g} s, late by {late_s:.1f} s)" if late_s >= 1.0 else ""
                    display.note(elapsed_s, f"staged: {action.label}{late}")

        def tick(elapsed_s: float) -> None:
            self._announce_events(watcher, display, t0_monotonic)
            try:
                as_rows, country_rows = self.status()
            except LabError as exc:
                with self._display_lock:
                    display.note(elapsed_s, f"status query failed: {str(exc).splitlines()[-1][:100]}")
                return
            with self._display_lock:
                display.update(elapsed_s, as_rows, country_rows)

        status = BackgroundStatus(tick)
        try:
            timeline = run_timeline(
                self.scenario.actions,
                self.scenario.duration_s,
                apply=apply,
                status=status,
                clock=time.monotonic,
                sleep=time.sleep,
                tick_s=self.round_s,
            )
        finally:
            status.finish()
            sampler.shutdown(wait=True)
        for sample in samples:
            sample.result()  # a failed sample fails the run, as it did inline
        self.sample_probes(time.monotonic() - t0_monotonic)
        self._announce_events(watcher, display, t0_monotonic)
        final_as, final_countries = self.status()
        try:
            outcome = self._judge(
                t0, t0_monotonic, warmed_up, watcher, final_as, final_countries, timeline.staged
            )
            outcome.status_skipped = timeline.status_skipped
            return outcome
        finally:
            self.lab.apply(())  # back to a healthy network (the lab may stay up for another run)
            netns.stop_process(self.lab.state, watcher.process.pid)

    def _announce_events(self, watcher: EventWatcher, display: LiveDisplay, t0_monotonic: float) -> None:
        for received in watcher.snapshot():
            document = received.document
            closed = views.is_closed(document)
            key = (str(document.get("id", "")), closed)
            if key in self._announced_events:
                continue
            self._announced_events.add(key)
            scope = f"AS{document['asn']}" if document.get("asn") else str(document.get("country", "?"))
            verb = "closed" if closed else "opened"
            with self._display_lock:
                display.note(
                    received.received_monotonic - t0_monotonic,
                    f"event {verb}: {views.short_kind(document.get('kind'))} {scope}"
                    f"{views.mechanism_note(document)}  {document.get('summary', '')}",
                )

    def _judge(
        self,
        t0: datetime,
        t0_monotonic: float,
        warmed_up: bool,
        watcher: EventWatcher,
        final_as: list[views.StatusRow],
        final_countries: list[views.StatusRow],
        staged: tuple[StagedAction, ...],
    ) -> Outcome:
        topology = self.lab.topology
        first_seen: dict[str, float] = {}
        closed_seen: dict[str, float] = {}
        latest: dict[str, dict[str, Any]] = {}
        for received in watcher.snapshot():
            event_id = str(received.document.get("id", ""))
            offset = received.received_monotonic - t0_monotonic
            first_seen.setdefault(event_id, offset)
            if views.is_closed(received.document):
                closed_seen.setdefault(event_id, offset)
            latest[event_id] = received.document
        as_series, country_series = [], []
        for autonomous_system in topology.ases:
            timeline = self.product.query("timeline", "--asn", str(autonomous_system.asn))
            label = f"AS{autonomous_system.asn} {autonomous_system.name} ({autonomous_system.country})"
            as_series.append(chart.Series(label, views.timeline_points(timeline, t0)))
            for event in timeline.get("events", []) if isinstance(timeline, dict) else []:
                latest[str(event.get("id", ""))] = event
        for country in topology.countries:
            timeline = self.product.query("timeline", "--country", country)
            country_series.append(chart.Series(country, views.timeline_points(timeline, t0)))
            for event in timeline.get("events", []) if isinstance(timeline, dict) else []:
                latest[str(event.get("id", ""))] = event
        detected = [
            views.event_from_document(document, t0, first_seen.get(event_id), closed_seen.get(event_id))
            for event_id, document in latest.items()
        ]
        # Events over before t=0 belong to the warm-up, not to the scenario.
        detected = [d for d in detected if d.ended_s is None or d.ended_s > 0]
        # Detection is measured from when the network changed, not from when it was planned to.
        report = match_events(
            staged_truth(self.scenario.expected, staged),
            detected,
            duration_s=self.scenario.duration_s,
            slack_s=END_SLACK_ROUNDS * self.round_s,
        )
        chart_path = None
        if self.chart_path is not None:
            chart_path = chart.write_chart(
                self.chart_path,
                title=f"Vantage lab: {self.scenario.description or self.scenario.name}",
                countries=country_series,
                ases=as_series,
                spans=chart.action_spans(staged_actions(staged), self.scenario.duration_s),
                duration_s=self.scenario.duration_s,
                round_seconds=self.round_s,
            )
        return Outcome(
            scenario=self.scenario,
            t0=t0,
            warmed_up=warmed_up,
            report=report,
            detected=sorted(detected, key=lambda d: d.started_s),
            chart_path=chart_path,
            probe_samples=self.probe_samples,
            final_as_rows=final_as,
            final_country_rows=final_countries,
            staged=staged,
        )


def print_outcome(outcome: Outcome, stream: TextIO) -> None:
    stream.write(
        "\nDetected events beside the staged truth (times from t=0; delay = first published - staged):\n"
    )
    stream.write(format_report(outcome.report) + "\n")
    if outcome.chart_path is not None:
        stream.write(f"\nChart: {outcome.chart_path.resolve()}\n")
    stream.flush()

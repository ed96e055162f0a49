"""Vantage itself, deployed into the lab exactly as a user would deploy it: through the `vantage` CLI.

The collector runs in its own namespace in the hosting AS (`vantage collector
serve --plaintext --round-seconds N --asn-db <generated files> --allow-range
198.18.0.0/15`); targets are imported with `vantage collector targets import`,
each probe gets a token from `vantage collector token create` and runs
`vantage probe run ... --allow-range 198.18.0.0/15` in its AS's probe
namespace. With a site on the host (lab/commands.py), the collector also
listens on a unix socket (`--listen-unix`) that `vantage web` there asks. In a
topology with host blocks only the test-list (inside-out)
targets are imported: once the probes are enrolled, `vantage collector targets
discover --country CC ...` censuses every country, `vantage coverage --json`
is polled until every AS is analysable, and the campaign keeps running while a
scenario runs, as it would in production: the collector does not retire the
targets of an AS it judges anything but UP, so a staged shutdown keeps its
targets (collector/discovery/selection.py). Everything the lab learns comes from
`vantage status|timeline|watch|probes --json`, run inside the collector's
namespace against 127.0.0.1. No module of the collector or the probe is
imported here: if the CLI works for the lab, it works for a user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vantage.lab import datasets, netns
from vantage.lab.session import Lab

COLLECTOR_PORT = 7443
LOCAL_ENDPOINT = f"127.0.0.1:{COLLECTOR_PORT}"
# Start-up waits: a collector or probe is up in a second or two; these bounds
# only stop a broken start from hanging the lab forever.
DEFAULT_START_TIMEOUT_S = 60.0
DEFAULT_QUERY_TIMEOUT_S = 30.0
# After the first census is complete and every AS analysable, the lab waits this many more
# censuses before a scenario starts: an address's score then reflects two censuses, so a
# flapping host that was off in one ranks below the steady ones and is not a target.
SETTLE_CENSUSES = 1
# Bound on the whole discovery phase, in census periods (the first census takes one or two).
DISCOVERY_TIMEOUT_CENSUSES = 8


# Each AS gets its baseline traces every this many rounds in the lab.
LAB_TRACE_BASELINE_ROUNDS = 4


def vantage_argv(*arguments: str) -> list[str]:
    """The `vantage` command of this very installation (not whatever is first on PATH)."""
    return [sys.executable, "-m", "vantage.cli", *arguments]


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    received_monotonic: float
    document: dict[str, Any]


class EventWatcher:
    """`vantage watch --json` in the background: every event line, with when it arrived."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.events: list[ReceivedEvent] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="vantage-watch", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("{"):
                continue
            try:
                document = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.events.append(ReceivedEvent(time.monotonic(), document))

    def snapshot(self) -> list[ReceivedEvent]:
        with self._lock:
            return list(self.events)


class Product:
    def __init__(self, lab: Lab, *, collector_socket: Path | None = None) -> None:
        """collector_socket: where the collector also listens (`--listen-unix`) for a site on the host."""
        self.lab = lab
        self.collector_socket = collector_socket
        self.state = lab.state
        self.topology = lab.topology
        self.data_dir = self.state.work_dir / "collector"
        self.logs = self.state.work_dir / "logs"

    # -- deployment -------------------------------------------------------------------------------

    def deploy(
        self,
        *,
        progress: Callable[[str], None] = lambda message: None,
        discover: bool | None = None,
        allow_ranges: Sequence[str] | None = None,
        exclude: Path | None = None,
    ) -> None:
        """Collector, datasets, targets, tokens, probes (and discovery): the whole product, in order.

        discover: census every country and wait for coverage (default: when the topology has host
        blocks); False with host blocks imports the test lists only and leaves discovery to the
        caller. allow_ranges, exclude: for `vantage collector serve` (start_collector).
        """
        progress("starting the collector")
        self.start_collector(allow_ranges=allow_ranges, exclude=exclude)
        discovering = self.topology.discovers_targets
        progress("importing test-list (inside-out) targets" if discovering else "importing targets")
        self.import_targets(test_lists_only=discovering)
        for autonomous_system in self.topology.probe_ases:
            progress(f"enrolling a probe in AS{autonomous_system.asn} ({autonomous_system.country})")
            token = self.create_token(f"lab-probe-as{autonomous_system.asn}")
            self.start_probe(autonomous_system.asn, token)
        for autonomous_system in self.topology.probe_ases:
            self._wait_for_log(
                self.logs / f"probe-{autonomous_system.asn}.log",
                "probe enrolled as",
                f"probe in AS{autonomous_system.asn}",
            )
        if discovering if discover is None else discover:
            self.discover(self.topology.countries, progress=progress)

    # -- discovery --------------------------------------------------------------------------------

    def discover(
        self,
        countries: Sequence[str],
        *,
        progress: Callable[[str], None] = lambda message: None,
        settle_censuses: int = SETTLE_CENSUSES,
        cancel_when_covered: bool = False,
    ) -> str:
        """Census `countries` and wait until every AS of them is analysable; the campaign id. The
        campaign goes on (re-discovery during a shutdown retires nothing of the dark ASes) unless
        `cancel_when_covered`."""
        arguments = [f"--country={country}" for country in countries]
        census = f"{self.topology.census_seconds}s"
        progress(f"discovering targets in {', '.join(countries)} (one census every {census})")
        campaign = json.loads(
            self.admin("targets", "discover", *arguments, "--census-period", census, "--json")
        )
        campaign_id = str(campaign["id"])
        self.wait_for_coverage(campaign_id, countries, settle_censuses=settle_censuses)
        if cancel_when_covered:
            self.admin("targets", "discover", "--cancel", campaign_id, "--json")
            progress(f"discovery campaign {campaign_id} cancelled; its targets stay in use")
        else:
            progress(f"discovery campaign {campaign_id}: every AS analysable; re-discovery goes on")
        return campaign_id

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        document = json.loads(self.admin("targets", "discover", "--list", "--all", "--json") or "{}")
        for campaign in document.get("campaigns", []):
            if campaign.get("id") == campaign_id:
                return dict(campaign)
        raise netns.LabError(f"discovery campaign {campaign_id} is not listed by the collector")

    def coverage(self) -> list[dict[str, Any]]:
        document = self.query("coverage")
        return list(document.get("ases", [])) if isinstance(document, dict) else []

    def wait_for_coverage(
        self, campaign_id: str, countries: Sequence[str], *, settle_censuses: int = SETTLE_CENSUSES
    ) -> None:
        """Poll until the first census is complete and every AS of `countries` is analysable with
        targets, then `settle_censuses` census periods more; one progress line per change."""
        census_s = float(self.topology.census_seconds)
        expected = {a.asn for a in self.topology.ases if a.country in countries}
        deadline = time.monotonic() + DISCOVERY_TIMEOUT_CENSUSES * census_s
        covered_at: float | None = None
        last_line = ""
        while True:
            campaign = self.campaign(campaign_id)
            ases = {int(a.get("asn", 0)): a for a in self.coverage()}
            analysable = {
                asn for asn in expected if ases.get(asn, {}).get("analysable") and ases[asn].get("targets")
            }
            done, total = int(campaign.get("blocks_done", 0)), int(campaign.get("blocks_total", 0))
            targets = sum(int(ases.get(asn, {}).get("targets", 0)) for asn in expected)
            line = (
                f"  discovery: blocks {done}/{total} censused, {int(campaign.get('responders', 0))} "
                f"responders; {len(analysable)}/{len(expected)} ASes analysable, {targets} targets"
            )
            if line != last_line:
                print(line, flush=True)
                last_line = line
            now = time.monotonic()
            if covered_at is None and total and done >= total and analysable == expected:
                covered_at = now
            if covered_at is not None and now >= covered_at + settle_censuses * census_s:
                return
            if now > deadline:
                missing = ", ".join(
                    f"AS{asn}: {ases.get(asn, {}).get('reason', 'no coverage')}"
                    for asn in sorted(expected - analysable)
                )
                raise netns.LabError(
                    f"discovery did not cover the lab within {DISCOVERY_TIMEOUT_CENSUSES} census periods "
                    f"(blocks {done}/{total}; {missing or 'waiting for the census'}); "
                    f"see {self.logs / 'collector.log'}"
                )
            time.sleep(min(2.0, census_s / 4))

    def write_inputs(self) -> tuple[Path, Path, Path]:
        inputs = self.state.work_dir / "inputs"
        inputs.mkdir(exist_ok=True)
        asn_file = inputs / "lab-asn-ipv4.csv"
        country_file = inputs / "lab-country-ipv4.csv"
        targets_file = inputs / "lab-targets.csv"
        asn_file.write_text(datasets.asn_csv(self.topology), encoding="utf-8")
        country_file.write_text(datasets.country_csv(self.topology), encoding="utf-8")
        targets_file.write_text(datasets.targets_csv(self.topology), encoding="utf-8")
        (inputs / "lab-test-lists.csv").write_text(
            datasets.inside_out_targets_csv(self.topology), encoding="utf-8"
        )
        return asn_file, country_file, targets_file

    def start_collector(
        self, *, allow_ranges: Sequence[str] | None = None, exclude: Path | None = None
    ) -> None:
        """`vantage collector serve`: `allow_ranges` opens (default: the lab's address plan), `exclude`
        is a ZMap-form blocklist."""
        asn_file, country_file, _ = self.write_inputs()
        self.data_dir.mkdir(exist_ok=True)
        argv = vantage_argv(
            "collector",
            "serve",
            "--listen",
            f"0.0.0.0:{COLLECTOR_PORT}",
            "--data-dir",
            str(self.data_dir),
            "--plaintext",
            "--round-seconds",
            str(self.topology.round_seconds),
            "--asn-db",
            str(asn_file),
            "--asn-db",
            str(country_file),
            *(
                argument
                # The lab's own space (198.18.0.0/15 by default) is special-purpose.
                for cidr in (allow_ranges if allow_ranges is not None else [self.topology.address_plan])
                for argument in ("--allow-range", cidr)
            ),
            *(["--exclude", str(exclude)] if exclude is not None else []),
            *(["--listen-unix", str(self.collector_socket)] if self.collector_socket is not None else []),
            # With real BGP, the route collector's relay brings the routers' routes (lab/routing.py).
            *(
                ["--bgp-source", f"exabgp:unix:{self.lab.routing.feed_socket_path}"]
                if self.lab.routing is not None
                else []
            ),
            # A census every few rounds needs a larger per-/24 budget and campaign rate than
            # the defaults (made for a census a day); exactly as large as it needs.
            "--discovery-budget",
            str(datasets.discovery_budget_per_hour(self.topology)),
            "--discovery-rate",
            str(datasets.discovery_rate_pps(self.topology)),
            # Traceroutes, so that verdicts say where a cut is: a baseline of every AS every few
            # rounds (the lab's rounds are seconds; a deployment's baseline is hours).
            "--traceroutes",
            "--trace-baseline",
            str(LAB_TRACE_BASELINE_ROUNDS * self.topology.round_seconds),
        )
        log = self.logs / "collector.log"
        netns.start_process(self.state, netns.collector_ns(self.state), argv, role="collector", log_path=log)
        self.state.info["collector"] = f"{self.topology.collector_address}:{COLLECTOR_PORT}"
        self.state.info["data_dir"] = str(self.data_dir)
        self.state.save()
        self._wait_for_log(log, "collector listening on", "the collector")

    def import_targets(self, *, test_lists_only: bool = False) -> None:
        """Every target host, or (`test_lists_only`, when discovery finds the rest) the test lists'."""
        name = "lab-test-lists.csv" if test_lists_only else "lab-targets.csv"
        self.admin("targets", "import", str(self.state.work_dir / "inputs" / name))

    def create_token(self, name: str) -> str:
        token = self.admin("token", "create", "--name", name).strip()
        if not token or len(token.split()) != 1:
            raise netns.LabError(f"`vantage collector token create` printed {token!r}, not a token")
        return token

    def start_probe(self, asn: int, token: str) -> None:
        state_dir = self.state.work_dir / "probes" / str(asn)
        state_dir.mkdir(parents=True, exist_ok=True)
        argv = vantage_argv(
            "probe",
            "run",
            "--collector",
            f"{self.topology.collector_address}:{COLLECTOR_PORT}",
            # One argument with "=": a token may start with "-" (URL-safe base64).
            f"--enroll-token={token}",
            "--state-dir",
            str(state_dir),
            "--plaintext",
            "--allow-range",
            self.topology.address_plan,
            # The retry backoff's ceiling (300 s by default, for real deployments) scaled to the
            # lab's few-second rounds, so a probe cut off by a scenario is back within a round
            # or two of the restoration instead of minutes later.
            "--retry-max-seconds",
            str(2 * self.topology.round_seconds),
            "--max-rate",
            str(datasets.probe_max_rate(self.topology)),
        )
        netns.start_process(
            self.state,
            netns.probe_ns(self.state, asn),
            argv,
            role=f"probe-{asn}",
            log_path=self.logs / f"probe-{asn}.log",
        )

    def _wait_for_log(
        self, log: Path, marker: str, what: str, timeout_s: float = DEFAULT_START_TIMEOUT_S
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            if marker in text:
                return
            if not self._process_alive_for(log):
                tail = "\n".join(text.strip().splitlines()[-15:])
                raise netns.LabError(f"{what} exited during start-up; the end of {log}:\n{tail}")
            time.sleep(0.1)
        raise netns.LabError(f"{what} did not print {marker!r} within {timeout_s:g} s (see {log})")

    def _process_alive_for(self, log: Path) -> bool:
        role = log.stem
        for process in self.state.processes:
            if process.get("role") == role:
                try:
                    os.kill(int(str(process["pid"])), 0)
                    os.waitpid(int(str(process["pid"])), os.WNOHANG)
                except (ProcessLookupError, ChildProcessError):
                    return False
                return _pid_running(int(str(process["pid"])))
        return True

    # -- the CLI, inside the collector's namespace ----------------------------------------------

    def cli(self, *arguments: str, timeout_s: float = DEFAULT_QUERY_TIMEOUT_S) -> str:
        argv = netns.in_namespace(netns.collector_ns(self.state), vantage_argv(*arguments))
        return netns.run_command(argv, timeout_s=timeout_s)

    def admin(self, *arguments: str, timeout_s: float = DEFAULT_QUERY_TIMEOUT_S) -> str:
        return self.cli(
            "collector",
            *arguments,
            "--collector",
            LOCAL_ENDPOINT,
            "--data-dir",
            str(self.data_dir),
            "--plaintext",
            timeout_s=timeout_s,
        )

    def query(self, *arguments: str) -> Any:
        """A query command with --json; the parsed document."""
        output = self.cli(*arguments, "--collector", LOCAL_ENDPOINT, "--plaintext", "--json")
        output = output.strip()
        if not output:
            return {}
        try:
            return json.loads(output)
        except ValueError:
            # One object per line (a stream-like answer): a list.
            return [json.loads(line) for line in output.splitlines() if line.strip()]

    def start_watch(self) -> EventWatcher:
        argv = vantage_argv("watch", "--collector", LOCAL_ENDPOINT, "--plaintext", "--json")
        process = netns.start_process(
            self.state,
            netns.collector_ns(self.state),
            argv,
            role="watch",
            log_path=self.logs / "watch.log",
            stdout=subprocess.PIPE,
        )
        return EventWatcher(process)


def _pid_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False

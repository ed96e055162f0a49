"""The Grafana dashboard: valid JSON, a datasource variable, queries that parse and name real metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from tests.collector.metrics.snapshots import kazakhstan_snapshot
from tests.conftest import REPO_ROOT
from vantage.collector.metrics.service_metrics import CollectorMetrics, render_registry

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "vantage-dashboard.json"
SECTIONS = {"Country overview", "AS timeline", "Failure reasons", "Probe fleet health", "Collector health"}
# Grafana's variables, replaced by something PromQL accepts for the syntax check.
VARIABLES = {"$country": ".*", "$asn": ".*", "$__rate_interval": "5m"}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def expressions(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in panels(dashboard) for t in p["targets"]]
    exprs += [a["expr"] for a in dashboard["annotations"]["list"] if "expr" in a]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_sections_ids_and_layout(dashboard: dict[str, Any]) -> None:
    assert {p["title"] for p in dashboard["panels"] if p["type"] == "row"} == SECTIONS
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["type"] == "row" or panel.get("description"), f"{panel['title']} has no description"


def test_every_query_uses_the_prometheus_datasource_variable(dashboard: dict[str, Any]) -> None:
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == "prometheus"
    wanted = {"type": "prometheus", "uid": "${" + variable["name"] + "}"}
    for panel in panels(dashboard):
        assert panel["datasource"] == wanted, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == wanted, panel["title"]


def known_metric_names() -> set[str]:
    """Every sample name the collector (with data) and the probe daemon expose."""
    registry = CollectorRegistry()
    metrics = CollectorMetrics(registry)
    metrics.observe_batch(accepted=1, duplicates=0, rejected_by_reason={"bad_address": 1}, latency_s=0.1)
    metrics.observe_rpc(method="SubmitResults", code="OK")
    metrics.observe_round(round_number=1, duration_s=1.0, verdict_s=0.1, finished_at_unix=1.0)
    metrics.set_storage_bytes(1)
    metrics.set_verdict_snapshot(kazakhstan_snapshot(down=True))
    text = b"".join(render_registry(registry)).decode()
    try:
        from prometheus_client import generate_latest

        from vantage.probe.daemon.metrics import ProbeMetrics

        probe_registry = CollectorRegistry()
        ProbeMetrics(probe_registry)
        text += generate_latest(probe_registry).decode()
    except ImportError:
        pass  # the probe daemon is not installed with this collector: its names are skipped below
    names: set[str] = set()
    # From the TYPE lines too: a labelled counter with no children yet has no samples.
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def test_queries_name_only_metrics_that_exist(dashboard: dict[str, Any]) -> None:
    known = known_metric_names()
    probe_known = any(name.startswith("vantage_probe_") for name in known)
    for expr in expressions(dashboard):
        for name in re.findall(r"\bvantage_[a-z0-9_]+", expr):
            if name.startswith("vantage_probe_") and not probe_known:
                continue
            assert name in known, f"{name} in {expr!r} is not exposed"


@pytest.mark.prometheus
def test_queries_are_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    rules = ["groups:", "  - name: dashboard", "    rules:"]
    for number, expr in enumerate(expressions(dashboard)):
        if expr.startswith("label_values("):
            match = re.fullmatch(r"label_values\((.*), \w+\)", expr)
            assert match, expr
            expr = match.group(1)
        for variable, value in VARIABLES.items():
            expr = expr.replace(variable, value)
        rules += [f"      - record: dashboard:query{number}", f"        expr: {json.dumps(expr)}"]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text("\n".join(rules) + "\n")
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr

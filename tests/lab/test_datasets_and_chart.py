"""The generated datasets and target list, and the chart drawn from synthetic data."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from vantage.lab.chart import Series, action_spans, write_chart
from vantage.lab.datasets import TARGETS_HEADER, asn_csv, country_csv, targets_csv
from vantage.lab.scenario import load_scenario
from vantage.lab.topology import load_topology
from vantage.lab.views import SeriesPoint

LAB = Path(__file__).resolve().parents[2] / "lab"
TOPOLOGY = load_topology(LAB / "topologies" / "default.toml")


def test_asn_and_country_files_cover_every_as() -> None:
    asn_rows = list(csv.reader(io.StringIO(asn_csv(TOPOLOGY))))
    country_rows = list(csv.reader(io.StringIO(country_csv(TOPOLOGY))))
    assert len(asn_rows) == len(country_rows) == len(TOPOLOGY.ases)
    by_asn = {int(row[2]): row for row in asn_rows}
    kazakhtelecom = TOPOLOGY.as_by_number(9198)
    start, end, _, name = by_asn[9198]
    assert f"{start}/24" == kazakhtelecom.prefix and end.endswith(".255") and name == kazakhtelecom.name
    assert {row[2] for row in country_rows} == set(TOPOLOGY.countries)


def test_targets_csv_lists_every_host_with_its_dns_expectation() -> None:
    text = targets_csv(TOPOLOGY)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == TARGETS_HEADER
    hosts = [h for a in TOPOLOGY.ases for h in a.hosts]
    assert len(rows) == 2 * len(hosts)
    social = TOPOLOGY.host("24940:social")
    row = next(r for r in rows if r["target"] == social.address)
    assert row["protocols"] == "icmp;dns;tcp" and row["country"] == "" and row["asn"] == ""
    tags = row["tags"].split(";")
    assert f"qname:{social.dns_name}" in tags and f"expect:{social.address}" in tags and "list:KZ" in tags
    assert any(r["target"] == f"http://{social.address}/" and r["protocols"] == "http" for r in rows)


def test_chart_is_written_from_synthetic_timelines(tmp_path: Path) -> None:
    scenario = load_scenario(LAB / "scenarios" / "kazakhstan-2022.toml")
    spans = action_spans(scenario.actions, scenario.duration_s)
    national = [s for s in spans if s.label.startswith("national cut")]
    assert national and (national[0].start_s, national[0].end_s) == (65.0, 105.0)
    assert all(s.kind != "clear" for s in spans)

    def series(label: str, down_from: float, down_to: float) -> Series:
        points = []
        for t in range(-9, 200, 3):
            down = down_from <= t < down_to
            points.append(SeriesPoint(float(t), 0.02 if down else 0.98, "DOWN" if down else "UP"))
        return Series(label, tuple(points))

    path = write_chart(
        tmp_path / "chart.png",
        title="synthetic",
        countries=[series("KZ", 65, 105), series("DE", 0, 0)],
        ases=[series("AS9198", 65, 105), series("AS29355", 40, 160)],
        spans=spans,
        duration_s=scenario.duration_s,
        round_seconds=3,
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000

"""QueryService and the query commands against a real collector whose database holds computed rounds."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.collector.conftest import VANTAGE, CollectorProcess, start_collector
from tests.collector.service.test_round_loop import FIRST_ROUND, OUTAGE_FROM, ROUND_S, ROUNDS, compute_history
from vantage.collector.verdict.engine import ALGORITHM_VERSION
from vantage.v1 import query_service_pb2, query_service_pb2_grpc

pytest.importorskip("vantage.collector.verdict.engine")


@pytest.fixture(scope="module")
def history_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    data_dir = tmp_path_factory.mktemp("history") / "collector"
    data_dir.mkdir()
    compute_history(data_dir / "collector.sqlite3")
    handle = start_collector(data_dir, "--round-seconds", "3600")
    try:
        yield handle
    finally:
        handle.stop(signal.SIGKILL)


def stub(collector: CollectorProcess) -> tuple[grpc.Channel, query_service_pb2_grpc.QueryServiceStub]:
    channel = collector.channel()
    return channel, query_service_pb2_grpc.QueryServiceStub(channel)


def test_as_and_country_status(history_collector: CollectorProcess) -> None:
    channel, query = stub(history_collector)
    with channel:
        down = query.GetAsStatus(query_service_pb2.GetAsStatusRequest(asn=64500), timeout=10)
        assert down.status == query_service_pb2.STATUS_DOWN
        assert down.round == FIRST_ROUND + ROUNDS - 1
        assert down.evidence.vantage_points == 3 and down.evidence.summary
        country = query.GetCountryStatus(query_service_pb2.GetCountryStatusRequest(country="kz"), timeout=10)
        assert country.country == "KZ" and country.round == FIRST_ROUND + ROUNDS - 1
        with pytest.raises(grpc.RpcError) as failure:
            query.GetCountryStatus(query_service_pb2.GetCountryStatusRequest(country="ZZ"), timeout=10)
        assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_list_as_status_pages_and_filters(history_collector: CollectorProcess) -> None:
    channel, query = stub(history_collector)
    with channel:
        first = query.ListAsStatus(query_service_pb2.ListAsStatusRequest(page_size=1), timeout=10)
        assert [s.asn for s in first.statuses] == [64500] and first.next_page_token
        second = query.ListAsStatus(
            query_service_pb2.ListAsStatusRequest(page_size=1, page_token=first.next_page_token), timeout=10
        )
        assert [s.asn for s in second.statuses] == [64520] and not second.next_page_token
        down = query.ListAsStatus(
            query_service_pb2.ListAsStatusRequest(statuses=[query_service_pb2.STATUS_DOWN]), timeout=10
        )
        assert [s.asn for s in down.statuses] == [64500]
        for bad in (
            query_service_pb2.ListAsStatusRequest(page_token="x"),
            query_service_pb2.ListAsStatusRequest(page_size=5000),
        ):
            with pytest.raises(grpc.RpcError) as failure:
                query.ListAsStatus(bad, timeout=10)
            assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_timeline_has_one_point_per_round_and_the_outage(history_collector: CollectorProcess) -> None:
    channel, query = stub(history_collector)
    request = query_service_pb2.GetTimelineRequest(asn=64500)
    request.since.FromSeconds(int(FIRST_ROUND * ROUND_S))
    request.until.FromSeconds(int((FIRST_ROUND + ROUNDS) * ROUND_S))
    with channel:
        timeline = query.GetTimeline(request, timeout=10)
    assert [p.round for p in timeline.points] == [FIRST_ROUND + n for n in range(ROUNDS)]
    assert timeline.points[0].reachability_ratio == 1.0
    assert timeline.points[-1].status == query_service_pb2.STATUS_DOWN
    assert [e.kind for e in timeline.events] == [query_service_pb2.EVENT_KIND_OUTAGE]
    assert timeline.events[0].started_at.ToSeconds() >= (FIRST_ROUND + OUTAGE_FROM) * ROUND_S


def test_watch_replays_open_events(history_collector: CollectorProcess) -> None:
    channel, query = stub(history_collector)
    with channel:
        stream = query.WatchEvents(
            query_service_pb2.WatchEventsRequest(country="KZ", include_open=True), timeout=30
        )
        first = next(stream)
        stream.cancel()
    assert first.asn == 64500 and first.state == query_service_pb2.EVENT_STATE_OPEN
    assert first.country == ""  # the wire sets exactly one of asn / country


def run(collector: CollectorProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VANTAGE, *args, "--collector", collector.address, "--plaintext"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip


def test_query_commands(history_collector: CollectorProcess) -> None:
    table = run(history_collector, "status").stdout
    assert "AS64500" in table and "DOWN" in table and "KZ" in table
    document = json.loads(run(history_collector, "status", "--json").stdout)
    assert {s["asn"] for s in document["ases"]} == {64500, 64520}
    assert {c["country"] for c in document["countries"]} >= {"KZ"}
    one = json.loads(run(history_collector, "status", "--asn", "64500", "--json").stdout)
    assert one["status"] == "STATUS_DOWN"
    assert "evidence:" in run(history_collector, "status", "--asn", "64500").stdout
    country = run(history_collector, "status", "--country", "KZ").stdout
    assert "AS64500" in country and "AS64520" not in country
    since = "2026-01-01T00:00:00Z"
    timeline = json.loads(
        run(history_collector, "timeline", "--asn", "64500", "--since", since, "--json").stdout
    )
    assert len(timeline["points"]) == ROUNDS and len(timeline["events"]) == 1
    assert "outage AS64500" in run(history_collector, "timeline", "--asn", "64500", "--since", since).stdout


def test_the_mechanism_through_grpc_and_the_commands(history_collector: CollectorProcess) -> None:
    """The history's outage is a route withdrawal (tests/collector/service/test_round_loop.py)."""
    channel, query = stub(history_collector)
    withdrawal = query_service_pb2.MECHANISM_BGP_WITHDRAWAL
    with channel:
        down = query.GetAsStatus(query_service_pb2.GetAsStatusRequest(asn=64500), timeout=10)
        assert down.mechanism == withdrawal and down.algorithm_version.startswith(ALGORITHM_VERSION + "+")
        assert down.evidence.routing.state == 3 and down.evidence.routing.baseline_prefixes == 4
        assert down.evidence.mechanism_reason.startswith("probes fail and routes withdrawn")
        up = query.GetAsStatus(query_service_pb2.GetAsStatusRequest(asn=64520), timeout=10)
        assert up.mechanism == query_service_pb2.MECHANISM_UNSPECIFIED
        kz = query.GetCountryStatus(query_service_pb2.GetCountryStatusRequest(country="KZ"), timeout=10)
        assert kz.mechanism == withdrawal and kz.mechanism_reason
        request = query_service_pb2.GetTimelineRequest(asn=64500)
        request.since.FromSeconds(int(FIRST_ROUND * ROUND_S))
        request.until.FromSeconds(int((FIRST_ROUND + ROUNDS) * ROUND_S))
        timeline = query.GetTimeline(request, timeout=10)
        mechanisms = [p.mechanism for p in timeline.points]
        assert mechanisms == [0] * OUTAGE_FROM + [withdrawal] * (ROUNDS - OUTAGE_FROM)
        assert [e.mechanism for e in timeline.events] == [withdrawal]
    status = run(history_collector, "status").stdout
    assert "MECHANISM" in status and "bgp_withdrawal" in status
    detail = run(history_collector, "status", "--asn", "64500").stdout
    assert "mechanism bgp_withdrawal: probes fail and routes withdrawn" in detail
    since = "2026-01-01T00:00:00Z"
    timeline_text = run(history_collector, "timeline", "--asn", "64500", "--since", since).stdout
    assert "mechanism bgp_withdrawal" in timeline_text


def test_watch_command_streams_json_lines(history_collector: CollectorProcess) -> None:
    process = subprocess.Popen(
        [*VANTAGE, "watch", "--country", "KZ", "--json",
         "--collector", history_collector.address, "--plaintext"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # bounded: the open event is replayed at once
        event = json.loads(line)
        assert event["asn"] == 64500 and event["kind"] == "EVENT_KIND_OUTAGE"
    finally:
        process.kill()
        process.wait(timeout=10)


def test_timeline_arguments_are_checked(history_collector: CollectorProcess) -> None:
    finished = subprocess.run(
        [*VANTAGE, "timeline", "--asn", "1", "--since", "yesterday-ish",
         "--collector", history_collector.address],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert finished.returncode == 2 and "ISO 8601" in finished.stderr
    no_scope = subprocess.run([*VANTAGE, "timeline"], capture_output=True, text=True, timeout=60)
    assert no_scope.returncode == 2


def test_a_missing_data_file_does_not_start_a_server(tmp_path: Path) -> None:
    finished = subprocess.run(
        [*VANTAGE, "collector", "serve", "--data-dir", str(tmp_path), "--plaintext",
         "--asn-db", str(tmp_path / "no.csv")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert finished.returncode == 2 and "no such file" in finished.stderr


def test_list_events_filters_by_scope_and_period(history_collector: CollectorProcess) -> None:
    channel, query = stub(history_collector)
    with channel:
        kz = query.ListEvents(query_service_pb2.ListEventsRequest(country="kz"), timeout=10)
        outage = query_service_pb2.EVENT_KIND_OUTAGE
        assert {(e.asn, e.country, e.kind) for e in kz.events} == {(64500, "", outage), (0, "KZ", outage)}
        assert not query.ListEvents(query_service_pb2.ListEventsRequest(asn=64520), timeout=10).events
        opened = query.ListEvents(query_service_pb2.ListEventsRequest(open_only=True), timeout=10)
        assert {e.id for e in opened.events} == {e.id for e in kz.events}
        before = query_service_pb2.ListEventsRequest()
        before.until.FromSeconds(int(FIRST_ROUND * ROUND_S))
        assert not query.ListEvents(before, timeout=10).events
        with pytest.raises(grpc.RpcError) as failure:
            query.ListEvents(query_service_pb2.ListEventsRequest(limit=10**6), timeout=10)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_latest_round(history_collector: CollectorProcess) -> None:
    channel, query = stub(history_collector)
    with channel:
        latest = query.GetLatestRound(query_service_pb2.GetLatestRoundRequest(), timeout=10)
    assert latest.round == FIRST_ROUND + ROUNDS - 1 and latest.length_s == ROUND_S
    assert latest.start.ToSeconds() == int(latest.round * ROUND_S)
    assert latest.computed_at.ToSeconds() >= (latest.round + 1) * ROUND_S and latest.algorithm_version


def test_list_country_status(history_collector: CollectorProcess) -> None:
    channel, query = stub(history_collector)
    with channel:
        every = query.ListCountryStatus(query_service_pb2.ListCountryStatusRequest(), timeout=10)
        down = query.ListCountryStatus(
            query_service_pb2.ListCountryStatusRequest(statuses=[query_service_pb2.STATUS_DOWN]), timeout=10
        )
    assert [c.country for c in every.statuses] == ["KZ", "NL"]
    assert [(c.country, c.status) for c in down.statuses] == [("KZ", query_service_pb2.STATUS_DOWN)]

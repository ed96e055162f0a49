"""`vantage web` over HTTP in front of a real collector: pages, API, feeds, charts, caching and errors."""

from __future__ import annotations

import gzip
import json
import shutil
import signal
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.collector.conftest import CollectorProcess, start_collector
from tests.web.conftest import WebProcess, start_web

WINDOW = "?since=2026-01-04T00:00:00Z&until=2026-01-06T00:00:00Z"
KZ_OUTAGE = "outage-kz-20260105T082500Z"
AS_OUTAGE = "outage-as64500-20260105T082500Z"


def test_overview_lists_the_cut_country_and_its_events(web_site: WebProcess) -> None:
    status, headers, body = web_site.get("/")
    html = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert 'href="/country/KZ"' in html and "AS64500" in html and "NL" not in html
    assert f'href="/event/{KZ_OUTAGE}"' in html and f'href="/event/{AS_OUTAGE}"' in html
    assert "Last round: 2026-01-05 08:35 UTC" in html


def test_country_as_event_and_fleet_pages(web_site: WebProcess) -> None:
    html = web_site.get("/country/KZ" + WINDOW)[2].decode()
    assert "DOWN" in html and 'class="strip"' in html and 'class="DOWN"' in html and "ongoing" in html
    assert "/chart/country/KZ.svg?since=2026-01-04T00:00:00Z&amp;until=2026-01-06T00:00:00Z" in html
    assert "Coverage" in html and "3 targets" in html
    html = web_site.get("/as/64500" + WINDOW)[2].decode()
    assert "generic_timeout_error" in html and "3 vantage points in 3 ASes" in html
    status, _, body = web_site.get(f"/event/{KZ_OUTAGE}")
    html = body.decode()
    assert status == 200 and "Outage in" in html and "ongoing" in html and "AS64500" in html
    assert f"https://status.example.org/event/{KZ_OUTAGE}" in html and "at its peak" in html
    html = web_site.get("/probes")[2].decode()
    assert "3 probes in 3 countries" in html and "AS64601" in html
    assert "p-a" not in html and "127.0.0.1" not in html  # no probe's id or address


def test_charts_are_svg_and_png_with_a_source_line(web_site: WebProcess) -> None:
    status, headers, svg = web_site.get("/chart/country/KZ.svg" + WINDOW)
    assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (
        headers["Access-Control-Allow-Origin"] == "*"
        and "frame-ancestors *" in headers["Content-Security-Policy"]
    )
    status, headers, png = web_site.get("/chart/as/64500.png" + WINDOW)
    assert status == 200 and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert web_site.get(f"/chart/event/{AS_OUTAGE}.svg")[0] == 200
    assert web_site.get("/chart/country/KZ.gif")[0] == 404
    _, _, phone = web_site.get("/chart/country/KZ.svg?size=phone")
    assert ElementTree.fromstring(phone).get("width") == "345.6pt"  # 4.8 in, against 8 in (576pt)
    assert ElementTree.fromstring(svg).get("width") == "576pt"
    status, _, body = web_site.get("/chart/country/KZ.svg?size=huge")
    assert status == 400 and b"not a chart size" in body


def test_the_api_mirrors_query_service(web_site: WebProcess) -> None:
    def get_json(path: str) -> object:
        status, headers, body = web_site.get(path)
        assert status == 200 and headers["Content-Type"].startswith("application/json"), path
        return json.loads(body)

    document = get_json("/api/v1/openapi.json")
    assert document["openapi"].startswith("3.") and "/timeline/country/{country}" in document["paths"]  # type: ignore[index]
    status = get_json("/api/v1/status")
    assert [a["asn"] for a in status["ases"]] == [64500] and status["countries"][0]["country"] == "KZ"  # type: ignore[index]
    countries = get_json("/api/v1/countries?status=down")["statuses"]  # type: ignore[index]
    assert [c["country"] for c in countries] == ["KZ"]  # type: ignore[index]
    assert get_json("/api/v1/ases/64500")["status"] == "STATUS_DOWN"  # type: ignore[index]
    page = get_json("/api/v1/ases?page_size=1")
    assert page["next_page_token"] == "64500"  # type: ignore[index]
    assert get_json("/api/v1/ases?status=up")["statuses"][0]["asn"] == 64520  # type: ignore[index]
    assert len(get_json("/api/v1/timeline/as/64500" + WINDOW)["points"]) == 8  # type: ignore[index, arg-type]
    assert {e["id"] for e in get_json("/api/v1/events?country=KZ")["events"]} == {KZ_OUTAGE, AS_OUTAGE}  # type: ignore[index]
    coverage = get_json("/api/v1/coverage/KZ")
    assert coverage["counted"]["targets"] == 3 and "discovery" in coverage  # type: ignore[index, operator]
    probes = get_json("/api/v1/probes")["probes"]  # type: ignore[index]
    assert len(probes) == 3 and not any("address" in p or "name" in p for p in probes)  # type: ignore[union-attr]
    status_code, headers, csv = web_site.get("/api/v1/timeline/country/KZ.csv" + WINDOW)
    assert status_code == 200 and headers["Content-Type"].startswith("text/csv")
    assert csv.decode().splitlines()[1].startswith("KZ,5892000,2026-01-05T08:00:00Z,UP,")


def test_feeds_are_atom(web_site: WebProcess) -> None:
    for path in ("/feeds/events.atom", "/feeds/country/KZ.atom"):
        status, headers, body = web_site.get(path)
        assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
        entries = ElementTree.fromstring(body).findall("{http://www.w3.org/2005/Atom}entry")
        assert len(entries) == 2
    assert web_site.get("/feeds/country/ZZ.atom")[0] == 404


def test_etag_cache_control_304_and_compression(web_site: WebProcess) -> None:
    status, headers, _ = web_site.get("/country/KZ")
    assert status == 200 and headers["ETag"].endswith('-5892007-html"')
    assert headers["Cache-Control"].startswith("public, max-age=")
    status, again, body = web_site.get("/country/KZ", **{"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b"" and again["ETag"] == headers["ETag"]
    status, zipped, body = web_site.get("/", **{"Accept-Encoding": "gzip"})
    assert zipped["Content-Encoding"] == "gzip" and b"/country/KZ" in gzip.decompress(body)
    _, svg, _ = web_site.get("/chart/country/KZ.svg", **{"Accept-Encoding": "gzip"})
    _, png, _ = web_site.get("/chart/country/KZ.png", **{"Accept-Encoding": "gzip"})
    assert svg["Content-Encoding"] == "gzip" and "Content-Encoding" not in png


def test_security_headers(web_site: WebProcess) -> None:
    _, headers, _ = web_site.get("/")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/country/ZZ", 404, "No verdict for country ZZ"),
        ("/country/KAZ", 400, "not a two-letter country code"),
        ("/as/64999", 404, "No verdict for AS64999"),
        ("/as/nope", 400, "not an AS number"),
        ("/event/outage-kz-20200101T000000Z", 404, "No event outage-kz-20200101T000000Z"),
        ("/country/KZ?since=soon", 400, "neither an ISO 8601 time"),
        ("/country/KZ?since=2026-01-06T00:00:00Z&until=2026-01-05T00:00:00Z", 400, "must be before until"),
        ("/country/KZ?since=2020-01-01T00:00:00Z", 400, "longer than the collector keeps"),
        ("/nowhere", 404, "Not Found"),
    ],
)
def test_bad_requests_say_what_is_wrong_in_html_and_json(
    web_site: WebProcess, path: str, status: int, words: str
) -> None:
    got, headers, body = web_site.get(path)
    assert got == status and words in body.decode() and "Traceback" not in body.decode()
    assert headers["Cache-Control"] == "no-store"
    if path.startswith("/country/ZZ"):
        assert 'href="/country/KZ"' in body.decode()  # what is known
    api_path = path.replace("/country/", "/api/v1/timeline/country/").replace("/as/", "/api/v1/ases/")
    if api_path.startswith("/api/"):
        got, headers, body = web_site.get(api_path)
        error = json.loads(body)
        assert got == status and words in error["message"], api_path
        if status == 400:
            assert error["error"] == "bad_request" and error["parameter"] in {"since", "country", "asn"}


def test_a_collector_that_is_down_gives_503_with_the_last_known_state(
    history_collector: CollectorProcess, tmp_path: Path
) -> None:
    data_dir = tmp_path / "collector"
    data_dir.mkdir()
    shutil.copy(history_collector.data_dir / "collector.sqlite3", data_dir / "collector.sqlite3")
    collector = start_collector(data_dir, "--round-seconds", "3600")
    site = start_web(collector.address)
    try:
        assert site.get("/")[0] == 200
        collector.stop(signal.SIGKILL)
        for path in ("/", "/country/KZ"):
            status, _, body = site.get(path)
            html = body.decode()
            assert status == 503 and "not answering" in html and "Traceback" not in html
            assert "Last known state, as of 2026-01-05 08:35 UTC" in html and "KZ" in html
            assert 'data-refresh-s="60"' in html  # it tries again by itself
        status, _, body = site.get("/api/v1/status")
        assert status == 503 and json.loads(body)["error"] == "unavailable"
    finally:
        site.stop()
        collector.stop(signal.SIGKILL)


def test_replicas_are_asked_in_turn(history_collector: CollectorProcess) -> None:
    site = start_web("127.0.0.1:9", history_collector.address)  # nothing listens on port 9
    try:
        status, _, body = site.get("/")
        assert status == 200 and b'href="/country/KZ"' in body
    finally:
        site.stop()

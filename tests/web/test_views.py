"""The pure parts of the web: parameters, freshness, view models, feeds, escaping in the templates."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from vantage.v1 import measurement_pb2, query_service_pb2
from vantage.web import caching, feeds, models, params, views
from vantage.web.render import environment, render
from vantage.web.server import Site

JAN5 = 1767600000.0  # 2026-01-05T08:00:00Z
ROUND_S = 300.0
ROUND = int(JAN5 // ROUND_S)
MARKUP_NAME = '<script>alert("as")</script> Evil & Co'
JS_TARGET = "javascript:alert(document.cookie)"


def stamp(message: object, unix_s: float) -> None:
    message.FromSeconds(int(unix_s))  # type: ignore[attr-defined]


def as_status(
    asn: int, status: int, *, name: str = "", country: str = "KZ", offset_s: float = 0
) -> query_service_pb2.AsStatus:
    message = query_service_pb2.AsStatus(
        asn=asn, as_name=name, country=country, status=status, confidence=0.875, round=ROUND,  # type: ignore[arg-type]
        algorithm_version="vantage-verdict/1",
    )  # fmt: skip
    stamp(message.round_start, JAN5)
    stamp(message.since, JAN5 - offset_s)
    evidence = message.evidence
    evidence.summary = f"AS{asn} DOWN: 0/3 targets answered from 3 vantage points in 2 ASes."
    evidence.vantage_points, evidence.vantage_ases, evidence.targets = 3, 2, 3
    evidence.vantage_asns.extend([64601, 64602])
    evidence.protocols.add(protocol=measurement_pb2.PROTOCOL_ICMP, attempts=9, successes=0)
    evidence.failures.add(failure="generic_timeout_error", protocol=measurement_pb2.PROTOCOL_ICMP, count=2)
    evidence.failures.add(failure="connection_refused", protocol=measurement_pb2.PROTOCOL_TCP, count=7)
    evidence.filtered_targets.add(
        target=JS_TARGET, protocol=measurement_pb2.PROTOCOL_HTTP, failure="connection_reset",
        inside_failures=4, control_successes=3,
    )  # fmt: skip
    evidence.suspect_probes.append("p-secret")
    return message


def country_status(country: str, status: int) -> query_service_pb2.CountryStatus:
    message = query_service_pb2.CountryStatus(
        country=country, status=status, confidence=0.9, round=ROUND, affected_share=0.5, measured_ases=2,  # type: ignore[arg-type]
        summary=f"{country} DOWN: 50% of 2 measured ASes affected",
    )  # fmt: skip
    stamp(message.round_start, JAN5)
    stamp(message.since, JAN5 - 600)
    return message


def event(
    event_id: str, *, asn: int = 0, country: str = "", start: float, end: float | None
) -> query_service_pb2.Event:
    message = query_service_pb2.Event(
        id=event_id, kind=query_service_pb2.EVENT_KIND_OUTAGE, asn=asn, country=country, severity=15.04,
        confidence=0.95, summary=f"{MARKUP_NAME} went dark",
        state=query_service_pb2.EVENT_STATE_OPEN if end is None else query_service_pb2.EVENT_STATE_CLOSED,
    )  # fmt: skip
    stamp(message.started_at, start)
    if end is not None:
        stamp(message.ended_at, end)
    return message


def timeline(shares: list[float], events: list[query_service_pb2.Event]) -> query_service_pb2.Timeline:
    message = query_service_pb2.Timeline(events=events)
    for n, share in enumerate(shares):
        point = message.points.add(
            round=ROUND - len(shares) + 1 + n,
            status=query_service_pb2.STATUS_UP if share > 0.5 else query_service_pb2.STATUS_DOWN,
            confidence=0.9, reachability_ratio=share,
        )  # fmt: skip
        stamp(point.round_start, (point.round) * ROUND_S)
    return message


# --- parameters -------------------------------------------------------------------------------


def test_the_default_window_is_the_last_day() -> None:
    window = params.parse_window(None, None, now_unix_s=JAN5, max_window_s=30 * 86400)
    assert (window.since_unix_s, window.until_unix_s, window.explicit) == (JAN5 - 86400, JAN5, False)
    assert window.query() == ""


def test_an_explicit_window_is_kept_in_links() -> None:
    window = params.parse_window("2026-01-04T00:00:00Z", "6h", now_unix_s=JAN5, max_window_s=30 * 86400)
    assert window.until_unix_s == JAN5 - 6 * 3600
    assert window.query() == "?since=2026-01-04T00:00:00Z&until=2026-01-05T02:00:00Z"


@pytest.mark.parametrize(
    ("since", "until", "parameter", "words"),
    [
        ("yesterday-ish", None, "since", "ISO 8601"),
        (None, "2026-13-01", "until", "ISO 8601"),
        ("2026-01-05T00:00:00Z", "2026-01-04T00:00:00Z", "since", "must be before until"),
        ("2025-01-01T00:00:00Z", None, "since", "longer than the collector keeps (30 days)"),
    ],
)
def test_bad_windows_name_the_parameter(
    since: str | None, until: str | None, parameter: str, words: str
) -> None:
    with pytest.raises(params.BadParameter) as raised:
        params.parse_window(since, until, now_unix_s=JAN5, max_window_s=30 * 86400)
    assert raised.value.parameter == parameter and words in raised.value.message


def test_countries_ases_and_event_ids() -> None:
    assert params.parse_country("kz") == "KZ"
    assert params.parse_asn("AS9198") == params.parse_asn("9198") == 9198
    for bad in ("KAZ", "K1", ""):
        with pytest.raises(params.BadParameter, match="country"):
            params.parse_country(bad)
    for bad in ("0", "-1", "99999999999", "AS"):
        with pytest.raises(params.BadParameter, match="asn"):
            params.parse_asn(bad)
    ref = params.parse_event_id("outage-as9198-20260105T103000Z")
    assert (ref.asn, ref.country, params.iso(ref.started_unix_s)) == (9198, "", "2026-01-05T10:30:00Z")
    assert params.parse_event_id("filtering-kz-20260105T103000Z").country == "KZ"
    with pytest.raises(params.BadParameter, match="event"):
        params.parse_event_id("outage-kz-2026")


# --- freshness --------------------------------------------------------------------------------


def test_a_page_is_fresh_until_the_next_round_is_due() -> None:
    # Round N was computed after it ended at (N+1)·300 s; round N+1 is due at (N+2)·300 s.
    due = (ROUND + 2) * ROUND_S + caching.ROUND_GRACE_S
    fresh = caching.freshness(
        ROUND, ROUND * ROUND_S, ROUND_S, now_unix_s=due - 200, version="1", variant="html"
    )
    assert fresh.max_age_s == 200 and fresh.cache_control == "public, max-age=200"
    assert fresh.etag == f'"1-{ROUND}-html"' and fresh.refresh_s == 200
    late = caching.freshness(
        ROUND, ROUND * ROUND_S, ROUND_S, now_unix_s=due + 900, version="1", variant="html"
    )
    assert late.max_age_s == caching.MIN_FRESH_S and late.refresh_s == caching.OVERDUE_REFRESH_S
    empty = caching.freshness(0, 0, 0, now_unix_s=JAN5, version="1", variant="json")
    assert (empty.max_age_s, empty.refresh_s) == (caching.MIN_FRESH_S, caching.OVERDUE_REFRESH_S)


def test_if_none_match() -> None:
    assert caching.matches('"a", W/"1-5-html"', '"1-5-html"')
    assert caching.matches("*", '"x"')
    assert not caching.matches('"1-4-html"', '"1-5-html"') and not caching.matches(None, '"x"')


# --- view models ------------------------------------------------------------------------------


def test_overview_lists_what_is_not_up_worst_first_and_ongoing_events_first() -> None:
    ases = [
        as_status(64520, query_service_pb2.STATUS_UP, country="NL"),
        as_status(64510, query_service_pb2.STATUS_DEGRADED),
        as_status(64500, query_service_pb2.STATUS_DOWN, name="KazTelecom"),
    ]
    countries = [
        country_status("KZ", query_service_pb2.STATUS_DOWN),
        country_status("NL", query_service_pb2.STATUS_UP),
    ]
    closed = event("outage-as64510-20260105T070000Z", asn=64510, start=JAN5 - 3600, end=JAN5 - 1800)
    ongoing = event("outage-kz-20260105T075000Z", country="KZ", start=JAN5 - 600, end=None)
    view = views.overview(countries, ases, [closed, ongoing], now_unix_s=JAN5 + 300)
    assert [c.country for c in view.countries] == ["KZ"]
    assert [(a.asn, a.status) for a in view.ases] == [(64500, "DOWN"), (64510, "DEGRADED")]
    assert view.ases[0].label == "AS64500 KazTelecom" and view.ases[0].confidence_pct == 88
    assert [e.event_id for e in view.events] == [ongoing.id, closed.id]
    first, second = view.events
    assert (first.ended, first.duration, first.scope_path) == ("ongoing", "15 min", "/country/KZ")
    assert (second.ended, second.duration, second.scope) == ("2026-01-05 07:30 UTC", "30 min", "AS64510")
    assert view.last_round == ROUND and view.last_round_at == "2026-01-05 08:00 UTC"


def test_an_empty_collector_has_an_overview_without_a_round() -> None:
    view = views.overview([], [], [], now_unix_s=JAN5)
    assert (view.last_round, view.last_round_at, view.countries, view.ases) == (0, "", (), ())


def test_evidence_failures_by_count_and_suspect_probes_counted_not_named() -> None:
    row = views.as_row(as_status(64500, query_service_pb2.STATUS_DOWN))
    assert [(f.failure, f.protocol, f.count) for f in row.evidence.failures] == [
        ("connection_refused", "TCP", 7), ("generic_timeout_error", "ICMP", 2),
    ]  # fmt: skip
    assert row.evidence.protocols == (models.ProtocolLine("ICMP", 0, 9),)
    assert row.evidence.filtered[0].target == JS_TARGET and row.evidence.suspect_probes == 1
    assert row.since == "2026-01-05 08:00 UTC"


def test_country_page_counts_coverage_from_its_ases() -> None:
    page = views.country_page(
        country_status("KZ", query_service_pb2.STATUS_DOWN),
        [as_status(64500, query_service_pb2.STATUS_DOWN), as_status(64510, query_service_pb2.STATUS_UP)],
        timeline([1.0, 0.0], []),
        [],
        now_unix_s=JAN5,
    )
    assert page.coverage == models.Coverage(measured_ases=2, targets=6, vantage_points=3, vantage_ases=2)
    assert [p.reachability for p in page.timeline.points] == [1.0, 0.0]
    assert [a.asn for a in page.ases] == [64500, 64510]


def test_country_coverage_from_discovery_when_the_collector_has_it() -> None:
    discovered = query_service_pb2.Coverage(
        countries=[query_service_pb2.CountryCoverage(
            country="KZ", addresses=65536, analysable_addresses=49152, analysable_share=0.75, ases=2,
            analysable_ases=1)],
        ases=[
            query_service_pb2.AsCoverage(asn=64500, as_name="Kaz", country="KZ", targets=12, vantage_points=3,
                                         vantage_ases=3, blocks_known=64, blocks_responsive=40,
                                         analysable=True),
            query_service_pb2.AsCoverage(asn=64510, country="KZ", targets=1, analysable=False,
                                         reason="2 responsive blocks, 3 needed"),
            query_service_pb2.AsCoverage(asn=64520, country="NL", analysable=True),
        ],
    )  # fmt: skip
    status = country_status("KZ", query_service_pb2.STATUS_DOWN)
    page = views.country_page(
        status, [as_status(64500, query_service_pb2.STATUS_DOWN)], timeline([], []), [], now_unix_s=JAN5,
        discovered=discovered,
    )  # fmt: skip
    c = page.coverage
    assert (c.analysable_pct, c.addresses, c.ases, c.analysable_ases) == (75, 65536, 2, 1)
    assert [(r.asn, r.analysable, r.reason) for r in c.rows] == [
        (64510, False, "2 responsive blocks, 3 needed"), (64500, True, ""),
    ]  # fmt: skip
    # Without discovery (an older collector, or a country outside its campaigns): counted only.
    assert views.coverage(status, page.ases, None).analysable_pct is None
    other = views.coverage(country_status("DE", query_service_pb2.STATUS_UP), (), discovered)
    assert other.analysable_pct is None and other.rows == ()


def test_event_page_finds_the_peak_within_the_event() -> None:
    outage = event("outage-as64500-20260105T075000Z", asn=64500, start=(ROUND - 2) * ROUND_S, end=JAN5 + 300)
    page = views.event_page(
        outage, [as_status(64500, query_service_pb2.STATUS_DOWN)],
        timeline([0.0, 1.0, 0.2, 0.1, 0.4], [outage]), now_unix_s=JAN5 + 600,
    )  # fmt: skip
    # The first point (share 0.0) is before the event started: the peak is the 0.1 round.
    assert page.peak is not None and page.peak.reachability == 0.1 and page.peak.round == ROUND - 1
    assert page.event.ongoing is False and page.event.duration == "15 min"


def test_fleet_counts_probes_without_addresses() -> None:
    probes = [
        query_service_pb2.ProbeRecord(probe_id="p1", country="KZ", asn=9198, address="192.0.2.7",
                                      state=query_service_pb2.PROBE_STATE_ALIVE),
        query_service_pb2.ProbeRecord(probe_id="p2", country="KZ", asn=9198, address="192.0.2.8",
                                      state=query_service_pb2.PROBE_STATE_SILENT, suspect=True),
        query_service_pb2.ProbeRecord(probe_id="p3", country="DE", asn=64601,
                                      state=query_service_pb2.PROBE_STATE_ALIVE),
    ]  # fmt: skip
    fleet = views.fleet(probes)
    assert fleet.rows == (
        models.FleetRow("DE", 64601, 1, 1, 0, 0, 0),
        models.FleetRow("KZ", 9198, 2, 1, 1, 0, 1),
    )
    assert (fleet.probes, fleet.connected, fleet.countries) == (3, 2, 2)
    assert "192.0.2" not in repr(fleet)


def test_timeline_csv() -> None:
    csv = models.timeline_csv("KZ", views.timeline(timeline([1.0, 0.25], []), now_unix_s=JAN5))
    assert csv.splitlines() == [
        "scope,round,round_start_utc,status,confidence,reachability_ratio",
        f"KZ,{ROUND - 1},2026-01-05T07:55:00Z,UP,0.900,1.0000",
        f"KZ,{ROUND},2026-01-05T08:00:00Z,DOWN,0.900,0.2500",
    ]


# --- output: feeds and templates escape what datasets and users wrote --------------------------


def test_the_atom_feed_is_well_formed_and_escapes() -> None:
    rows = views.event_rows(
        [event("outage-kz-20260105T075000Z", country="KZ", start=JAN5 - 600, end=None)], now_unix_s=JAN5
    )
    body = feeds.atom_feed(
        title="Vantage <test>", base_url="https://status.example.org", feed_path="/feeds/events.atom",
        events=rows, updated_unix_s=JAN5,
    )  # fmt: skip
    assert b"<script>" not in body
    root = ElementTree.fromstring(body)
    atom = "{http://www.w3.org/2005/Atom}"
    assert root.tag == f"{atom}feed" and root.findtext(f"{atom}title") == "Vantage <test>"
    entry = root.find(f"{atom}entry")
    assert entry is not None
    assert entry.findtext(f"{atom}id") == "https://status.example.org/event/outage-kz-20260105T075000Z"
    assert entry.findtext(f"{atom}summary", "").startswith(MARKUP_NAME)
    assert entry.findtext(f"{atom}updated") == "2026-01-05T07:50:00Z"


def test_templates_escape_as_names_and_never_link_target_urls() -> None:
    env = environment()
    site = Site("Vantage", "https://status.example.org", 30 * 86400)
    status = as_status(64500, query_service_pb2.STATUS_DOWN, name=MARKUP_NAME)
    window = params.parse_window(None, None, now_unix_s=JAN5, max_window_s=30 * 86400)
    page = views.as_page(status, timeline([1.0, 0.0], []), now_unix_s=JAN5)
    html = render(env, "as.html", site=site, refresh_s=60, view=page, window=window)
    assert (
        "<script>alert" not in html
        and "&lt;script&gt;alert(&#34;as&#34;)&lt;/script&gt; Evil &amp; Co" in html
    )
    assert JS_TARGET in html  # shown, as text
    assert 'href="javascript:' not in html and "href='javascript:" not in html
    assert "p-secret" not in html  # suspect probes are counted, not named
    overview = views.overview([], [status], [], now_unix_s=JAN5)
    html = render(env, "overview.html", site=site, refresh_s=60, view=overview, limit=10)
    assert "<script>alert" not in html and "Evil &amp; Co" in html
    # The only script is the site's own file; no inline script, no external resource.
    assert html.count("<script") == 1 and '<script src="/static/refresh.js"></script>' in html
    assert "http://" not in html.replace("https://status.example.org", "")


def test_the_mechanism_shows_on_as_country_and_event_pages() -> None:
    env = environment()
    site = Site("Vantage", "https://status.example.org", 30 * 86400)
    window = params.parse_window(None, None, now_unix_s=JAN5, max_window_s=30 * 86400)
    status = as_status(64500, query_service_pb2.STATUS_DOWN)
    status.mechanism = query_service_pb2.MECHANISM_BGP_WITHDRAWAL
    reason = "probes fail and routes withdrawn: 0/12 prefixes of AS64500 visible from 18 full-feed peers"
    status.evidence.mechanism_reason = reason
    status.evidence.routing.reason = "0/12 prefixes visible"
    row = views.as_row(status)
    assert (row.mechanism, row.evidence.mechanism_reason) == ("bgp_withdrawal", reason)
    assert row.evidence.routing == "0/12 prefixes visible"
    page = views.as_page(status, timeline([0.0], []), now_unix_s=JAN5)
    html = render(env, "as.html", site=site, refresh_s=60, view=page, window=window)
    assert "Mechanism: <strong>bgp_withdrawal</strong>" in html and reason in html
    blocked = as_status(64501, query_service_pb2.STATUS_FILTERED)
    blocked.mechanism = query_service_pb2.MECHANISM_SERVICE_BLOCKING
    blocked.mechanism_layer = query_service_pb2.INTERFERENCE_LAYER_TLS
    assert views.as_row(blocked).mechanism == "service_blocking/tls"
    assert views.as_row(as_status(64502, query_service_pb2.STATUS_UP)).mechanism == ""
    outage = event("outage-as64500", asn=64500, start=JAN5 - 600, end=None)
    outage.mechanism = query_service_pb2.MECHANISM_DATA_PLANE
    outage.mechanism_reason = "probes fail while routes visible"
    row_event = views.event_row(outage, now_unix_s=JAN5)
    assert (row_event.mechanism, row_event.mechanism_reason) == (
        "data_plane",
        "probes fail while routes visible",
    )
    country = country_status("KZ", query_service_pb2.STATUS_DOWN)
    country.mechanism = query_service_pb2.MECHANISM_BGP_WITHDRAWAL
    country.mechanism_reason = "bgp_withdrawal in 83% (weighted) of the affected ASes"
    assert views.country_row(country).mechanism == "bgp_withdrawal"
    point = timeline([0.0], []).points[0]
    point.mechanism = query_service_pb2.MECHANISM_BGP_WITHDRAWAL
    one = query_service_pb2.Timeline(points=[point])
    assert views.timeline(one, now_unix_s=JAN5).points[0].mechanism == "bgp_withdrawal"


def test_event_and_country_pages_name_the_mechanism() -> None:
    env = environment()
    site = Site("Vantage", "https://status.example.org", 30 * 86400)
    outage = event("outage-as64500", asn=64500, start=JAN5 - 600, end=None)
    outage.mechanism = query_service_pb2.MECHANISM_DATA_PLANE
    outage.mechanism_reason = "probes fail while routes visible"
    page = views.event_page(outage, [], timeline([0.0], []), now_unix_s=JAN5)
    html = render(env, "event.html", site=site, refresh_s=60, view=page)
    assert "<strong>data_plane</strong>: probes fail while routes visible" in html
    country = country_status("KZ", query_service_pb2.STATUS_DOWN)
    country.mechanism = query_service_pb2.MECHANISM_BGP_WITHDRAWAL
    country.mechanism_reason = "bgp_withdrawal in 83% (weighted) of the affected ASes"
    window = params.parse_window(None, None, now_unix_s=JAN5, max_window_s=30 * 86400)
    view = views.country_page(country, [], timeline([0.0], []), [outage], now_unix_s=JAN5)
    html = render(env, "country.html", site=site, refresh_s=60, view=view, window=window, strip_rows=[])
    assert "Mechanism: <strong>bgp_withdrawal</strong> (bgp_withdrawal in 83% (weighted)" in html
    assert "(data_plane)" in html  # the events table

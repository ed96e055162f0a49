"""The aiohttp application: routes, freshness, errors and security headers.

Every response is built from the collectors' answers in one request (nothing is
stored but a small cache of rendered bodies keyed by the round, and the last
overview for the 503 page), so replicas behind a cache all answer alike.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from google.protobuf.json_format import MessageToDict

from vantage import __version__
from vantage.web import caching, charts, feeds, models, openapi, params, views
from vantage.web.render import environment, render
from vantage.web.source import CollectorDown, NotFound, Source

STATIC_DIR = Path(__file__).parent / "static"
# Rendered bodies kept per (address, form, round): a news spike is served from memory.
CACHE_ENTRIES = 512
OVERVIEW_AS_LIMIT = 200
UNAVAILABLE_REFRESH_S = 60
# Pages: nothing from elsewhere, no inline script or style, never framed. Charts may be
# embedded anywhere (<img>, or an <iframe> of the SVG): frame-ancestors * and CORP cross-origin.
PAGE_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
EMBED_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *"
# Text compresses several times over; PNG does not.
COMPRESSIBLE = frozenset(
    ("text/html", "application/json", "image/svg+xml", "application/atom+xml", "text/csv")
)
NOT_UP = tuple(int(s) for s in views.NOT_UP)
STATUS_NUMBERS = {word: number for number, word in views.STATUS_WORDS.items() if number}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Site:
    title: str
    base_url: str
    max_window_s: float


@dataclass
class State:
    site: Site
    source: Source
    env: jinja2.Environment
    clock: Callable[[], float] = time.time
    cache: OrderedDict[tuple[str, str, int], tuple[bytes, str]] = field(default_factory=OrderedDict)
    building: dict[tuple[str, str, int], asyncio.Future[bytes]] = field(default_factory=dict)
    last_overview: models.Overview | None = None
    known: tuple[int, tuple[str, ...], int] | None = None  # (round, countries, AS count)


STATE = web.AppKey("state", State)


class HttpError(Exception):
    def __init__(self, status: int, kind: str, message: str, parameter: str = "", **page: Any) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.parameter, self.page = (
            status,
            kind,
            message,
            parameter,
            page,
        )


def build_app(site: Site, source: Source, *, clock: Callable[[], float] = time.time) -> web.Application:
    app = web.Application(middlewares=[_headers_middleware, _errors_middleware])
    state = State(site, source, environment(), clock)
    app[STATE] = state
    r = app.router
    r.add_get("/", _overview)
    r.add_get("/country/{country}", _country)
    r.add_get("/as/{asn}", _as)
    r.add_get("/event/{event}", _event)
    r.add_get("/probes", _probes)
    r.add_get("/chart/country/{country}.{fmt}", _chart_country)
    r.add_get("/chart/as/{asn}.{fmt}", _chart_as)
    r.add_get("/chart/event/{event}.{fmt}", _chart_event)
    r.add_get("/feeds/events.atom", _feed_all)
    r.add_get("/feeds/country/{country}.atom", _feed_country)
    r.add_get("/api/v1/openapi.json", _api_openapi)
    r.add_get("/api/v1/status", _api_status)
    r.add_get("/api/v1/ases", _api_ases)
    r.add_get("/api/v1/ases/{asn}", _api_as)
    r.add_get("/api/v1/countries", _api_countries)
    r.add_get("/api/v1/countries/{country}", _api_country)
    r.add_get("/api/v1/coverage/{country}", _api_coverage)
    r.add_get("/api/v1/timeline/as/{asn:[^./]+}.csv", _api_timeline_as_csv)
    r.add_get("/api/v1/timeline/as/{asn:[^./]+}", _api_timeline_as)
    r.add_get("/api/v1/timeline/country/{country:[^./]+}.csv", _api_timeline_country_csv)
    r.add_get("/api/v1/timeline/country/{country:[^./]+}", _api_timeline_country)
    r.add_get("/api/v1/events", _api_events)
    r.add_get("/api/v1/probes", _api_probes)
    r.add_static("/static", STATIC_DIR, append_version=False)

    async def close(_: web.Application) -> None:
        await source.close()

    app.on_cleanup.append(close)
    return app


# --- middlewares ------------------------------------------------------------------------------


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


@web.middleware
async def _errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        return await handler(request)
    except params.BadParameter as exc:
        error = HttpError(400, "bad_request", exc.message, exc.parameter)
    except HttpError as exc:
        error = exc
    except CollectorDown as exc:
        error = HttpError(
            503,
            "unavailable",
            f"The collector is not answering ({exc}); this page will work again when it does.",
            last_known=state.last_overview,
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = HttpError(exc.status, "not_found" if exc.status == 404 else "error", exc.reason)
    headers = {"Cache-Control": "no-store"}
    if _wants_json(request):
        body: dict[str, str] = {"error": error.kind, "message": error.message}
        if error.parameter:
            body["parameter"] = error.parameter
        return web.json_response(body, status=error.status, headers=headers)
    page = {"known_countries": (), "known_ases": None, "last_known": None, **error.page}
    heading = {400: "Bad request", 404: "Not found", 503: "Collector unavailable"}.get(error.status, "Error")
    # A 503 page tries again by itself; the collector may be back in a minute.
    refresh_s = UNAVAILABLE_REFRESH_S if error.status == 503 else 0
    html = render(
        state.env,
        "error.html",
        site=state.site,
        refresh_s=refresh_s,
        heading=heading,
        message=error.message,
        **page,
    )
    return web.Response(text=html, status=error.status, content_type="text/html", headers=headers)


@web.middleware
async def _headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    embeddable = request.path.startswith("/chart/")
    response.headers["Content-Security-Policy"] = EMBED_CSP if embeddable else PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if embeddable or request.path.startswith(("/api/", "/feeds/")):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    else:
        response.headers["X-Frame-Options"] = "DENY"
    if (
        isinstance(response, web.Response)
        and response.status == 200
        and response.body is not None
        and response.content_type in COMPRESSIBLE
    ):
        response.enable_compression()  # gzip or deflate, as the client accepts
    return response


# --- freshness: one cheap call per request, then 304 or the cached body ------------------------


async def _fresh(
    request: web.Request, variant: str, content_type: str, build: Callable[[int], Awaitable[bytes]]
) -> web.Response:
    """The response for this address and form: 304, a cached body, or a new one built for the round."""
    state = request.app[STATE]
    round_number, round_start, round_length = await state.source.latest_round()
    fresh = caching.freshness(
        round_number,
        round_start,
        round_length,
        now_unix_s=state.clock(),
        version=__version__,
        variant=variant,
    )
    headers = {"ETag": fresh.etag, "Cache-Control": fresh.cache_control, "Vary": "Accept-Encoding"}
    if caching.matches(request.headers.get("If-None-Match"), fresh.etag):
        return web.Response(status=304, headers=headers)
    key = (request.path_qs, variant, round_number)
    cached = state.cache.get(key)
    if cached is None:
        # One build per address and round, however many ask at once (a spike on a new round).
        building = state.building.get(key)
        if building is None:
            building = asyncio.ensure_future(build(fresh.refresh_s))
            state.building[key] = building
            building.add_done_callback(lambda _: state.building.pop(key, None))
        body = await asyncio.shield(building)
        cached = (body, content_type)
        state.cache[key] = cached
        while len(state.cache) > CACHE_ENTRIES:
            state.cache.popitem(last=False)
    body, kind = cached
    return web.Response(body=body, headers={**headers, "Content-Type": kind})


def _window(request: web.Request) -> params.Window:
    state = request.app[STATE]
    return params.parse_window(
        request.query.get("since"),
        request.query.get("until"),
        now_unix_s=state.clock(),
        max_window_s=state.site.max_window_s,
    )


def _html(request: web.Request, template: str, refresh_s: int, **values: Any) -> bytes:
    state = request.app[STATE]
    return render(state.env, template, site=state.site, refresh_s=refresh_s, **values).encode()


async def _known(state: State) -> tuple[tuple[str, ...], int]:
    """The countries with a verdict and the number of ASes, for 404 pages (once per round)."""
    round_number, _, _ = await state.source.latest_round()
    if state.known is None or state.known[0] != round_number:
        countries = await state.source.country_statuses()
        state.known = (
            round_number,
            tuple(c.country for c in countries),
            sum(c.measured_ases for c in countries),
        )
    return state.known[1], state.known[2]


async def _country_or_404(state: State, country: str) -> Any:
    try:
        return await state.source.country_status(country)
    except NotFound:
        countries, ases = await _known(state)
        raise HttpError(
            404, "not_found", f"No verdict for country {country}.", known_countries=countries, known_ases=ases
        ) from None


async def _as_or_404(state: State, asn: int) -> Any:
    try:
        return await state.source.as_status(asn)
    except NotFound:
        countries, ases = await _known(state)
        raise HttpError(
            404, "not_found", f"No verdict for AS{asn}.", known_countries=countries, known_ases=ases
        ) from None


# --- pages ------------------------------------------------------------------------------------


async def _overview_view(state: State) -> models.Overview:
    ases, country_statuses = await asyncio.gather(
        state.source.all_as_statuses(statuses=NOT_UP), state.source.country_statuses(NOT_UP)
    )
    now = state.clock()
    events = await state.source.events(since_unix_s=now - params.DEFAULT_WINDOW_S, limit=200)
    view = views.overview(country_statuses, ases, events, now_unix_s=now)
    state.last_overview = view
    return view


async def _overview(request: web.Request) -> web.Response:
    state = request.app[STATE]

    async def build(refresh_s: int) -> bytes:
        view = await _overview_view(state)
        return _html(request, "overview.html", refresh_s, view=view, limit=OVERVIEW_AS_LIMIT)

    return await _fresh(request, "html", "text/html; charset=utf-8", build)


async def _country_view(state: State, country: str, window: params.Window) -> models.CountryPage:
    status = await _country_or_404(state, country)
    source = state.source
    ases, timeline, events, discovered = await asyncio.gather(
        source.all_as_statuses(country=country),
        source.timeline(country=country, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s),
        source.events(country=country, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s),
        source.coverage(country=country),
    )
    return views.country_page(status, ases, timeline, events, now_unix_s=state.clock(), discovered=discovered)


async def _strips(
    state: State, rows: tuple[models.AsRow, ...], window: params.Window
) -> list[tuple[str, models.Timeline]]:
    shown = rows[: charts.MAX_STRIPS]
    timelines = await asyncio.gather(
        *(
            state.source.timeline(
                asn=r.asn, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s
            )
            for r in shown
        )
    )
    now = state.clock()
    return [(r.label, views.timeline(t, now_unix_s=now)) for r, t in zip(shown, timelines, strict=True)]


async def _country(request: web.Request) -> web.Response:
    state = request.app[STATE]
    country = params.parse_country(request.match_info["country"])
    window = _window(request)

    async def build(refresh_s: int) -> bytes:
        view = await _country_view(state, country, window)
        strips = await _strips(state, view.ases, window)
        return _html(request, "country.html", refresh_s, view=view, window=window, strip_rows=strips)

    return await _fresh(request, "html", "text/html; charset=utf-8", build)


async def _as(request: web.Request) -> web.Response:
    state = request.app[STATE]
    asn = params.parse_asn(request.match_info["asn"])
    window = _window(request)

    async def build(refresh_s: int) -> bytes:
        status = await _as_or_404(state, asn)
        timeline = await state.source.timeline(
            asn=asn, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s
        )
        view = views.as_page(status, timeline, now_unix_s=state.clock())
        return _html(request, "as.html", refresh_s, view=view, window=window)

    return await _fresh(request, "html", "text/html; charset=utf-8", build)


async def _event_view(state: State, event_id: str) -> tuple[models.EventPage, params.Window]:
    ref = params.parse_event_id(event_id)
    found = await state.source.events(
        asn=ref.asn, country=ref.country, since_unix_s=ref.started_unix_s, until_unix_s=ref.started_unix_s + 1
    )
    event = next((e for e in found if e.id == event_id), None)
    if event is None:
        raise HttpError(
            404, "not_found", f"No event {event_id}: the collector does not know it (or no longer)."
        )
    now = state.clock()
    start = event.started_at.ToNanoseconds() / 1e9
    if event.HasField("ended_at"):
        end = event.ended_at.ToNanoseconds() / 1e9
    else:  # ongoing: up to the end of the latest round (the collector may have stopped computing)
        round_number, round_start, round_length = await state.source.latest_round()
        end = max(start, round_start + round_length) if round_number else now
    margin = max(3600.0, 0.25 * (end - start))
    window = params.Window(start - margin, end + margin, explicit=True)
    if window.duration_s > state.site.max_window_s:
        window = params.Window(window.until_unix_s - state.site.max_window_s, window.until_unix_s, True)
    if ref.asn:
        affected = [await _as_or_404(state, ref.asn)]
        timeline = await state.source.timeline(
            asn=ref.asn, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s
        )
    else:
        overlapping = await state.source.events(country=ref.country, since_unix_s=start, until_unix_s=end + 1)
        asns = sorted({e.asn for e in overlapping if e.asn})
        affected = list(await asyncio.gather(*(state.source.as_status(asn) for asn in asns)))
        timeline = await state.source.timeline(
            country=ref.country, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s
        )
    return views.event_page(event, affected, timeline, now_unix_s=now), window


async def _event(request: web.Request) -> web.Response:
    state = request.app[STATE]
    event_id = request.match_info["event"]
    params.parse_event_id(event_id)

    async def build(refresh_s: int) -> bytes:
        view, _ = await _event_view(state, event_id)
        return _html(request, "event.html", refresh_s, view=view)

    return await _fresh(request, "html", "text/html; charset=utf-8", build)


async def _probes(request: web.Request) -> web.Response:
    state = request.app[STATE]

    async def build(refresh_s: int) -> bytes:
        fleet = views.fleet((await state.source.probes()).probes)
        return _html(request, "probes.html", refresh_s, view=fleet)

    return await _fresh(request, "html", "text/html; charset=utf-8", build)


# --- charts -----------------------------------------------------------------------------------


def _format(request: web.Request) -> tuple[str, str]:
    """The chart's format (.svg, .png) and size (?size=article, the default, or phone)."""
    fmt = request.match_info["fmt"]
    if fmt not in charts.FORMATS:
        raise HttpError(404, "not_found", f"No chart format {fmt!r}: use .svg or .png.")
    size = request.query.get("size", "article")
    if size not in charts.SIZES_IN:
        raise params.BadParameter("size", f"{size!r} is not a chart size ({', '.join(charts.SIZES_IN)})")
    return fmt, size


def _source_line(state: State, path: str) -> str:
    return f"Vantage — {state.site.title}, {state.site.base_url}{path}"


async def _render_chart(**kwargs: Any) -> bytes:
    # matplotlib is CPU-bound and not thread-safe with pyplot: one chart at a time, off the loop.
    async with _CHART_LOCK:
        return await asyncio.to_thread(lambda: charts.chart(**kwargs))


_CHART_LOCK = asyncio.Lock()


async def _chart_country(request: web.Request) -> web.Response:
    state = request.app[STATE]
    country = params.parse_country(request.match_info["country"])
    fmt, size = _format(request)
    window = _window(request)

    async def build(_: int) -> bytes:
        view = await _country_view(state, country, window)
        strips = await _strips(state, view.ases, window)
        return await _render_chart(
            title=f"{country}: share of measurements answered, and status per AS",
            main_label=country,
            main=models.Timeline(view.timeline.points, view.events),
            strips=strips,
            since_unix_s=window.since_unix_s,
            until_unix_s=window.until_unix_s,
            source=_source_line(state, f"/country/{country}"),
            image_format=fmt,
            size=size,
        )

    return await _fresh(request, f"{fmt}-{size}", charts.FORMATS[fmt], build)


async def _chart_as(request: web.Request) -> web.Response:
    state = request.app[STATE]
    asn = params.parse_asn(request.match_info["asn"])
    fmt, size = _format(request)
    window = _window(request)

    async def build(_: int) -> bytes:
        status = await _as_or_404(state, asn)
        timeline = views.timeline(
            await state.source.timeline(
                asn=asn, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s
            ),
            now_unix_s=state.clock(),
        )
        label = views.as_row(status).label
        return await _render_chart(
            title=f"{label}: share of measurements answered",
            main_label=f"AS{asn}",
            main=timeline,
            strips=[(f"AS{asn}", timeline)],
            since_unix_s=window.since_unix_s,
            until_unix_s=window.until_unix_s,
            source=_source_line(state, f"/as/{asn}"),
            image_format=fmt,
            size=size,
        )

    return await _fresh(request, f"{fmt}-{size}", charts.FORMATS[fmt], build)


async def _chart_event(request: web.Request) -> web.Response:
    state = request.app[STATE]
    event_id = request.match_info["event"]
    params.parse_event_id(event_id)
    fmt, size = _format(request)

    async def build(_: int) -> bytes:
        view, window = await _event_view(state, event_id)
        strips = await _strips(state, view.affected, window)
        return await _render_chart(
            title=f"{view.event.kind.capitalize()} in {view.event.scope} from {view.event.started}",
            main_label=view.event.scope,
            main=models.Timeline(view.timeline.points, (view.event,)),
            strips=strips,
            since_unix_s=window.since_unix_s,
            until_unix_s=window.until_unix_s,
            source=_source_line(state, f"/event/{event_id}"),
            image_format=fmt,
            size=size,
        )

    return await _fresh(request, f"{fmt}-{size}", charts.FORMATS[fmt], build)


# --- feeds ------------------------------------------------------------------------------------

FEED_EVENTS = 100
ATOM_TYPE = "application/atom+xml; charset=utf-8"


async def _feed(request: web.Request, country: str) -> web.Response:
    state = request.app[STATE]

    async def build(_: int) -> bytes:
        if country:
            await _country_or_404(state, country)
        events = await state.source.events(country=country, limit=FEED_EVENTS)
        rows = views.event_rows(events, now_unix_s=state.clock())
        updated = max((r.ended_unix_s or r.started_unix_s for r in rows), default=0.0)
        title = f"{state.site.title}: events" + (f" in {country}" if country else "")
        return feeds.atom_feed(
            title=title,
            base_url=state.site.base_url,
            feed_path=request.path,
            events=rows,
            updated_unix_s=updated,
        )

    return await _fresh(request, "atom", ATOM_TYPE, build)


async def _feed_all(request: web.Request) -> web.Response:
    return await _feed(request, "")


async def _feed_country(request: web.Request) -> web.Response:
    return await _feed(request, params.parse_country(request.match_info["country"]))


# --- the JSON API -----------------------------------------------------------------------------

JSON_TYPE = "application/json"


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _dict(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


async def _api(request: web.Request, build: Callable[[], Awaitable[Any]]) -> web.Response:
    async def body(_: int) -> bytes:
        return _json(await build())

    return await _fresh(request, "json", JSON_TYPE, body)


async def _api_openapi(request: web.Request) -> web.Response:
    site = request.app[STATE].site
    return web.Response(
        body=_json(openapi.document(title=site.title, base_url=site.base_url, version=__version__)),
        content_type=JSON_TYPE,
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def _api_status(request: web.Request) -> web.Response:
    state = request.app[STATE]

    async def build() -> Any:
        ases, countries = await asyncio.gather(
            state.source.all_as_statuses(statuses=NOT_UP), state.source.country_statuses(NOT_UP)
        )
        round_number, round_start, _ = await state.source.latest_round()
        return {
            "round": round_number,
            "round_start": params.iso(round_start) if round_number else None,
            "countries": [_dict(c) for c in countries],
            "ases": [_dict(s) for s in ases],
        }

    return await _api(request, build)


def _status_filter(request: web.Request) -> list[int]:
    status_word = request.query.get("status", "").upper()
    if status_word and status_word not in STATUS_NUMBERS:
        raise params.BadParameter("status", f"{status_word!r} is not one of {', '.join(STATUS_NUMBERS)}")
    return [int(STATUS_NUMBERS[status_word])] if status_word else []


async def _api_countries(request: web.Request) -> web.Response:
    state = request.app[STATE]
    statuses = _status_filter(request)

    async def build() -> Any:
        return {"statuses": [_dict(c) for c in await state.source.country_statuses(statuses)]}

    return await _api(request, build)


async def _api_ases(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = request.query
    country = params.parse_country(query["country"]) if query.get("country") else ""
    statuses = _status_filter(request)
    page_size = params.parse_int("page_size", query.get("page_size"), default=100, low=1, high=1000)
    token = query.get("page_token", "")
    if token and not token.isdigit():
        raise params.BadParameter("page_token", f"{token!r} is not a page token from a previous answer")

    async def build() -> Any:
        return _dict(
            await state.source.as_page(
                country=country, statuses=statuses, page_size=page_size, page_token=token
            )
        )

    return await _api(request, build)


async def _api_as(request: web.Request) -> web.Response:
    state = request.app[STATE]
    asn = params.parse_asn(request.match_info["asn"])

    async def build() -> Any:
        return _dict(await _as_or_404(state, asn))

    return await _api(request, build)


async def _api_country(request: web.Request) -> web.Response:
    state = request.app[STATE]
    country = params.parse_country(request.match_info["country"])

    async def build() -> Any:
        return _dict(await _country_or_404(state, country))

    return await _api(request, build)


async def _api_coverage(request: web.Request) -> web.Response:
    state = request.app[STATE]
    country = params.parse_country(request.match_info["country"])

    async def build() -> Any:
        status = await _country_or_404(state, country)
        ases, discovered = await asyncio.gather(
            state.source.all_as_statuses(country=country), state.source.coverage(country=country)
        )
        counted = views.coverage(status, [views.as_row(s) for s in ases], None)
        return {
            "country": country,
            "counted": {
                k: getattr(counted, k) for k in ("measured_ases", "targets", "vantage_points", "vantage_ases")
            },
            "discovery": _dict(discovered) if discovered is not None else None,  # GetCoverage
        }

    return await _api(request, build)


async def _timeline_message(request: web.Request, *, asn: int = 0, country: str = "") -> Any:
    state = request.app[STATE]
    window = _window(request)
    if asn:
        await _as_or_404(state, asn)
    else:
        await _country_or_404(state, country)
    return await state.source.timeline(
        asn=asn, country=country, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s
    )


async def _api_timeline_as(request: web.Request) -> web.Response:
    asn = params.parse_asn(request.match_info["asn"])
    _window(request)  # a bad window is a 400 before any call

    async def build() -> Any:
        return _dict(await _timeline_message(request, asn=asn))

    return await _api(request, build)


async def _api_timeline_country(request: web.Request) -> web.Response:
    country = params.parse_country(request.match_info["country"])
    _window(request)

    async def build() -> Any:
        return _dict(await _timeline_message(request, country=country))

    return await _api(request, build)


async def _csv(request: web.Request, scope: str, *, asn: int = 0, country: str = "") -> web.Response:
    _window(request)

    async def build(_: int) -> bytes:
        message = await _timeline_message(request, asn=asn, country=country)
        return models.timeline_csv(scope, views.timeline(message, now_unix_s=0)).encode()

    response = await _fresh(request, "csv", "text/csv; charset=utf-8", build)
    response.headers["Content-Disposition"] = f'attachment; filename="vantage-{scope}-timeline.csv"'
    return response


async def _api_timeline_as_csv(request: web.Request) -> web.Response:
    asn = params.parse_asn(request.match_info["asn"])
    return await _csv(request, f"AS{asn}", asn=asn)


async def _api_timeline_country_csv(request: web.Request) -> web.Response:
    country = params.parse_country(request.match_info["country"])
    return await _csv(request, country, country=country)


async def _api_events(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = request.query
    country = params.parse_country(query["country"]) if query.get("country") else ""
    asn = params.parse_asn(query["asn"]) if query.get("asn") else 0
    window = _window(request)

    async def build() -> Any:
        events = await state.source.events(
            asn=asn, country=country, since_unix_s=window.since_unix_s, until_unix_s=window.until_unix_s
        )
        return {"events": [_dict(e) for e in events]}

    return await _api(request, build)


async def _api_probes(request: web.Request) -> web.Response:
    state = request.app[STATE]

    async def build() -> Any:
        response = await state.source.probes()
        for probe in response.probes:
            probe.address = ""  # never a probe's address, nor a volunteer's chosen name
            probe.name = ""
        return _dict(response)

    return await _api(request, build)

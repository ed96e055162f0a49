"""End to end in a real browser: Debian's headless Chromium, driven by Playwright, on `vantage web`.

The browser may reach the local site only: every other request is aborted and
recorded, and the test fails if a page asked for one (pages load nothing from
elsewhere). Playwright is pointed at the system browser; it never downloads one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from tests.web.conftest import WebProcess, artefacts_dir

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/setup.sh installs it)"),
]
WINDOW = "?since=2026-01-05T06:00:00Z&until=2026-01-05T09:00:00Z"
ATOM = "{http://www.w3.org/2005/Atom}"


class Browsing:
    def __init__(self, page: object, blocked: list[str], problems: list[str]) -> None:
        self.page = page
        self.blocked = blocked
        self.problems = problems


@pytest.fixture(scope="module")
def browsing(web_site: WebProcess) -> Iterator[Browsing]:
    local = urlsplit(web_site.url).netloc
    blocked: list[str] = []
    problems: list[str] = []
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1100, "height": 900}, service_workers="block")

        def route(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            if urlsplit(url).netloc == local:
                route.continue_()  # type: ignore[attr-defined]
            else:
                blocked.append(url)
                route.abort()  # type: ignore[attr-defined]

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        try:
            yield Browsing(page, blocked, problems)
        finally:
            context.close()
            browser.close()
    assert not blocked, f"pages asked for resources elsewhere: {blocked}"


def test_the_overview_lists_the_cut_country(browsing: Browsing, web_site: WebProcess) -> None:
    page = browsing.page
    page.goto(web_site.url + "/")  # type: ignore[attr-defined]
    countries = page.locator("table.countries tr.country-row")  # type: ignore[attr-defined]
    assert (
        countries.count() == 1
        and "KZ" in countries.first.inner_text()
        and "DOWN" in countries.first.inner_text()
    )
    page.locator("table.countries a", has_text="KZ").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/country/KZ")  # type: ignore[attr-defined]
    assert not browsing.problems, browsing.problems


def test_the_country_page_shows_the_outage_and_its_as_strips(
    browsing: Browsing, web_site: WebProcess
) -> None:
    page = browsing.page
    page.goto(web_site.url + "/country/KZ" + WINDOW)  # type: ignore[attr-defined]
    assert "DOWN" in page.locator("h1").inner_text()  # type: ignore[attr-defined]
    events = page.locator("table.events tr.event")  # type: ignore[attr-defined]
    assert events.count() == 2 and "ongoing" in events.first.inner_text()
    strips = page.locator(".strip-row")  # type: ignore[attr-defined]
    assert strips.count() == 1 and "AS64500" in strips.first.inner_text()
    assert page.locator(".strip-row li.UP").count() == 5 and page.locator(".strip-row li.DOWN").count() == 3  # type: ignore[attr-defined]
    chart = page.locator("figure.chart img")  # type: ignore[attr-defined]
    chart.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('figure.chart img').complete")  # type: ignore[attr-defined]
    assert chart.evaluate("img => img.naturalWidth") >= 600  # the chart image loaded
    shot = artefacts_dir() / "country-KZ.png"
    page.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
    assert shot.stat().st_size > 10_000
    assert not browsing.problems, browsing.problems


def test_the_event_permalink_opens(browsing: Browsing, web_site: WebProcess) -> None:
    page = browsing.page
    page.goto(web_site.url + "/country/KZ" + WINDOW)  # type: ignore[attr-defined]
    link = page.locator("table.events a", has_text="outage").first  # type: ignore[attr-defined]
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url("**" + href)  # type: ignore[attr-defined]
    assert page.locator("h1.event-title").inner_text().startswith("Outage in")  # type: ignore[attr-defined]
    assert "ongoing" in page.locator("table.event-facts").inner_text()  # type: ignore[attr-defined]
    page.wait_for_function("() => document.querySelector('figure.chart img').complete")  # type: ignore[attr-defined]
    assert page.locator("figure.chart img").evaluate("img => img.naturalWidth") >= 600  # type: ignore[attr-defined]
    assert not browsing.problems, browsing.problems


def atom_problems(body: bytes) -> list[str]:
    """The RFC 4287 rules a feed reader relies on (section 4.1): what is missing, or [] for a valid feed."""
    root = ElementTree.fromstring(body)
    problems = [] if root.tag == f"{ATOM}feed" else [f"root is {root.tag}"]
    for name in ("id", "title", "updated"):
        if root.find(ATOM + name) is None:
            problems.append(f"feed has no {name}")
    if root.find(f"{ATOM}author") is None and any(
        e.find(f"{ATOM}author") is None for e in root.iter(f"{ATOM}entry")
    ):
        problems.append("no author for the feed or every entry")
    for entry in root.iter(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            if not entry.findtext(ATOM + name):
                problems.append(f"entry without {name}")
        if entry.find(f"{ATOM}link[@rel='alternate']") is None and entry.find(f"{ATOM}content") is None:
            problems.append("entry without alternate link or content")
    for stamp in [root.findtext(f"{ATOM}updated", "")] + [
        e.findtext(f"{ATOM}updated", "") for e in root.iter(f"{ATOM}entry")
    ]:
        if len(stamp) != 20 or not stamp.endswith("Z"):
            problems.append(f"updated {stamp!r} is not an RFC 3339 UTC time")
    return problems


def test_the_feed_is_atom(browsing: Browsing, web_site: WebProcess) -> None:
    page = browsing.page
    page.goto(web_site.url + "/")  # type: ignore[attr-defined]
    href = page.locator("link[rel=alternate][type='application/atom+xml']").get_attribute("href")  # type: ignore[attr-defined]
    response = page.request.get(web_site.url + href)  # type: ignore[attr-defined]
    assert response.ok and response.headers["content-type"].startswith("application/atom+xml")
    body = response.body()
    assert atom_problems(body) == []
    assert len(ElementTree.fromstring(body).findall(f"{ATOM}entry")) == 2

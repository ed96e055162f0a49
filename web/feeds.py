"""Atom feeds of events (RFC 4287), from web/views.py's EventRow values.

Built with xml.etree so that every value (summaries carry AS names from datasets)
is escaped by the serializer, not by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree

from vantage.web.models import EventRow

ATOM = "http://www.w3.org/2005/Atom"


def _rfc3339(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(
    *, title: str, base_url: str, feed_path: str, events: Sequence[EventRow], updated_unix_s: float
) -> bytes:
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")

    def sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str) -> None:
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        element.text = text

    sub(feed, "id", base_url + feed_path)
    sub(feed, "title", title)
    sub(feed, "updated", _rfc3339(updated_unix_s))
    sub(feed, "link", rel="self", href=base_url + feed_path)
    sub(feed, "link", rel="alternate", href=base_url + "/")
    author = ElementTree.SubElement(feed, f"{{{ATOM}}}author")
    sub(author, "name", "Vantage")
    sub(feed, "generator", "Vantage")
    for event in events:
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        sub(entry, "id", f"{base_url}/event/{event.event_id}")
        state = "ongoing" if event.ongoing else f"ended {event.ended}"
        sub(entry, "title", f"{event.kind.capitalize()} in {event.scope} since {event.started} ({state})")
        sub(entry, "link", rel="alternate", href=f"{base_url}/event/{event.event_id}")
        sub(entry, "published", _rfc3339(event.started_unix_s))
        sub(entry, "updated", _rfc3339(event.ended_unix_s or event.started_unix_s))
        sub(
            entry,
            "summary",
            f"{event.summary} Duration {event.duration}, severity {event.severity}, "
            f"confidence {event.confidence_pct}%.",
        )
        sub(entry, "category", term=event.kind)
    body: bytes = ElementTree.tostring(feed, encoding="utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body

"""The OpenAPI 3.1 document of /api/v1/ (served at /api/v1/openapi.json).

Responses are QueryService messages in protobuf's JSON mapping with the proto
field names (as `vantage status --json` prints them); proto/vantage/v1/query_service.proto
defines every field.
"""

from __future__ import annotations

from typing import Any

from vantage.collector.verdict.model import MECHANISM_NAMES

_WINDOW = [
    {"name": "since", "in": "query", "schema": {"type": "string"},
     "description": "ISO 8601 in UTC (2026-01-05T10:30:00Z) or a duration ago (6h); "
                    "default: 24 h before until"},
    {"name": "until", "in": "query", "schema": {"type": "string"},
     "description": "ISO 8601 in UTC or a duration ago; default: now"},
]  # fmt: skip
_COUNTRY = {
    "name": "country",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
}
_ASN = {"name": "asn", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_ERROR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _get(
    summary: str, message: str, parameters: list[dict[str, Any]], media: str = "application/json"
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": f"a vantage.v1.{message}",
                    "content": {media: {"schema": {"$ref": f"#/components/schemas/{message}"}}}
                    if media == "application/json"
                    else {media: {"schema": {"type": "string"}}},
                },
                "304": {"description": "not modified since the ETag (same round)"},
                "400": _ERROR,
                "404": _ERROR,
                "503": _ERROR,
            },
        }
    }


def _message(description: str) -> dict[str, Any]:
    return {"type": "object", "description": description + " (proto/vantage/v1/query_service.proto)"}


def document(*, title: str, base_url: str, version: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"Vantage — {title}",
            "version": version,
            "description": "Read-only reachability verdicts per AS and per country, their timelines and "
            "events. Every answer carries an ETag and Cache-Control derived from the collector's round.",
        },
        "servers": [{"url": base_url + "/api/v1"}],
        "paths": {
            "/status": _get("Countries and ASes not UP, with the latest round", "Status", []),
            "/ases": _get(
                "AS statuses, paged (ListAsStatus)",
                "ListAsStatusResponse",
                [
                    {"name": "country", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": ["UP", "DEGRADED", "DOWN", "FILTERED", "UNKNOWN"],
                        },
                    },
                    {"name": "page_size", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
                    {"name": "page_token", "in": "query", "schema": {"type": "string"}},
                ],
            ),
            "/ases/{asn}": _get("One AS with its evidence (GetAsStatus)", "AsStatus", [_ASN]),
            "/countries": _get(
                "Every country's latest status (ListCountryStatus)",
                "ListCountryStatusResponse",
                [{"name": "status", "in": "query", "schema": {"type": "string"}}],
            ),
            "/countries/{country}": _get("One country (GetCountryStatus)", "CountryStatus", [_COUNTRY]),
            "/coverage/{country}": _get("What a country's verdict rests on", "Coverage", [_COUNTRY]),
            "/timeline/as/{asn}": _get(
                "Rounds and events of an AS (GetTimeline)", "Timeline", [_ASN, *_WINDOW]
            ),
            "/timeline/as/{asn}.csv": _get("The same as CSV", "Timeline", [_ASN, *_WINDOW], "text/csv"),
            "/timeline/country/{country}": _get(
                "Rounds and events of a country (GetTimeline)", "Timeline", [_COUNTRY, *_WINDOW]
            ),
            "/timeline/country/{country}.csv": _get(
                "The same as CSV", "Timeline", [_COUNTRY, *_WINDOW], "text/csv"
            ),
            "/events": _get(
                "Events of a period (ListEvents)",
                "ListEventsResponse",
                [
                    {"name": "country", "in": "query", "schema": {"type": "string"}},
                    {"name": "asn", "in": "query", "schema": {"type": "integer"}},
                    *_WINDOW,
                ],
            ),
            "/probes": _get("The fleet (ListProbes), without addresses or names", "ListProbesResponse", []),
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string", "description": "bad_request, not_found, unavailable"},
                        "parameter": {"type": "string", "description": "the parameter at fault (400)"},
                        "message": {"type": "string"},
                    },
                },
                "Status": _message("{countries: [CountryStatus], ases: [AsStatus], round, round_start}"),
                "ListAsStatusResponse": _message("vantage.v1.ListAsStatusResponse"),
                "AsStatus": _message(
                    "vantage.v1.AsStatus; `mechanism` (a Mechanism) and `evidence.mechanism_reason` say how "
                    "the AS is cut off, `evidence.routing` what the routes show"
                ),
                "Mechanism": {
                    "type": "string",
                    "description": "How an AS or country is cut off (collector/verdict/mechanism.py); absent "
                    "when nothing is wrong. On AsStatus, CountryStatus, Event and TimelinePoint.",
                    "enum": [
                        f"MECHANISM_{name.upper()}" for name in MECHANISM_NAMES.values() if name != "none"
                    ],
                },
                "CountryStatus": _message("vantage.v1.CountryStatus"),
                "ListCountryStatusResponse": _message("vantage.v1.ListCountryStatusResponse"),
                "Coverage": _message("{country, measured_ases, targets, vantage_points, vantage_ases}"),
                "Timeline": _message("vantage.v1.Timeline"),
                "ListEventsResponse": _message("vantage.v1.ListEventsResponse"),
                "ListProbesResponse": _message("vantage.v1.ListProbesResponse"),
            }
        },
    }

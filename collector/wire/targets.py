"""Imported TargetSpec (wire) → TargetRecord, with AS/country filled in from the datasets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from vantage.collector.storage.records import TargetRecord
from vantage.collector.targets.hostnames import parse_http_url, validate_hostname
from vantage.collector.wire.validation import normalized_address
from vantage.protocols import HTTP, ICMP, kind_of
from vantage.v1 import admin_service_pb2

# Default protocols when a row names none: ping an address, fetch a URL or a host.
DEFAULT_PROTOCOLS = {
    "address": (int(ICMP.protocol),),
    "url": (int(HTTP.protocol),),
    "hostname": (int(HTTP.protocol),),
}
_COUNTRY = re.compile(r"[A-Z]{2}")


class TargetError(ValueError):
    """A row that cannot become a target; the message says why."""


def target_id(target: str) -> str:
    """Deterministic id: the same target gets the same id on every collector."""
    return hashlib.sha256(target.encode("utf-8")).hexdigest()[:16]


def classify_target(target: str) -> tuple[str, str]:
    """(kind, literal address or "") of a target string."""
    address = normalized_address(target)
    if address is not None:
        return "address", address
    if "://" in target:
        try:
            parsed = parse_http_url(target)
        except ValueError as exc:
            raise TargetError(str(exc)) from None
        return "url", parsed.host if parsed.host_is_address else ""
    try:
        validate_hostname(target)
    except ValueError as exc:
        raise TargetError(f"{target!r} is neither an IP address, a host name nor a URL: {exc}") from None
    return "hostname", ""


def target_from_spec(
    spec: admin_service_pb2.TargetSpec, *, locate: Callable[[str], tuple[int, str]], now_unix_s: float
) -> TargetRecord:
    text = spec.target.strip()
    if not text:
        raise TargetError("empty target")
    kind, address = classify_target(text)
    protocols = tuple(sorted(set(int(p) for p in spec.protocols)))
    unknown = [p for p in protocols if kind_of(p) is None]
    if unknown:
        raise TargetError(f"unknown protocol number(s) {unknown}")
    country = spec.country.strip().upper()
    if country and _COUNTRY.fullmatch(country) is None:
        raise TargetError(f"country {spec.country!r} is not an ISO 3166-1 alpha-2 code")
    asn = int(spec.asn)
    if address and (not asn or not country):
        found_asn, found_country = locate(address)
        asn = asn or found_asn
        country = country or found_country
    return TargetRecord(
        target_id=target_id(text),
        target=text,
        kind=kind,
        protocols=protocols or DEFAULT_PROTOCOLS[kind],
        country=country,
        asn=asn,
        tags=tuple(dict.fromkeys(tag.strip() for tag in spec.tags if tag.strip())),
        source=spec.source,
        address=address,
        added_at_unix_s=now_unix_s,
    )

"""Validation of host names (RFC 1123) and http(s) URLs for target files."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HOSTNAME_LENGTH = 253  # RFC 1035 §2.3.4: 255 octets on the wire = 253 characters in text
MAX_LABEL_LENGTH = 63  # RFC 1035 §2.3.4
_LABEL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def validate_hostname(text: str) -> str:
    """Lower-cased host name without a trailing dot; ValueError saying what is wrong.

    RFC 1123 §2.1: letters, digits and hyphens, labels of 1..63 characters that neither start
    nor end with a hyphen; a name of digits and dots only would be a malformed IPv4 address.
    Internationalised names must be given in their ASCII (xn--) form.
    """
    name = text.strip().lower().removesuffix(".")
    if not name:
        raise ValueError("empty host name")
    if len(name) > MAX_HOSTNAME_LENGTH:
        raise ValueError(f"host name longer than {MAX_HOSTNAME_LENGTH} characters")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise ValueError(f"{text!r}: empty label (two dots in a row)")
        if len(label) > MAX_LABEL_LENGTH:
            raise ValueError(f"{text!r}: label {label[:20]!r}... longer than {MAX_LABEL_LENGTH} characters")
        if not set(label) <= _LABEL_CHARACTERS:
            bad = sorted(set(label) - _LABEL_CHARACTERS)[0]
            raise ValueError(f"{text!r}: character {bad!r} is not allowed in a host name (RFC 1123)")
        if label[0] == "-" or label[-1] == "-":
            raise ValueError(f"{text!r}: label {label!r} starts or ends with a hyphen")
    if labels[-1].isdigit():
        raise ValueError(f"{text!r} is neither an IP address nor a host name (all-numeric last label)")
    return name


@dataclass(frozen=True, slots=True)
class HttpUrl:
    url: str  # as given (stripped)
    scheme: str  # "http" or "https"
    host: str  # lower-case host name or canonical IP text
    host_is_address: bool
    port: int  # explicit, or 80/443 from the scheme


def parse_http_url(text: str) -> HttpUrl:
    """An http:// or https:// URL with a valid host; ValueError saying what is wrong."""
    url = text.strip()
    if any(character.isspace() for character in url):
        raise ValueError(f"{url!r}: URL contains white space")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"{url!r}: only http:// and https:// URLs can be measured")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{url!r}: credentials in URLs are not accepted")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r}: bad port") from None
    host_text = parts.hostname or ""
    if not host_text:
        raise ValueError(f"{url!r}: URL without a host")
    try:
        host = str(ipaddress.ip_address(host_text))
        is_address = True
    except ValueError:
        host = validate_hostname(host_text)
        is_address = False
    return HttpUrl(url, scheme, host, is_address, port or (443 if scheme == "https" else 80))

"""The pure parts of an HTTP(S) fetch: URLs, redirects, headers, titles, certificate facts.

The driver (engine/http/driver.py) speaks HTTP/1.1 through h11 over its own socket reads, so
every phase (dns, connect, tls, first byte) has its own timestamp; everything it has to decide
from data comes from here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from vantage import failures
from vantage.probe.engine.http.certificate import CertificateFacts
from vantage.probe.engine.model import TlsInfo

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Response headers kept in a result (proto HttpDetails.headers): bounded and free of cookies.
SELECTED_HEADERS = ("server", "content-type", "content-length", "location")
USER_AGENT = "vantage-probe/0.1 (+https://github.com/vantage-measurement)"
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
MAX_TITLE_CHARS = 200


@dataclass(frozen=True, slots=True)
class UrlParts:
    scheme: str  # "http" or "https"
    host: str  # without brackets
    port: int
    target: str  # path and query, at least "/"
    host_header: str

    @property
    def host_is_address(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def parse_url(url: str) -> UrlParts:
    """Split an http(s) URL; ValueError names what is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"URL {url!r}: scheme must be http or https")
    host = parts.hostname
    if not host:
        raise ValueError(f"URL {url!r} has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise ValueError(f"URL {url!r}: {exc}") from None
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed if default_port else f"{bracketed}:{port}"
    return UrlParts(scheme, host, port, target, host_header)


# RFC 8305 section 5: the recommended Connection Attempt Delay before the next address is tried.
CONNECTION_ATTEMPT_DELAY_MS = 250.0


def connection_order(addresses: Sequence[str]) -> list[str]:
    """The order to try a host's addresses in (RFC 8305 section 4).

    The resolver's order (getaddrinfo sorts by RFC 6724) is kept within each family, duplicates
    dropped, and the families alternate, starting with the family of the first address.
    """
    unique = list(dict.fromkeys(addresses))
    if not unique:
        return []
    first_v6 = ":" in unique[0]
    preferred = [a for a in unique if (":" in a) == first_v6]
    other = [a for a in unique if (":" in a) != first_v6]
    ordered: list[str] = []
    for index in range(max(len(preferred), len(other))):
        ordered.extend(family[index] for family in (preferred, other) if index < len(family))
    return ordered


def redirect_url(current_url: str, location: str) -> str:
    return urljoin(current_url, location)


def select_headers(headers: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    kept: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name in SELECTED_HEADERS and name not in kept:
            kept[name] = raw_value.decode("latin-1")
    return tuple(sorted(kept.items()))


def header_size(status_line_bytes: int, headers: list[tuple[bytes, bytes]]) -> int:
    """Size of the response head as sent: status line, `name: value\\r\\n` lines, blank line."""
    return status_line_bytes + sum(len(n) + len(v) + 4 for n, v in headers) + 2


def extract_title(body_prefix: bytes) -> str:
    match = _TITLE.search(body_prefix)
    if not match:
        return ""
    text = match.group(1).decode("utf-8", errors="replace")
    return " ".join(text.split())[:MAX_TITLE_CHARS]


class BodyDigest:
    """Length and SHA-256 of at most `limit` bytes of a body, and whether there was more."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.length = 0
        self.truncated = False
        self.prefix = b""  # the first 64 kB, for the title
        self._hash = hashlib.sha256()

    def feed(self, data: bytes) -> bool:
        """Take a chunk; False once the bound is reached (the caller stops reading)."""
        room = self.limit - self.length
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self._hash.update(data)
        self.length += len(data)
        if len(self.prefix) < 65536:
            self.prefix += data[: 65536 - len(self.prefix)]
        return not self.truncated

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def tls_info(
    version: str, cipher: str, certificate: CertificateFacts | None, verification_error: str
) -> TlsInfo:
    if certificate is None:
        return TlsInfo(version=version, cipher=cipher, verification_error=verification_error)
    return TlsInfo(
        version=version,
        cipher=cipher,
        cert_subject=certificate.subject,
        cert_issuer=certificate.issuer,
        cert_not_after=certificate.not_after,
        verification_error=verification_error,
        cert_dns_names=certificate.dns_names,
        cert_not_before=certificate.not_before,
        cert_sha256=certificate.sha256,
    )


# glibc's resolver reads at most this many `nameserver` lines (resolv.h MAXNS) and, when
# there is none, asks the local host (resolv.conf(5)).
MAX_NAMESERVERS = 3
DEFAULT_NAMESERVER = "127.0.0.1"
# The host's two questions: IPv4 first, as the connection order prefers neither (RFC 8305).
RESOLVE_TYPES = ("A", "AAAA")


def is_localhost(host: str) -> bool:
    """`localhost` and names under it are the loopback, never asked of DNS (RFC 6761 section
    6.3; the system's resolver answers them from /etc/hosts)."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


LOOPBACK_ADDRESSES = ("::1", "127.0.0.1")


def nameservers(resolv_conf: str) -> tuple[str, ...]:
    """The resolvers of a resolv.conf text, as glibc reads them (resolv.conf(5)): the address of
    each `nameserver` line, at most three, an IPv6 zone kept; the local host when there is none."""
    found: list[str] = []
    for line in resolv_conf.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            address = fields[1].split("%", 1)[0]
            try:
                ipaddress.ip_address(address)
            except ValueError:
                continue  # glibc skips an unparsable address too
            found.append(fields[1])
        if len(found) == MAX_NAMESERVERS:
            break
    return tuple(found) or (DEFAULT_NAMESERVER,)


@dataclass(frozen=True, slots=True)
class Answered:
    """One of the host's questions (RESOLVE_TYPES) as the DNS step judged it."""

    query_type: str
    addresses: tuple[str, ...]  # the answers of the asked type
    failure_kind: str  # empty when it was answered
    failure_detail: str = ""


def resolution(answered: Sequence[Answered]) -> tuple[list[str], tuple[str, str] | None]:
    """The addresses to connect to, in connection order (IPv6 first), or the failure (kind,
    detail) of the resolve phase: a host with an address of either family resolved. Without one, the first
    failure that is not "no answer" names it (an NXDOMAIN, a SERVFAIL, a timeout), else
    dns_no_answer; the detail names each question's outcome."""
    addresses = [address for each in answered for address in each.addresses]
    if addresses:
        # IPv6 first, as RFC 6724's default policy sorts them (getaddrinfo did) and RFC 8305
        # section 4 starts; without an IPv6 route its attempt fails at once and IPv4 follows.
        addresses.sort(key=lambda address: ":" not in address)
        return connection_order(addresses), None
    kinds = [each.failure_kind or failures.DNS_NO_ANSWER for each in answered]
    kind = next((k for k in kinds if k != failures.DNS_NO_ANSWER), failures.DNS_NO_ANSWER)
    detail = "; ".join(
        f"{each.query_type}: {each.failure_detail or each.failure_kind or 'no address'}" for each in answered
    )
    return [], (kind, detail)

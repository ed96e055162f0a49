"""Pure pieces of an HTTP fetch: URLs, headers, titles, bounded digests, certificate facts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from vantage.probe.engine.http import step as http_step


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "target", "host_header"),
    [
        ("http://example.test/", "http", "example.test", 80, "/", "example.test"),
        ("https://example.test", "https", "example.test", 443, "/", "example.test"),
        ("https://example.test:8443/a?b=c", "https", "example.test", 8443, "/a?b=c", "example.test:8443"),
        ("http://[2001:db8::1]:8080/x", "http", "2001:db8::1", 8080, "/x", "[2001:db8::1]:8080"),
        ("HTTP://192.0.2.1/", "http", "192.0.2.1", 80, "/", "192.0.2.1"),
    ],
)
def test_parse_url(url: str, scheme: str, host: str, port: int, target: str, host_header: str) -> None:
    parts = http_step.parse_url(url)
    assert (parts.scheme, parts.host, parts.port, parts.target, parts.host_header) == (
        scheme,
        host,
        port,
        target,
        host_header,
    )


@pytest.mark.parametrize(
    "url", ["ftp://example.test/", "http://", "example.test", "http://example.test:99999/"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        http_step.parse_url(url)


def test_redirects_resolve_relative_locations() -> None:
    assert http_step.redirect_url("http://a.test/x/y", "/z") == "http://a.test/z"
    assert http_step.redirect_url("http://a.test/x/y", "https://b.test/") == "https://b.test/"


def test_selected_headers_only() -> None:
    headers = [
        (b"Server", b"nginx"),
        (b"Set-Cookie", b"secret"),
        (b"Content-Type", b"text/html"),
        (b"server", b"2nd"),
    ]
    assert http_step.select_headers(headers) == (("content-type", "text/html"), ("server", "nginx"))


def test_title() -> None:
    assert http_step.extract_title(b"<html><TITLE lang=en>\n Hello   world </title>") == "Hello world"
    assert http_step.extract_title(b"<html>no title") == ""


def test_body_digest_is_bounded() -> None:
    digest = http_step.BodyDigest(limit=10)
    assert digest.feed(b"12345")
    assert not digest.feed(b"67890abc")
    assert digest.length == 10 and digest.truncated
    assert digest.sha256 == hashlib.sha256(b"1234567890").hexdigest()


def test_tls_info_from_getpeercert() -> None:
    cert = {
        "subject": ((("commonName", "www.example.test"),),),
        "issuer": ((("organizationName", "Vantage Test CA"),), (("commonName", "Test CA"),)),
        "notAfter": "Jan  2 03:04:05 2031 GMT",
        "subjectAltName": (("DNS", "www.example.test"), ("IP Address", "192.0.2.1")),
    }
    info = http_step.tls_info("TLSv1.3", "TLS_AES_256_GCM_SHA384", cert, "")
    assert info.cert_subject == "commonName=www.example.test"
    assert info.cert_issuer == "organizationName=Vantage Test CA, commonName=Test CA"
    assert info.cert_not_after == datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert info.cert_dns_names == ("www.example.test",)

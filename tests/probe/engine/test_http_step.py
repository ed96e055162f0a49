"""Pure pieces of an HTTP fetch: URLs, headers, titles, bounded digests, certificate facts."""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vantage.probe.engine.http import step as http_step
from vantage.probe.engine.http.certificate import certificate_facts


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


def _certificate(tmp_path: Path, subject: str, san: str, days: int) -> tuple[bytes, Path]:
    key, pem = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(pem), "-days", str(days), "-subj", subject, "-addext", f"subjectAltName={san}"],
                   check=True, capture_output=True)  # fmt: skip
    return ssl.PEM_cert_to_DER_cert(pem.read_text()), pem


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize(
    ("subject", "san", "days"),
    [
        ("/O=Vantage Test CA/CN=www.example.test", "DNS:www.example.test,IP:192.0.2.1", 3),
        ("/C=ZZ/ST=Nowhere/L=Lab/OU=\xc3\xa9quipe/CN=b\xc3\xa9ta.test", "DNS:a.test,DNS:*.b.test", 20000),
    ],
)
def test_certificate_facts_from_der_agree_with_openssl(
    tmp_path: Path, subject: str, san: str, days: int
) -> None:
    # Issue 18, item 5: a certificate is read from DER, whether it verified or not; the facts
    # must be the ones OpenSSL's own decoder (getpeercert's) gives.
    der, pem = _certificate(tmp_path, subject, san, days)
    decoded = ssl._ssl._test_decode_cert(str(pem))  # type: ignore[attr-defined]
    facts = certificate_facts(der)
    info = http_step.tls_info("TLSv1.3", "TLS_AES_256_GCM_SHA384", facts, "")
    names = lambda name: ", ".join(f"{key}={value}" for rdn in name for key, value in rdn)  # noqa: E731
    assert info.cert_subject == names(decoded["subject"]) and info.cert_issuer == names(decoded["issuer"])
    assert "commonName=" in info.cert_subject
    parse = lambda text: datetime.strptime(text, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)  # noqa: E731
    assert info.cert_not_after == parse(decoded["notAfter"])
    assert info.cert_not_before == parse(decoded["notBefore"])
    assert info.cert_dns_names == tuple(v for k, v in decoded["subjectAltName"] if k == "DNS")
    assert info.cert_sha256 == hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize("der", [b"", b"\x30\x05\x02\x01", b"\x04\x00", b"\x30\x84\xff\xff\xff\xff"])
def test_what_is_no_certificate_is_a_value_error(der: bytes) -> None:
    with pytest.raises(ValueError):
        certificate_facts(der)


@pytest.mark.parametrize(
    ("resolved", "order"),
    [
        ([], []),
        (["192.0.2.1"], ["192.0.2.1"]),
        (
            ["2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2"],
            ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"],
        ),
        (["192.0.2.1", "192.0.2.1", "2001:db8::1"], ["192.0.2.1", "2001:db8::1"]),
        (
            ["192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1"],
            ["192.0.2.1", "2001:db8::1", "192.0.2.2", "192.0.2.3"],
        ),
    ],
)
def test_connection_order_alternates_families_rfc8305(resolved: list[str], order: list[str]) -> None:
    assert http_step.connection_order(resolved) == order


def test_nameservers_are_read_as_glibc_reads_resolv_conf() -> None:
    conf = (
        "# generated\nsearch lab.test\nnameserver 192.0.2.53 # first\nnameserver not-an-address\n"
        "nameserver fe80::1%eth0\n; comment\nnameserver 2001:db8::53\nnameserver 198.51.100.53\n"
    )
    assert http_step.nameservers(conf) == ("192.0.2.53", "fe80::1%eth0", "2001:db8::53")  # at most 3
    assert http_step.nameservers("options timeout:1\n") == ("127.0.0.1",)  # none: the local host


def test_resolution_prefers_any_address_then_the_telling_failure() -> None:
    answered = http_step.Answered
    both = [answered("A", ("192.0.2.1",), ""), answered("AAAA", ("2001:db8::1",), "")]
    assert http_step.resolution(both) == (["2001:db8::1", "192.0.2.1"], None)
    only_v4 = [answered("A", ("192.0.2.1",), ""), answered("AAAA", (), "dns_no_answer")]
    assert http_step.resolution(only_v4) == (["192.0.2.1"], None)
    nx = [answered("A", (), "dns_nxdomain_error", "NXDOMAIN"), answered("AAAA", (), "dns_nxdomain_error")]
    assert http_step.resolution(nx) == ([], ("dns_nxdomain_error", "A: NXDOMAIN; AAAA: dns_nxdomain_error"))
    timeout = [answered("A", (), "dns_no_answer"), answered("AAAA", (), "generic_timeout_error", "timed out")]
    assert http_step.resolution(timeout)[1] == ("generic_timeout_error", "A: dns_no_answer; AAAA: timed out")
    nothing = [answered("A", (), "dns_no_answer"), answered("AAAA", (), "dns_no_answer")]
    assert http_step.resolution(nothing)[1] is not None
    assert http_step.resolution(nothing)[1][0] == "dns_no_answer"  # type: ignore[index]


@pytest.mark.parametrize(
    ("host", "local"), [("localhost", True), ("a.LOCALHOST.", True), ("localhost.test", False)]
)
def test_localhost_is_never_asked_of_dns(host: str, local: bool) -> None:
    assert http_step.is_localhost(host) is local

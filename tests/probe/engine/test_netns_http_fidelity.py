"""HTTP(S) measured as faithfully as curl: the fidelity defects of issue 18, each against a real server.

The servers (lab_servers.py) run in the lab's target namespace; each test names the issue's item.
"""

from __future__ import annotations

import hashlib
import ssl
from typing import Any

import pytest

from .lab_servers import FIN_AT_ACCEPT, RST_AFTER_HELLO, SHORT_BODY, SILENT_CLOSE
from .netns_lab import DNS_SERVER, DROPPED_NET, V6_DROPPED, V6_PROHIBITED, WEB, WEB_NAME, WEB_V6, ProbeLab

pytestmark = pytest.mark.netns


def _kind(doc: dict[str, Any]) -> str | None:
    return doc.get("failure", {}).get("kind")


def _operation(doc: dict[str, Any]) -> str | None:
    return doc.get("failure", {}).get("operation")


@pytest.mark.parametrize("address", [WEB_V6, f"[{WEB_V6}]"])
def test_resolve_to_an_ipv6_address(lab: ProbeLab, address: str) -> None:
    # Item 7: `--resolve HOST:IPV6` was split at its last colon and rejected.
    _, (doc,) = lab.measure(f"https://{WEB_NAME}/", "--resolve", f"{WEB_NAME}:{address}",
                            "--ca-file", str(lab.ca_file), protocol="http")  # fmt: skip
    assert doc["outcome"] == "OUTCOME_OK", doc
    assert doc["http"]["connected_address"] == WEB_V6 and doc["address_family"] == 6
    assert doc["http"]["tls"]["cert_subject"] == f"commonName={WEB_NAME}"


def test_hang_ups_are_eof_or_reset_at_the_phase_they_cut(lab: ProbeLab) -> None:
    # Items 2 and 3: h11's protocol error won over the EOF (http_invalid_response), and a FIN
    # during the TLS handshake (asyncio's errno-less ConnectionResetError) was unknown_failure.
    site, secure = f"http://{WEB}", f"https://{WEB_NAME}"
    staged = {
        f"{site}:{FIN_AT_ACCEPT}/": ("eof_error", "OPERATION_HTTP_ROUND_TRIP"),
        f"{site}:{RST_AFTER_HELLO}/": ("connection_reset", "OPERATION_HTTP_ROUND_TRIP"),
        f"{site}:{SHORT_BODY}/": ("eof_error", "OPERATION_HTTP_ROUND_TRIP"),
        f"{site}:{SILENT_CLOSE}/": ("eof_error", "OPERATION_HTTP_ROUND_TRIP"),
        f"{secure}:{FIN_AT_ACCEPT}/": ("eof_error", "OPERATION_TLS_HANDSHAKE"),
        f"{secure}:{RST_AFTER_HELLO}/": ("connection_reset", "OPERATION_TLS_HANDSHAKE"),
    }
    _, docs = lab.measure(*staged, "--resolve", f"{WEB_NAME}:{WEB}", "--timeout", "5000", protocol="http")
    found = {doc["http"]["url"]: (_kind(doc), _operation(doc)) for doc in docs}
    assert found == staged
    short = next(doc for doc in docs if doc["http"]["url"] == f"{site}:{SHORT_BODY}/")
    assert short["http"]["status_code"] == 200  # what arrived before the EOF is kept


def test_name_resolution_failures_are_named(lab: ProbeLab) -> None:
    # Item 1: getaddrinfo's EAI codes were unknown_failure. The probe namespace resolves through
    # the lab's dnsmasq (netns_lab.py: netns_etc), which answers NXDOMAIN for nx.lab.test, has
    # only a TXT record for nodata.lab.test and refuses names it has no upstream for. The probe's
    # own DNS step asks it (not getaddrinfo, which folded REFUSED into a server failure), so each
    # answer is named for what it is and the resolve phase carries its rcode.
    staged = {
        "http://nx.lab.test/": ("dns_nxdomain_error", "NXDOMAIN"),
        "http://nodata.lab.test/": ("dns_no_answer", "NOERROR"),
        "http://elsewhere.example/": ("dns_refused_error", "REFUSED"),
    }
    _, docs = lab.measure(*staged, "--timeout", "5000", protocol="http")
    found = {doc["http"]["url"]: (_kind(doc), _operation(doc)) for doc in docs}
    assert found == {url: (kind, "OPERATION_RESOLVE") for url, (kind, _) in staged.items()}
    for doc in docs:
        exchanges = doc["http"]["resolve"]
        assert [(e["query_type"], e["server"]) for e in exchanges] == [
            ("A", DNS_SERVER),
            ("AAAA", DNS_SERVER),
        ]
        assert {e["rcode"] for e in exchanges} == {staged[doc["http"]["url"]][1]}
        assert doc["http"]["timings"]["dns_ms"] > 0
    _, (ok,) = lab.measure(f"http://{WEB_NAME}/", protocol="http")  # the same resolver, a name it knows
    assert ok["outcome"] == "OUTCOME_OK" and ok["http"]["connected_address"] == WEB
    answered = {e["query_type"]: [a["data"] for a in e.get("answers", [])] for e in ok["http"]["resolve"]}
    assert answered["A"] == [WEB]


def test_a_silent_nameserver_is_a_dns_timeout_and_the_next_one_is_asked(lab: ProbeLab) -> None:
    # Item 1: the DNS step times its own phase; a resolver that never answers is a timeout at
    # the resolve phase (not the connect's), and the next nameserver of resolv.conf is asked.
    conf = lab.netns_etc / "resolv.conf"
    kept = conf.read_text()
    silent = DROPPED_NET.split("/")[0].rsplit(".", 1)[0] + ".53"  # the firewall drops it
    try:
        conf.write_text(f"nameserver {silent}\n")
        _, (lost,) = lab.measure(f"http://{WEB_NAME}/", "--timeout", "2000", protocol="http")
        assert (_kind(lost), _operation(lost)) == ("generic_timeout_error", "OPERATION_RESOLVE")
        assert lost["http"]["timings"]["dns_ms"] >= 1000  # its own phase, not the connect's
        conf.write_text(f"nameserver {silent}\nnameserver {DNS_SERVER}\n")
        _, (ok,) = lab.measure(f"http://{WEB_NAME}/", "--timeout", "4000", protocol="http")
        assert ok["outcome"] == "OUTCOME_OK" and ok["http"]["connected_address"] == WEB
        assert [e["server"] for e in ok["http"]["resolve"]] == [silent, silent, DNS_SERVER, DNS_SERVER]
    finally:
        conf.write_text(kept)


@pytest.mark.parametrize("insecure", [False, True])
def test_the_certificate_that_failed_verification_is_recorded(lab: ProbeLab, insecure: bool) -> None:
    # Item 5: subject, issuer, validity, names and fingerprint were lost whenever verification
    # failed (the lab's CA is not in the system store here), even with --insecure.
    flags = ["--insecure"] if insecure else []
    _, (doc,) = lab.measure(f"https://{WEB_NAME}/", "--resolve", f"{WEB_NAME}:{WEB}", *flags, protocol="http")
    tls = doc["http"]["tls"]
    der = ssl.PEM_cert_to_DER_cert((lab.workdir / "server.pem").read_text())
    assert tls["verification_error"] and tls["cert_sha256"] == hashlib.sha256(der).hexdigest()
    assert tls["cert_subject"] == f"commonName={WEB_NAME}" and "Vantage Test CA" in tls["cert_issuer"]
    assert tls["cert_dns_names"] == [WEB_NAME] and tls["cert_not_before"] < tls["cert_not_after"]
    if insecure:
        assert doc["outcome"] == "OUTCOME_OK" and doc["http"]["status_code"] == 200
    else:
        assert _kind(doc) == "ssl_unknown_authority" and _operation(doc) == "OPERATION_TLS_HANDSHAKE"
        assert doc["http"].get("status_code") is None


@pytest.mark.parametrize("protocol", ["icmp", "tcp"])
def test_a_name_that_does_not_resolve_is_one_failed_measurement(lab: ProbeLab, protocol: str) -> None:
    # Item 12: one ICMP (or TCP) target name that did not resolve aborted the whole run.
    targets = [WEB, "nx.lab.test", WEB_NAME] if protocol == "icmp" else [f"{WEB}:80", "nx.lab.test:80"]
    flags = ["--count", "1"] if protocol == "icmp" else []
    status, docs = lab.measure(*targets, *flags, protocol=protocol)
    assert status == 1 and len(docs) == len(targets)
    (unresolved,) = [doc for doc in docs if doc["target"].get("name") == "nx.lab.test"]
    assert unresolved["outcome"] == "OUTCOME_FAILURE" and "address" not in unresolved["target"]
    assert _kind(unresolved) == "dns_nxdomain_error" and _operation(unresolved) == "OPERATION_RESOLVE"
    measured = [doc for doc in docs if doc is not unresolved]
    assert all(doc["outcome"] == "OUTCOME_OK" and doc["target"]["address"] == WEB for doc in measured)


def test_happy_eyeballs_over_the_resolved_addresses(lab: ProbeLab) -> None:
    # Item 10: only the first resolved address (IPv6 first) was tried. dual.lab.test: a dropped
    # IPv6 address and the server's IPv4 one; dead.lab.test: admin-prohibited and host unreachable.
    _, docs = lab.measure(
        "http://dual.lab.test/", "http://dead.lab.test/", "--timeout", "5000", protocol="http"
    )
    by_url = {doc["http"]["url"]: doc for doc in docs}
    dual = by_url["http://dual.lab.test/"]
    assert dual["outcome"] == "OUTCOME_OK" and dual["http"]["connected_address"] == WEB, dual
    dropped, won = dual["http"]["connect_attempts"]
    assert dropped["address"] == V6_DROPPED and dropped["abandoned"] is True and "failure" not in dropped
    assert won["address"] == WEB and "failure" not in won and won["connect_ms"] > 0
    assert won["started_ms"] >= 250  # RFC 8305's Connection Attempt Delay, not a timeout later
    dead = by_url["http://dead.lab.test/"]
    assert dead["failure"]["operation"] == "OPERATION_CONNECT"
    attempts = dead["http"]["connect_attempts"]
    kinds = {a["address"]: a["failure"]["kind"] for a in attempts}
    assert kinds == {"198.18.2.80": "host_unreachable", V6_PROHIBITED: "administratively_prohibited"}
    assert dead["failure"]["kind"] == kinds[attempts[0]["address"]]  # the preferred address's


def test_every_measurement_reports_the_probes_own_load(lab: ProbeLab) -> None:
    # Item 11: timings taken at socket events grow with the probe's own queueing; each result
    # now says how busy the probe was (in flight, loop lag), so a busy probe cannot pass for a
    # slow network. Eight at once: the engine starts all eight before the first completes.
    urls = [f"https://{WEB_NAME}/?{i}" for i in range(8)]
    common = ["--resolve", f"{WEB_NAME}:{WEB}", "--ca-file", str(lab.ca_file), "--rate", "100000"]
    _, together = lab.measure(*urls, *common, "--concurrency", "8", protocol="http")
    _, alone = lab.measure(*urls[:3], *common, "--concurrency", "1", protocol="http")
    assert sorted(doc["probe_load"]["in_flight"] for doc in together) == list(range(1, 9))
    assert [doc["probe_load"]["in_flight"] for doc in alone] == [1, 1, 1]
    for doc in together + alone:
        assert doc["outcome"] == "OUTCOME_OK" and doc["probe_load"].get("loop_lag_ms", 0.0) >= 0


def test_the_kernel_times_the_handshake_free_of_the_probes_queueing(lab: ProbeLab) -> None:
    # Item 11, the other half: connect_ms is taken when the event loop gets to the socket;
    # connect_rtt_ms is the kernel's own SYN/SYN-ACK round trip (TCP_INFO), which the probe's
    # queueing cannot lengthen, so it is never longer than connect_ms.
    targets = [f"{WEB}:80"] * 16
    _, tcp = lab.measure(*targets, "--concurrency", "16", "--rate", "100000", protocol="tcp")
    _, http = lab.measure(f"http://{WEB_NAME}/", f"https://{WEB_NAME}/", "--resolve", f"{WEB_NAME}:{WEB}",
                          "--ca-file", str(lab.ca_file), protocol="http")  # fmt: skip
    timings = [(doc["tcp"]["connect_rtt_ms"], doc["tcp"]["connect_ms"]) for doc in tcp]
    timings += [
        (doc["http"]["timings"]["connect_rtt_ms"], doc["http"]["timings"]["connect_ms"]) for doc in http
    ]
    assert len(timings) == 18
    assert all(0 < kernel <= loop for kernel, loop in timings), timings


def test_the_tls_handshake_and_first_byte_are_timed_at_the_socket_events(lab: ProbeLab) -> None:
    # Item 11: tls_ms and first_byte_ms are taken when the event loop gets to the socket, and grew
    # with the probe's own queueing (6 ms alone, 91 ms at concurrency 32). tls_socket_ms and
    # first_byte_socket_ms end at the kernel's receive timestamp of the data (SO_TIMESTAMPNS), so
    # a busy probe cannot lengthen them: they are never longer than the loop's own figures.
    urls = [f"https://{WEB_NAME}/", f"http://{WEB_NAME}/"] * 8
    common = ["--resolve", f"{WEB_NAME}:{WEB}", "--ca-file", str(lab.ca_file), "--rate", "100000"]
    _, docs = lab.measure(*urls, *common, "--concurrency", "16", protocol="http")
    assert len(docs) == 16 and all(doc["outcome"] == "OUTCOME_OK" for doc in docs), docs
    for doc in docs:
        timings = doc["http"]["timings"]
        assert 0 < timings["first_byte_socket_ms"] <= timings["first_byte_ms"], timings
        if doc["http"]["url"].startswith("https:"):
            assert 0 < timings["tls_socket_ms"] <= timings["tls_ms"], timings
        else:
            assert "tls_socket_ms" not in timings, timings

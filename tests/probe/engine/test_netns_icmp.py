"""ICMP through real kernels in two namespaces, with failures staged by nftables."""

from __future__ import annotations

import json
import subprocess

import pytest

from .netns_lab import VANTAGE, ProbeLab

pytestmark = pytest.mark.netns

STAGED = {
    "198.18.0.1": ("OUTCOME_OK", None),
    "198.18.1.1": ("OUTCOME_FAILURE", "generic_timeout_error"),  # nft drop
    "198.18.2.1": ("OUTCOME_FAILURE", "host_unreachable"),  # reject with icmp host-unreachable
    "198.18.3.1": ("OUTCOME_FAILURE", "administratively_prohibited"),  # reject admin-prohibited
    "198.18.4.1": ("OUTCOME_FAILURE", "network_unreachable"),  # reject net-unreachable
    "198.18.6.1": ("OUTCOME_FAILURE", "ttl_exceeded"),  # a routing loop between the namespaces
    "198.19.9.9": ("OUTCOME_FAILURE", "network_unreachable"),  # no route: sendto fails
    "fd00:0:0:2::1": ("OUTCOME_OK", None),
    "fd00:0:0:2::dead": ("OUTCOME_FAILURE", "administratively_prohibited"),
    "fd00:0:0:2::beef": ("OUTCOME_FAILURE", "generic_timeout_error"),
}


def test_every_staged_outcome_is_attributed_to_its_target(lab: ProbeLab) -> None:
    # Interleave the failing targets with a few hundred answering ones so that errors must be
    # matched by the quoted packet, not by arrival order.
    sweep = [f"198.18.0.{i}" for i in range(2, 200)]
    targets = [*STAGED, *sweep]
    status, docs = lab.measure(*targets, "--count", "2", "--interval", "50", "--timeout", "800",
                               "--rate", "2000", protocol="icmp")  # fmt: skip
    assert status == 1  # some failed
    by_address = {doc["target"]["address"]: doc for doc in docs}
    assert len(docs) == len(targets) == len(by_address)
    for address, (outcome, kind) in STAGED.items():
        doc = by_address[address]
        assert doc["outcome"] == outcome, (address, doc)
        assert doc.get("failure", {}).get("kind") == kind, (address, doc)
        if kind is not None:
            assert doc["failure"]["operation"] == "OPERATION_ICMP_ECHO"
    for address in sweep:
        icmp = by_address[address]["icmp"]
        assert (icmp["sent"], icmp["received"], icmp.get("duplicates", 0)) == (2, 2, 0), address
        assert icmp["reply_ttl"] == 64 and len(icmp["replies"]) == 2
        assert all(0 < reply["rtt_ms"] < 800 for reply in icmp["replies"])
    prohibited = by_address["198.18.3.1"]["icmp"]["errors"]
    assert [(e["type"], e["code"], e["from_address"]) for e in prohibited] == [(3, 13, "198.18.3.1")] * 2
    assert [e.get("sequence", 0) for e in prohibited] == [0, 1]
    looped = by_address["198.18.6.1"]["icmp"]["errors"][0]
    assert looped["type"] == 11 and "TTL exceeded" in looped["description"]
    v6 = by_address["fd00:0:0:2::dead"]["icmp"]["errors"][0]
    assert (v6["type"], v6["code"]) == (1, 1)


def test_duplicated_replies_are_counted(lab: ProbeLab) -> None:
    # The target's firewall duplicates every echo reply from 198.18.5.0/24 (nft `dup`).
    _, (doc,) = lab.measure(
        "198.18.5.7", "--count", "3", "--interval", "100", "--timeout", "500", protocol="icmp"
    )
    icmp = doc["icmp"]
    assert icmp["received"] == 3
    assert icmp["duplicates"] >= 2  # the last packet's duplicate may come after the target closed


def test_a_sweep_of_a_prefix_matches_every_reply(lab: ProbeLab) -> None:
    status, docs = lab.measure("198.18.64.0/22", "--count", "1", "--rate", "20000", "--timeout", "2000",
                               protocol="icmp")  # fmt: skip
    assert status == 0
    assert len(docs) == 1022
    assert all(doc["icmp"]["received"] == 1 for doc in docs)


def test_concurrent_runs_never_take_each_others_replies(lab: ProbeLab) -> None:
    targets = [f"198.18.9.{i}" for i in range(1, 41)]
    argv = ["ip", "netns", "exec", lab.probe_ns, VANTAGE, "probe", "measure", "icmp", *targets,
            "--count", "3", "--interval", "30", "--timeout", "1000", "--rate", "2000", "--json"]  # fmt: skip
    runs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    for run in runs:
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
        docs = [json.loads(line) for line in out.splitlines()]
        assert len(docs) == len(targets)
        for doc in docs:
            icmp = doc["icmp"]
            assert (icmp["sent"], icmp["received"], icmp.get("duplicates", 0)) == (3, 3, 0)


def _as_nobody(lab: ProbeLab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", lab.probe_ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         VANTAGE, "probe", "measure", "icmp", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_unprivileged_icmp_sockets_work_without_root(lab: ProbeLab) -> None:
    sysctl = ["ip", "netns", "exec", lab.probe_ns, "sysctl", "-qw"]
    subprocess.run([*sysctl, "net.ipv4.ping_group_range=0 2147483647"], check=True)
    try:
        targets = ["198.18.0.1", "fd00:0:0:2::1", "198.18.2.1", "fd00:0:0:2::dead"]
        result = _as_nobody(lab, *targets, "-c", "2", "--interval", "20", "--timeout", "500", "--json")
    finally:
        subprocess.run([*sysctl, "net.ipv4.ping_group_range=1 0"], check=True)
    docs = {doc["target"]["address"]: doc for doc in map(json.loads, result.stdout.splitlines())}
    for address in ("198.18.0.1", "fd00:0:0:2::1"):
        icmp = docs[address]["icmp"]
        assert (icmp["sent"], icmp["received"], icmp["reply_ttl"]) == (2, 2, 64), docs[address]
    # ICMP errors come through the datagram socket's error queue, attributed all the same.
    unreachable = docs["198.18.2.1"]
    assert unreachable["failure"]["kind"] == "host_unreachable", unreachable
    assert [(e["type"], e["code"], e["from_address"]) for e in unreachable["icmp"]["errors"]] == [
        (3, 1, "198.18.2.1")
    ] * 2
    assert docs["fd00:0:0:2::dead"]["failure"]["kind"] == "administratively_prohibited"


def test_without_icmp_sockets_the_error_names_both_fixes(lab: ProbeLab) -> None:
    # As an unprivileged user, with unprivileged ICMP sockets disabled in this namespace.
    subprocess.run(
        ["ip", "netns", "exec", lab.probe_ns, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0"], check=True
    )
    result = _as_nobody(lab, "198.18.0.1")
    assert result.returncode == 1
    assert "CAP_NET_RAW" in result.stderr and "ping_group_range" in result.stderr


# ---------------------------------------------------------------- the forked sender (engine/icmp/fork.py)


@pytest.mark.parametrize("sender", ["forked", "inline"])
def test_both_senders_attribute_every_staged_outcome(lab: ProbeLab, sender: str) -> None:
    # The same staged failures as above, answering targets between them, in one sweep, by each
    # way of sending: a dropped target, ICMP errors, a send error (no route). A sender is
    # forked only for a run of one address family, so IPv6 is a run of its own.
    sweep = [f"198.18.0.{i}" for i in range(2, 120)]
    staged_v4 = [address for address in STAGED if ":" not in address]
    staged_v6 = [address for address in STAGED if ":" in address]
    options = ["--count", "2", "--interval", "20", "--timeout", "500", "--rate", "5000", "--sender", sender]
    status, docs = lab.measure(*sweep[:60], *staged_v4, *sweep[60:], *options, protocol="icmp")
    status6, docs6 = lab.measure(*staged_v6, "fd00:0:0:2::2", *options, protocol="icmp")
    assert status == status6 == 1
    by_address = {doc["target"]["address"]: doc for doc in docs + docs6}
    assert len(docs) == len(sweep) + len(staged_v4) and len(docs6) == len(staged_v6) + 1
    for address, (outcome, kind) in STAGED.items():
        doc = by_address[address]
        assert doc["outcome"] == outcome, (address, doc)
        assert doc.get("failure", {}).get("kind") == kind, (address, doc)
    for address in [*sweep, "fd00:0:0:2::2"]:
        icmp = by_address[address]["icmp"]
        assert (icmp["sent"], icmp["received"], icmp.get("duplicates", 0)) == (2, 2, 0), address
        assert icmp["reply_ttl"] == 64 and all(0 < reply["rtt_ms"] < 500 for reply in icmp["replies"])
    assert by_address["198.19.9.9"]["icmp"].get("sent", 0) == 0  # never left: ENETUNREACH
    prohibited = by_address["198.18.3.1"]["icmp"]["errors"]
    assert [(e["type"], e["code"], e.get("sequence", 0)) for e in prohibited] == [(3, 13, 0), (3, 13, 1)]


def test_a_forked_sweep_of_a_prefix_matches_every_reply_and_the_drops(lab: ProbeLab) -> None:
    # 198.18.0.0/21 at full speed: big enough for `auto` to fork; 198.18.1.0/24 is dropped by
    # the target's firewall and 198.18.2.0/24 rejected, so losses and errors come mid-stream.
    status, docs = lab.measure("198.18.0.0/21", "--count", "1", "--rate", "1000000", "--timeout", "1000",
                               protocol="icmp")  # fmt: skip
    assert status == 1 and len(docs) == 2046
    kinds: dict[str, int] = {}
    for doc in docs:
        third = doc["target"]["address"].split(".")[2]
        kind = doc.get("failure", {}).get("kind", "ok")
        expected = {"1": "generic_timeout_error", "2": "host_unreachable", "3": "administratively_prohibited",
                    "4": "network_unreachable", "6": "ttl_exceeded"}.get(third, "ok")  # fmt: skip
        assert kind == expected, doc
        kinds[kind] = kinds.get(kind, 0) + 1
    # Answering: 198.18.0.1-255, 198.18.5.0/24 (replies duplicated), 198.18.7.0-254.
    assert kinds == {
        "ok": 255 + 256 + 255,
        "generic_timeout_error": 256,
        "host_unreachable": 256,
        "administratively_prohibited": 256,
        "network_unreachable": 256,
        "ttl_exceeded": 256,
    }


def test_a_forked_sender_on_an_unprivileged_datagram_socket(lab: ProbeLab) -> None:
    # The kernel rewrites the identifier to the datagram socket's own: the child must send on
    # the very socket the parent reads, and errors come back on its error queue.
    sysctl = ["ip", "netns", "exec", lab.probe_ns, "sysctl", "-qw"]
    subprocess.run([*sysctl, "net.ipv4.ping_group_range=0 2147483647"], check=True)
    try:
        targets = ["198.18.0.1", "198.18.0.2", "198.18.2.1", "fd00:0:0:2::1"]
        result = _as_nobody(lab, *targets[:3], "-c", "2", "--interval", "20", "--timeout", "500",
                            "--sender", "forked", "--json")  # fmt: skip
        v6 = _as_nobody(lab, targets[3], "-c", "2", "--timeout", "500", "--sender", "forked", "--json")
    finally:
        subprocess.run([*sysctl, "net.ipv4.ping_group_range=1 0"], check=True)
    docs = {
        doc["target"]["address"]: doc for doc in map(json.loads, (result.stdout + v6.stdout).splitlines())
    }
    for address in ("198.18.0.1", "198.18.0.2", "fd00:0:0:2::1"):
        icmp = docs[address]["icmp"]
        assert (icmp["sent"], icmp["received"], icmp["reply_ttl"]) == (2, 2, 64), docs[address]
    assert docs["198.18.2.1"]["failure"]["kind"] == "host_unreachable"

"""The route-feed parsers fed real messages (data/README.md says where they come from) and
broken ones: each rejection names the field and is counted by reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vantage.collector.bgp.exabgp_json import parse_exabgp
from vantage.collector.bgp.feed import RoutingFeed
from vantage.collector.bgp.model import RouteUpdate
from vantage.collector.bgp.mrt_files import read_mrt
from vantage.collector.bgp.parse_error import ParseError
from vantage.collector.bgp.ris_live import parse_ris_live

DATA = Path(__file__).parent / "data"


def ris_samples() -> list[str]:
    return (DATA / "ris_live_samples.jsonl").read_text(encoding="utf-8").splitlines()


def test_ris_live_real_updates() -> None:
    first, second, bare, crawler = (parse_ris_live(line) for line in ris_samples())
    # Two announcements (two next hops) of one IPv6 prefix from one peer of rrc20.
    assert [u.prefix for u in first.updates] == ["2602:fd9e:f00::/40"] * 2
    update = first.updates[0]
    assert update == RouteUpdate(
        peer="rrc20/2001:7f8:24::82",
        peer_asn=58299,
        prefix="2602:fd9e:f00::/40",
        withdrawn=False,
        as_path=(58299, 49981, 397666),
        origin_asn=397666,
        at_unix_s=1636247118.76,
    )
    assert second.updates[0].origin_asn == 13904 and second.updates[0].prefix == "64.68.236.0/22"
    assert bare.updates == ()  # a ris_message without an UPDATE body says nothing
    assert crawler.updates[0].peer == "rrc24/154.11.15.28" and crawler.updates[0].origin_asn == 9558


def test_ris_live_withdrawal_as_set_and_peer_state() -> None:
    withdrawal = {
        "type": "ris_message",
        "data": {
            "timestamp": 1787141896.08,
            "peer": "2001:db8::1",
            "peer_asn": "64500",
            "host": "rrc21.ripe.net",
            "type": "UPDATE",
            "path": [],
            "announcements": [],
            "withdrawals": ["2001:db8:0:0:0:0:0:0/48"],
        },
    }
    message = parse_ris_live(json.dumps(withdrawal))
    assert message.updates[0].withdrawn and message.updates[0].prefix == "2001:db8::/48"
    assert message.updates[0].peer == "rrc21/2001:db8::1"
    aggregate = json.loads(ris_samples()[1])
    aggregate["data"]["path"] = [199524, 1299, [64512, 64513]]
    update = parse_ris_live(json.dumps(aggregate)).updates[0]
    assert update.origin_asn is None and update.as_path == (199524, 1299, 64512, 64513)
    aggregate["data"]["path"] = [199524, [64513, 64512], 1299]
    assert parse_ris_live(json.dumps(aggregate)).updates[0].origin_asn == 1299
    state = {
        "type": "ris_message",
        "data": {
            "timestamp": 1.0,
            "peer": "192.0.2.1",
            "host": "rrc00",
            "type": "RIS_PEER_STATE",
            "state": "down",
        },
    }
    (peer_state,) = parse_ris_live(json.dumps(state)).peer_states
    assert peer_state.peer == "rrc00/192.0.2.1" and not peer_state.up
    error = parse_ris_live('{"type": "ris_error", "data": {"message": "bad subscription"}}')
    assert error.notice == "ris_error: bad subscription" and not error.updates


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda d: d.update(peer_asn="AS58299"), "data.peer_asn", "bad_asn"),
        (lambda d: d.update(timestamp="yesterday"), "data.timestamp", "bad_timestamp"),
        (
            lambda d: d["announcements"][0]["prefixes"].append("64.68.236.1/22"),
            "data.announcements[0].prefixes[1]",
            "bad_prefix",
        ),
        (lambda d: d.update(path=[199524, "x"]), "data.path[1]", "bad_asn"),
        (lambda d: d.update(path=[]), "data.path", "bad_path"),
        (lambda d: d.pop("peer"), "data.peer", "missing_field"),
        (lambda d: d.update(withdrawals="64.68.236.0/22"), "data.withdrawals", "bad_shape"),
    ],
)
def test_ris_live_rejects_naming_the_field(change: object, field: str, reason: str) -> None:
    frame = json.loads(ris_samples()[1])
    change(frame["data"])  # type: ignore[operator]
    with pytest.raises(ParseError) as caught:
        parse_ris_live(json.dumps(frame))
    assert caught.value.field == field and caught.value.reason == reason
    assert field in str(caught.value)


def test_rejections_are_counted_and_lose_nothing() -> None:
    feed = RoutingFeed()
    lines = [*ris_samples(), "{not json", '{"type": "ris_message", "data": []}', ris_samples()[3]]
    errors = [feed.line("ris", "ris-live", line) for line in lines]
    assert [e.reason if e else None for e in errors] == [
        None,
        None,
        None,
        None,
        "bad_json",
        "bad_shape",
        None,
    ]
    assert feed.tally.parsed_counts == {"ris-live": 5}
    assert feed.tally.rejected_counts == {("ris-live", "bad_json"): 1, ("ris-live", "bad_shape"): 1}
    assert feed.table.prefix_count == 3  # 2602:fd9e:f00::/40, 64.68.236.0/22, 103.209.182.0/24


# ExaBGP 4.2's JSON, as lib/exabgp/reactor/api/response/json.py of 4.2.21 writes it (the
# ExaBGP test below checks the 5.x shape against the real program).
EXABGP_42_UPDATE = (
    '{ "exabgp": "4.0.1", "time": 1700000000.5, "host" : "lab", "pid" : 7, "ppid" : 1, "counter": 3,'
    ' "type": "update", "neighbor": { "address": { "local": "198.18.0.2", "peer": "198.18.0.1" },'
    ' "asn": { "local": 64500, "peer": 64501 } , "direction": "receive", "message": { "update": {'
    ' "attribute": { "origin": "igp", "as-path": [ 64501, 64510 ], "as-set": [ 64520, 64521 ],'
    ' "confederation-path": [] }, "announce": { "ipv4 unicast": { "198.18.0.1": [ { "nlri":'
    ' "198.18.100.0/24" }, { "nlri": "198.18.101.0/24" } ] } }, "withdraw": { "ipv4 unicast":'
    ' [ { "nlri": "198.18.102.0/24" } ] } } } } }'
)


def test_exabgp_42_update_state_and_eor() -> None:
    message = parse_exabgp(EXABGP_42_UPDATE)
    withdrawn, first, second = message.updates
    assert withdrawn.withdrawn and withdrawn.prefix == "198.18.102.0/24" and withdrawn.peer == "198.18.0.1"
    assert first.as_path == (64501, 64510, 64520, 64521) and first.origin_asn is None  # AS_SET last
    assert second.prefix == "198.18.101.0/24" and second.peer_asn == 64501
    state = json.loads(EXABGP_42_UPDATE)
    state["type"] = "state"
    state["neighbor"] = {
        "address": {"peer": "198.18.0.1"},
        "asn": {"peer": 64501},
        "state": "down",
        "reason": "peer reset",
    }
    (peer_state,) = parse_exabgp(json.dumps(state)).peer_states
    assert not peer_state.up and peer_state.detail == "peer reset"
    eor = json.loads(EXABGP_42_UPDATE)
    eor["neighbor"]["message"] = {"eor": {"afi": "ipv4", "safi": "unicast"}}
    assert parse_exabgp(json.dumps(eor)).end_of_rib == ("198.18.0.1",)


def test_exabgp_5_segments() -> None:
    update = json.loads(EXABGP_42_UPDATE)
    attribute = update["neighbor"]["message"]["update"]["attribute"]
    del attribute["as-set"]
    attribute["as-path"] = {
        "0": {"element": "as-sequence", "value": [64501, 64510]},
        "1": {"element": "as-set", "value": [64521]},
    }
    assert parse_exabgp(json.dumps(update)).updates[1].origin_asn is None
    attribute["as-path"] = {"0": {"element": "as-sequence", "value": [64501, 64510]}}
    assert parse_exabgp(json.dumps(update)).updates[1].origin_asn == 64510


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        (("neighbor", "asn", "peer"), "x", "neighbor.asn.peer", "bad_asn"),
        (("time",), None, "time", "bad_timestamp"),
        (("neighbor", "address", "peer"), None, "neighbor.address.peer", "missing_field"),
        (
            ("neighbor", "message", "update", "attribute", "as-path"),
            "64501",
            "neighbor.message.update.attribute.as-path",
            "bad_path",
        ),
        (
            ("neighbor", "message", "update", "announce", "ipv4 unicast", "198.18.0.1"),
            [{"nlri": "198.18.100.0/33"}],
            "neighbor.message.update.announce.ipv4 unicast.198.18.0.1[0]",
            "bad_prefix",
        ),
    ],
)
def test_exabgp_rejects_naming_the_field(
    path: tuple[str, ...], value: object, field: str, reason: str
) -> None:
    message = json.loads(EXABGP_42_UPDATE)
    node = message
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ParseError) as caught:
        parse_exabgp(json.dumps(message))
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_mrt_bgp4mp_sample_replays_sessions_and_updates() -> None:
    messages = list(read_mrt(DATA / "quagga_bgp"))
    assert not [m for m in messages if isinstance(m, ParseError)]
    updates = [u for m in messages if not isinstance(m, ParseError) for u in m.updates]
    states = [s for m in messages if not isinstance(m, ParseError) for s in m.peer_states]
    # Only IPv4/IPv6 unicast: the sample's L3VPN routes are not ours.
    assert {u.prefix for u in updates} == {
        "172.17.0.0/24",
        "172.17.1.0/24",
        "172.17.2.0/24",
        "fd01:1::/64",
        "fd01:1:1::/64",
        "fd01:1:2::/64",
    }
    assert {u.origin_asn for u in updates} == {64512}
    assert updates[0].as_path == (4200000000, 4200000000, 4200000000, 64512, 64512, 64512)
    assert [(s.peer, s.up) for s in states][:3] == [
        ("192.168.0.10", True),
        ("fd02::10", True),
        ("192.168.0.10", False),
    ]


def test_mrt_rib_sample() -> None:
    messages = [m for m in read_mrt(DATA / "quagga_rib") if not isinstance(m, ParseError)]
    updates = [u for m in messages for u in m.updates]
    assert len(updates) == 9 and {u.peer for u in updates} == {"192.168.0.10", "fd02::10"}
    assert all(not u.withdrawn and u.origin_asn == 64512 for u in updates)


def test_mrt_truncated_file_keeps_what_came_before(tmp_path: Path) -> None:
    data = (DATA / "quagga_rib").read_bytes()
    broken = tmp_path / "broken_rib"
    broken.write_bytes(data[:-7])
    results = list(read_mrt(broken))
    good = [m for m in results if not isinstance(m, ParseError)]
    bad = [m for m in results if isinstance(m, ParseError)]
    assert len(bad) == 1 and bad[0].field.startswith("broken_rib record ")
    assert sum(len(m.updates) for m in good) == 7  # the last record (2 routes) is the one cut


def test_importing_the_mrt_library_keeps_sigpipe_ignored() -> None:
    import signal
    import subprocess
    import sys

    # A fresh interpreter (this one imported mrt_files already): mrtparse resets SIGPIPE to
    # SIG_DFL at import, which would let a closed socket kill the collector.
    code = (
        "import signal, threading\n"
        "before = signal.getsignal(signal.SIGPIPE)\n"
        "t = threading.Thread(target=lambda: __import__('vantage.collector.bgp.mrt_files'))\n"
        "t.start(); t.join()\n"
        "import vantage.collector.bgp.mrt_files\n"
        "now = signal.getsignal(signal.SIGPIPE)\n"
        "assert now == before == signal.SIG_IGN, now\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN


def test_mrt_bird_dump_with_local_routes() -> None:
    """BIRD 2 dumps its own (static, device) routes with no attributes under peer ::; they are
    nobody's BGP route and are skipped, not rejected (data/README.md: the lab's dump)."""
    messages = list(read_mrt(DATA / "bird2_lab_rib.mrt"))
    assert not [m for m in messages if isinstance(m, ParseError)]
    updates = [u for m in messages if not isinstance(m, ParseError) for u in m.updates]
    assert updates and all(u.origin_asn is not None and u.peer != "::" for u in updates)

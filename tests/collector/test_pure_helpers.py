"""Small pure pieces: durations and instants, credential files, peer addresses, observations."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from vantage.collector.cli.timeargs import parse_duration, parse_instant
from vantage.collector.service.app import parse_peer
from vantage.collector.service.auth import bearer_metadata, bearer_token, ensure_credential_file, hash_secret
from vantage.collector.storage.records import ProbeRecord, RoundMeasurement, TargetRecord
from vantage.collector.verdict.model import Outcome, Protocol, TaskKind
from vantage.collector.wire.observations import build_observations


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("6h", 21600), ("7d", 604800)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "-5m", "5 minutes", "1y"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_instants() -> None:
    assert parse_instant("2026-01-05T10:30:00Z", now_unix_s=0) == 1767609000
    assert parse_instant("2026-01-05T10:30:00", now_unix_s=0) == 1767609000  # naive = UTC
    assert parse_instant("6h", now_unix_s=100_000) == 100_000 - 21600
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_instant("yesterday", now_unix_s=0)


def test_credential_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "admin.credential"
    first, created = ensure_credential_file(path)
    again, created_again = ensure_credential_file(path)
    assert created and not created_again and first == again and len(first) >= 40
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert hash_secret(first) != first and len(hash_secret(first)) == 64


def test_bearer_metadata_round_trip() -> None:
    assert bearer_token(bearer_metadata("abc")) == "abc"
    assert bearer_token([("Authorization", b"Bearer xyz")]) == "xyz"
    assert bearer_token([("authorization", "Basic xyz")]) is None
    assert bearer_token(None) is None


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:198.51.100.7:5555", "198.51.100.7"),
        ("ipv6:[2001:db8::1]:443", "2001:db8::1"),
        ("unix:/tmp/s", ""),
    ],
)
def test_peer_addresses(peer: str, address: str) -> None:
    assert parse_peer(peer).address == address


def test_observations_take_locations_from_the_tables() -> None:
    probes = {
        "p1": ProbeRecord(
            "p1",
            "",
            "c",
            0.0,
            observed_asn=64501,
            observed_country="NL",
            pinned_asn=64999,
            pinned_country="KZ",
        ),
        "p2": ProbeRecord("p2", "", "c2", 0.0, revoked_at_unix_s=5.0),
    }
    targets = {
        "t1": TargetRecord("t1", "192.0.2.1", "address", (1,), "DE", 64500, (), "csv", "192.0.2.1", 0.0)
    }
    located = {"192.0.2.1": (64777, "FR"), "198.51.100.9": (64888, "SE")}

    def locate(address: str) -> tuple[int, str]:
        return located.get(address, (0, ""))

    def measured(probe: str, target: str, address: str, **extra: object) -> RoundMeasurement:
        fields: dict[str, object] = dict(
            measurement_id="m", probe_id=probe, probe_asn=1, probe_country="ZZ", target_id=target,
            target_address=address, target_asn=64777, protocol=2, kind=0, outcome=1, failure="", rtt_ms=5.0,
            loss_ratio=None, status_code=0, body_sha256="", body_length=0, dns_answers="",
        )  # fmt: skip
        fields.update(extra)
        return RoundMeasurement(**fields)  # type: ignore[arg-type]

    observations = build_observations(
        [
            measured("p1", "t1", "192.0.2.1", dns_answers="198.51.100.9 192.0.2.99", kind=2),
            measured(
                "p1", "unknown", "198.51.100.9", target_asn=64888, outcome=2, failure="generic_timeout_error"
            ),
            measured("p2", "t1", "192.0.2.1"),  # revoked probe: left out
        ],
        probes=probes,
        targets=targets,
        locate=locate,
    )
    assert len(observations) == 2
    first, second = observations
    assert (first.probe_asn, first.probe_country) == (64999, "KZ")  # the pin wins
    assert (first.target_asn, first.target_country) == (64500, "DE")  # the target table wins
    assert first.answer_asns == frozenset({64888})
    assert (first.protocol, first.kind, first.outcome) == (Protocol.DNS, TaskKind.INTERFERENCE, Outcome.OK)
    assert (second.target_asn, second.target_country) == (64888, "SE")  # from ingest / lookup
    assert second.kind == TaskKind.REACHABILITY and second.failure == "generic_timeout_error"

"""Ingest validation (pure): one table row per rule, plus the fields handed on to ingest."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.collector.factories import measurement
from vantage.collector.wire import validation
from vantage.collector.wire.validation import (
    Checked,
    RejectReason,
    ValidationLimits,
    check_batch,
    check_measurement,
    is_uuid,
    validate_measurement,
)
from vantage.v1 import measurement_pb2, probe_service_pb2

NOW = 1_767_600_000.0
LIMITS = ValidationLimits(clock_skew_s=300.0, retention_s=86400.0)
PROBE = "00000000-0000-4000-8000-00000000000a"


def good() -> measurement_pb2.Measurement:
    return measurement(PROBE, started_at=NOW - 10)


def edit(**changes: object) -> measurement_pb2.Measurement:
    m = good()
    for path, value in changes.items():
        target = m
        *parents, leaf = path.split("__")
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, leaf, value)
    return m


CASES = [
    ("bad id", edit(id="123"), "id", RejectReason.BAD_ID),
    ("uuid without dashes", edit(id="0" * 36), "id", RejectReason.BAD_ID),
    ("other probe", edit(probe_id="someone-else"), "probe_id", RejectReason.WRONG_PROBE),
    ("no protocol", edit(protocol=0), "protocol", RejectReason.UNKNOWN_PROTOCOL),
    ("protocol 9", edit(protocol=9), "protocol", RejectReason.UNKNOWN_PROTOCOL),
    ("no outcome", edit(outcome=0), "outcome", RejectReason.MALFORMED),
    ("bad address", edit(target__address="192.0.2.256"), "target.address", RejectReason.BAD_ADDRESS),
    ("name as address", edit(target__address="example.org"), "target.address", RejectReason.BAD_ADDRESS),
    ("bad source", edit(source_address="nope"), "source_address", RejectReason.BAD_ADDRESS),
    ("unknown failure", edit(outcome=2, failure__kind="oops"), "failure.kind", RejectReason.UNKNOWN_FAILURE),
    ("failure without kind", edit(outcome=2), "failure.kind", RejectReason.MALFORMED),
    ("negative round", edit(round=-1), "round", RejectReason.MALFORMED),
    ("empty target", edit(target__address="", target__target_id=""), "target", RejectReason.MALFORMED),
    ("future", measurement(PROBE, started_at=NOW + 301), "started_at", RejectReason.TIMESTAMP_IN_FUTURE),
    ("too old", measurement(PROBE, started_at=NOW - 86401), "started_at", RejectReason.TIMESTAMP_TOO_OLD),
    # Issue 19: numbers and strings are bounded before they are used or remembered.
    ("infinite rtt", edit(icmp__avg_rtt_ms=float("inf")), "icmp.avg_rtt_ms", RejectReason.MALFORMED),
    ("NaN rtt", edit(icmp__max_rtt_ms=float("nan")), "icmp.max_rtt_ms", RejectReason.MALFORMED),
    ("huge rtt", edit(icmp__avg_rtt_ms=1e308), "icmp.avg_rtt_ms", RejectReason.MALFORMED),
    ("negative rtt", edit(icmp__min_rtt_ms=-1.0), "icmp.min_rtt_ms", RejectReason.MALFORMED),
    ("long zone id", edit(target__address="::1%" + "z" * 100), "target.address", RejectReason.BAD_ADDRESS),
    ("long source", edit(source_address="::1%" + "z" * 100), "source_address", RejectReason.BAD_ADDRESS),
    ("long detail", edit(failure__detail="d" * 2049), "failure.detail", RejectReason.MALFORMED),
    ("long version", edit(probe_version="v" * 256), "probe_version", RejectReason.MALFORMED),
    ("long name", edit(target__name="n" * 256), "target.name", RejectReason.MALFORMED),
]


@pytest.mark.parametrize(("name", "m", "field", "reason"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_names_its_field_and_reason(
    name: str, m: measurement_pb2.Measurement, field: str, reason: RejectReason
) -> None:
    rejection = validate_measurement(3, m, caller_probe_id=PROBE, now_unix_s=NOW, limits=LIMITS)
    assert rejection is not None, name
    assert (rejection.index, rejection.field, rejection.reason) == (3, field, reason)
    assert rejection.message


def test_missing_started_at_is_malformed() -> None:
    m = good()
    m.ClearField("started_at")
    rejection = validate_measurement(0, m, caller_probe_id=PROBE, now_unix_s=NOW, limits=LIMITS)
    assert rejection is not None and (rejection.field, rejection.reason) == (
        "started_at",
        RejectReason.MALFORMED,
    )


@pytest.mark.parametrize(
    "m",
    [
        good(),
        measurement(PROBE, started_at=NOW + 299),  # inside the skew tolerance
        measurement(PROBE, address="2001:db8::1"),
        measurement(PROBE, outcome=2, failure="generic_timeout_error"),
        edit(target__address="", target__url="https://www.example.org/"),
        edit(outcome=4, failure__kind="refused_by_policy"),
    ],
)
def test_acceptable_measurements_pass(m: measurement_pb2.Measurement) -> None:
    m.started_at.FromNanoseconds(min(m.started_at.ToNanoseconds(), int((NOW + 299) * 1e9)))
    assert validate_measurement(0, m, caller_probe_id=PROBE, now_unix_s=NOW, limits=LIMITS) is None


def test_check_hands_on_what_it_read() -> None:
    m = measurement(PROBE, address="2001:DB8:0:0::1", started_at=NOW - 5, target_id="t9")
    checked = check_measurement(0, m, caller_probe_id=PROBE, now_unix_s=NOW, limits=LIMITS)
    assert isinstance(checked, Checked)
    assert checked.target_address == "2001:db8::1"
    assert checked.target_id == "t9" and checked.protocol == 1 and checked.outcome == 1
    assert checked.started_at_unix_s == pytest.approx(NOW - 5)


ACCEPTABLE = [
    good(),
    measurement(PROBE, address="2001:DB8:0:0::1", started_at=NOW - 20),
    measurement(PROBE, outcome=2, failure="generic_timeout_error", started_at=NOW - 30),
    edit(id="2F1C7D0E-5B7A-4D7E-9A51-0C7F3E4B9D21"),
    edit(target__address="", target__url="https://www.example.org/"),
]
BAD_IDS = [
    edit(id="2f1c7d0e-5b7a-4d7e-9a51-0c7f3e4b9d2g"),  # not hex
    edit(id="2f1c7d0e-5b7a-4d7e-9a51-0c7f3e4b9d 1"),  # a space, which bytes.fromhex skips
    edit(id="2f1c7d0e-5b7a-4d7e-9a51-0c7f3e4b-d21"),  # a dash out of place
]


def test_the_batch_check_agrees_with_the_item_check() -> None:
    """check_batch inlines check_measurement's rules for speed: same verdict on every case."""
    items = [m for _, m, _, _ in CASES] + ACCEPTABLE + BAD_IDS
    batch = check_batch(items, caller_probe_id=PROBE, now_unix_s=NOW, limits=LIMITS)
    singles = [
        check_measurement(n, m, caller_probe_id=PROBE, now_unix_s=NOW, limits=LIMITS)
        for n, m in enumerate(items)
    ]
    assert batch.rejections == [s for s in singles if not isinstance(s, Checked)]
    accepted = [s for s in singles if isinstance(s, Checked)]
    assert batch.accepted == [n for n, s in enumerate(singles) if isinstance(s, Checked)]
    assert len(accepted) == len(ACCEPTABLE)
    assert batch.target_addresses == [c.target_address for c in accepted]
    assert batch.measurement_ids == b"".join(uuid.UUID(c.measurement_id).bytes for c in accepted)
    assert batch.rounds == {c.round for c in accepted}
    started = [c.started_at_unix_s for c in accepted]
    assert (batch.first_started_unix_s, batch.last_started_unix_s) == (min(started), max(started))


def test_reasons_equal_the_wire_numbers() -> None:
    for reason in RejectReason:
        assert probe_service_pb2.RejectReason.Value(f"REJECT_REASON_{reason.name}") == reason.value


def test_uuid_check() -> None:
    assert is_uuid("2f1c7d0e-5b7a-4d7e-9a51-0c7f3e4b9d21")
    assert is_uuid("2F1C7D0E-5B7A-4D7E-9A51-0C7F3E4B9D21")
    assert not is_uuid("2f1c7d0e5b7a4d7e9a510c7f3e4b9d21")
    assert not is_uuid("2f1c7d0e-5b7a-4d7e-9a51-0c7f3e4b9d2g")


def test_validation_imports_no_io() -> None:
    import vantage.collector.wire.validation as module

    source = Path(module.__file__).read_text()
    for forbidden in ("import grpc", "import sqlite3", "import time", "import socket", "import random"):
        assert forbidden not in source


def test_timings_of_every_protocol_are_bounded() -> None:
    dns = good()
    dns.dns.response_time_ms = float("inf")
    http = good()
    http.http.timings.connect_ms = float("nan")
    tcp = good()
    tcp.tcp.connect_ms = -0.5
    reply = good()
    reply.icmp.replies.add(rtt_ms=float("inf"))
    found = [
        validate_measurement(0, m, caller_probe_id=PROBE, now_unix_s=NOW, limits=LIMITS)
        for m in (dns, http, tcp, reply)
    ]
    assert [(r.field, r.reason) if r else None for r in found] == [
        ("dns.response_time_ms", RejectReason.MALFORMED),
        ("http.timings.connect_ms", RejectReason.MALFORMED),
        ("tcp.connect_ms", RejectReason.MALFORMED),
        ("icmp.replies[0].rtt_ms", RejectReason.MALFORMED),
    ]
    batch = check_batch([dns, http, tcp, reply, good()], caller_probe_id=PROBE, now_unix_s=NOW, limits=LIMITS)
    assert batch.accepted == [4]


def test_a_start_before_1970_is_rejected_alone_even_with_a_century_of_retention() -> None:
    """Issue 19 (9): the fast path and the explanation disagreed and an assertion fired."""
    century = ValidationLimits(clock_skew_s=300.0, retention_s=100 * 365 * 86400.0)
    before_1970 = good()
    before_1970.started_at.seconds = -5
    batch = check_batch([before_1970, good()], caller_probe_id=PROBE, now_unix_s=NOW, limits=century)
    assert batch.accepted == [1]
    assert [(r.index, r.field, r.reason) for r in batch.rejections] == [
        (0, "started_at", RejectReason.MALFORMED)
    ]


def test_invalid_and_overlong_addresses_are_never_remembered() -> None:
    validation._ADDRESS_MEMO.clear()
    for i in range(100):
        assert validation.normalized_address(f"::1%{'z' * 100}{i}") is None
        assert validation.normalized_address(f"not-an-address-{i}") is None
    assert validation._ADDRESS_MEMO == {}
    assert validation.normalized_address("2001:DB8::1") == "2001:db8::1"
    assert len(validation._ADDRESS_MEMO) == 1

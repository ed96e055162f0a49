"""PingSweep, the pure book-keeping of a sweep, driven with fixed times."""

from __future__ import annotations

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome
from vantage.probe.engine.icmp_session import PingSweep
from vantage.probe.engine.icmp_wire import EchoError
from vantage.probe.engine.model import IcmpOptions

MS = 1_000_000


def _send_all_due(sweep: PingSweep, now_ns: int) -> list[int]:
    sent = sweep.pop_due(now_ns, 1 << 30)
    sweep.sent(sent, [now_ns] * len(sent))
    return sent


def test_replies_losses_duplicates_and_rtts() -> None:
    options = IcmpOptions(count=3, interval_ms=100, timeout_ms=500)
    sweep = PingSweep([("198.18.0.1", options), ("198.18.0.2", options)], 4, start_ns=0)
    assert _send_all_due(sweep, 0) == [0, 1]
    assert _send_all_due(sweep, 50 * MS) == []  # the next packets are due at 100 ms
    sweep.on_reply(0, 64, 10 * MS)
    sweep.on_reply(0, 64, 11 * MS)  # duplicate
    assert _send_all_due(sweep, 100 * MS) == [2, 3]
    sweep.on_reply(2, 63, 130 * MS)
    assert _send_all_due(sweep, 200 * MS) == [4, 5]
    sweep.on_reply(4, 64, 204 * MS)
    assert sweep.drain_completed() == [0]  # every packet of target 0 answered: done at once
    sweep.expire(699 * MS)
    assert not sweep.done
    sweep.expire(700 * MS)
    assert sweep.done
    outcome, failure, details = sweep.result(0)
    assert outcome is Outcome.OK and failure is None
    assert (details.sent, details.received, details.duplicates) == (3, 3, 1)
    assert [r.rtt_ms for r in details.replies] == [10.0, 30.0, 4.0]
    assert details.min_rtt_ms == 4.0 and details.max_rtt_ms == 30.0
    assert details.reply_ttl == 64
    outcome, failure, details = sweep.result(1)
    assert outcome is Outcome.FAILURE and failure is not None
    assert failure.kind == failures.GENERIC_TIMEOUT and failure.operation is Operation.ICMP_ECHO
    assert [r.lost for r in details.replies] == [True, True, True]


def test_pop_due_respects_the_limit_and_the_schedule() -> None:
    options = IcmpOptions(count=2, interval_ms=10)
    sweep = PingSweep([(f"198.18.0.{i}", options) for i in range(1, 6)], 4, start_ns=0)
    assert sweep.pop_due(0, 3) == [0, 1, 2]
    assert sweep.pop_due(0, 3) == [3, 4]
    assert sweep.pop_due(9 * MS, 10) == []
    assert [sweep.packet_target[i] for i in sweep.pop_due(10 * MS, 10)] == [0, 1, 2, 3, 4]


def test_a_target_completes_as_soon_as_every_packet_is_answered() -> None:
    sweep = PingSweep([("198.18.0.1", IcmpOptions(count=1, timeout_ms=1000))], 4, start_ns=0)
    _send_all_due(sweep, 0)
    sweep.on_reply(0, 64, 1 * MS)
    assert sweep.drain_completed() == [0]
    assert sweep.done


def test_errors_are_attributed_by_quoted_destination_and_sequence() -> None:
    options = IcmpOptions(count=1, timeout_ms=1000)
    addresses = [f"198.18.{i >> 8}.{i & 255}" for i in range(70_000)]
    sweep = PingSweep([(a, options) for a in addresses], 4, start_ns=0)
    assert len(_send_all_due(sweep, 0)) == 70_000
    # Packet 65_541 has sequence 5, like packet 5: only the quoted destination tells them apart.
    assert sweep.on_error(EchoError(3, 13, addresses[65_541], 5, -1), "198.18.0.254")
    assert not sweep.on_error(EchoError(3, 13, "203.0.113.9", 5, -1), "198.18.0.254")
    assert sweep.drain_completed() == [65_541]
    outcome, failure, details = sweep.result(65_541)
    assert outcome is Outcome.FAILURE and failure is not None
    assert failure.kind == failures.ADMINISTRATIVELY_PROHIBITED
    assert details.errors[0].from_address == "198.18.0.254"
    assert "administratively prohibited" in details.errors[0].description


def test_ipv6_errors_use_the_icmpv6_table() -> None:
    sweep = PingSweep([("fd00::7", IcmpOptions(count=1))], 6, start_ns=0)
    _send_all_due(sweep, 0)
    sweep.on_error(EchoError(3, 0, "fd00::7", 0, 0), "fd00::1")
    _, failure, _ = sweep.result(0)
    assert failure is not None and failure.kind == failures.TTL_EXCEEDED


def test_a_failed_send_is_the_failure() -> None:
    sweep = PingSweep([("198.18.0.1", IcmpOptions(count=1))], 4, start_ns=0)
    (index,) = sweep.pop_due(0, 10)
    sweep.send_failed(index, Failure(failures.NETWORK_UNREACHABLE, Operation.ICMP_ECHO, "ENETUNREACH"))
    assert sweep.done
    outcome, failure, details = sweep.result(0)
    assert outcome is Outcome.FAILURE and failure is not None and failure.kind == failures.NETWORK_UNREACHABLE
    assert details.sent == 0


def test_late_replies_after_the_deadline_do_not_count() -> None:
    sweep = PingSweep([("198.18.0.1", IcmpOptions(count=2, interval_ms=10, timeout_ms=100))], 4, start_ns=0)
    _send_all_due(sweep, 0)
    sweep.expire(100 * MS)
    sweep.on_reply(0, 64, 101 * MS)
    _send_all_due(sweep, 10 * MS)
    sweep.on_reply(1, 64, 20 * MS)
    _, _, details = sweep.result(0)
    assert [r.lost for r in details.replies] == [True, False]

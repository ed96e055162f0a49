"""PingSweep, the pure book-keeping of a sweep, driven with fixed times.

Packet numbering (engine/icmp/schedule.py): target t's k-th packet is k * targets + t.
"""

from __future__ import annotations

import pytest

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome
from vantage.probe.engine.icmp.packets import EchoError
from vantage.probe.engine.icmp.session import PingSweep
from vantage.probe.engine.model import IcmpOptions, distinct_options

MS = 1_000_000


def _sweep(addresses: list[str], options: IcmpOptions, family: int = 4) -> PingSweep:
    return PingSweep(addresses, [options] * len(addresses), family)


def test_replies_losses_duplicates_and_rtts() -> None:
    options = IcmpOptions(count=3, interval_ms=100, timeout_ms=500)
    sweep = _sweep(["198.18.0.1", "198.18.0.2"], options)
    sweep.sent([0, 1], 0)
    sweep.on_reply(0, 64, 10 * MS, 0)
    sweep.on_reply(0, 64, 11 * MS, 0)  # duplicate
    sweep.sent([2, 3], 100 * MS)
    sweep.on_reply(2, 63, 130 * MS, 100 * MS)
    sweep.sent([4, 5], 200 * MS)
    sweep.on_reply(4, 64, 204 * MS, 200 * MS)
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


def test_the_rtt_comes_from_the_send_time_the_reply_carries() -> None:
    # A forked sender reports its batch after the kernel has already answered: the reply is
    # booked first, with the send time from its own payload, and the report only starts the
    # deadline (which must not turn the answered packet into a loss).
    sweep = _sweep(["198.18.0.1", "198.18.0.2"], IcmpOptions(count=1, timeout_ms=100))
    sweep.on_reply(1, 64, 1_250_000, 1_000_000)
    sweep.sent([0, 1], 2 * MS)
    assert sweep.first_sent_ns(1) == 1_000_000 and sweep.first_sent_ns(0) == 2 * MS
    sweep.expire(102 * MS)
    assert sweep.done
    assert sweep.result(1)[2].replies[0].rtt_ms == 0.25
    assert sweep.result(0)[0] is Outcome.FAILURE


def test_a_target_completes_as_soon_as_every_packet_is_answered() -> None:
    sweep = _sweep(["198.18.0.1"], IcmpOptions(count=1, timeout_ms=1000))
    sweep.sent([0], 0)
    sweep.on_reply(0, 64, 1 * MS, 0)
    assert sweep.drain_completed() == [0]
    assert sweep.done


def test_errors_are_attributed_by_quoted_destination_and_sequence() -> None:
    options = IcmpOptions(count=1, timeout_ms=1000)
    addresses = [f"198.18.{i >> 8}.{i & 255}" for i in range(70_000)]
    sweep = _sweep(addresses, options)
    sweep.sent(range(70_000), 0)
    # Packet 65_541 has sequence 5, like packet 5: only the quoted destination tells them apart.
    assert sweep.on_error(EchoError(3, 13, addresses[65_541], 5, -1), "198.18.0.254")
    assert not sweep.on_error(EchoError(3, 13, "203.0.113.9", 5, -1), "198.18.0.254")
    assert sweep.drain_completed() == [65_541]
    outcome, failure, details = sweep.result(65_541)
    assert outcome is Outcome.FAILURE and failure is not None
    assert failure.kind == failures.ADMINISTRATIVELY_PROHIBITED
    assert details.errors[0].from_address == "198.18.0.254"
    assert "administratively prohibited" in details.errors[0].description


def test_an_error_names_the_packets_sequence_within_its_target() -> None:
    sweep = _sweep(["198.18.0.1", "198.18.0.2"], IcmpOptions(count=2, timeout_ms=1000))
    sweep.sent([0, 1, 2, 3], 0)
    assert sweep.on_error(EchoError(3, 1, "198.18.0.2", 3, 3), "198.18.0.2")  # target 1, sequence 1
    _, _, details = sweep.result(1)
    assert [(e.sequence, e.code) for e in details.errors] == [(1, 1)]


def test_ipv6_errors_use_the_icmpv6_table() -> None:
    sweep = _sweep(["fd00::7"], IcmpOptions(count=1), family=6)
    sweep.sent([0], 0)
    sweep.on_error(EchoError(3, 0, "fd00::7", 0, 0), "fd00::1")
    _, failure, _ = sweep.result(0)
    assert failure is not None and failure.kind == failures.TTL_EXCEEDED


def test_a_failed_send_is_the_failure() -> None:
    sweep = _sweep(["198.18.0.1"], IcmpOptions(count=1))
    sweep.send_failed(0, Failure(failures.NETWORK_UNREACHABLE, Operation.ICMP_ECHO, "ENETUNREACH"))
    sweep.sent([0], 0)  # a forked sender reports the batch after the failure
    assert sweep.done
    outcome, failure, details = sweep.result(0)
    assert outcome is Outcome.FAILURE and failure is not None and failure.kind == failures.NETWORK_UNREACHABLE
    assert details.sent == 0


def test_late_replies_after_the_deadline_do_not_count() -> None:
    sweep = _sweep(["198.18.0.1"], IcmpOptions(count=2, interval_ms=10, timeout_ms=100))
    sweep.sent([0], 0)
    sweep.expire(100 * MS)
    sweep.on_reply(0, 64, 101 * MS, 0)
    sweep.sent([1], 10 * MS)
    sweep.on_reply(1, 64, 20 * MS, 10 * MS)
    _, _, details = sweep.result(0)
    assert [r.lost for r in details.replies] == [True, False]


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(2, id="beyond the only target's count"),
        pytest.param(1 << 31, id="far beyond the sweep"),
    ],
)
def test_replies_to_packets_that_cannot_exist_are_ignored(index: int) -> None:
    sweep = PingSweep(["198.18.0.1", "198.18.0.2"], [IcmpOptions(count=2), IcmpOptions(count=1)], family=4)
    sweep.on_reply(index + 1 if index == 2 else index, 64, 5, 1)  # packet 3: target 1, sequence 1
    assert not sweep.drain_completed()


def test_targets_with_different_options_each_keep_their_own() -> None:
    fast, slow = IcmpOptions(count=1, timeout_ms=50), IcmpOptions(count=2, timeout_ms=500)
    sweep = PingSweep(["198.18.0.1", "198.18.0.2"], [fast, slow], family=4)
    sweep.sent([0, 1], 0)
    sweep.sent([3], 10 * MS)  # target 1's second packet (packet 2 would be target 0's: none)
    sweep.expire(50 * MS)
    assert sweep.drain_completed() == [0]
    sweep.on_reply(1, 64, 60 * MS, 0)
    sweep.expire(510 * MS)
    assert sweep.drain_completed() == [1]
    _, _, details = sweep.result(1)
    assert [r.lost for r in details.replies] == [False, True] and details.sent == 2


def test_distinct_options_compare_by_value() -> None:
    a, b = IcmpOptions(count=1), IcmpOptions(count=1)
    assert distinct_options([a, a, b]) == [a]
    assert distinct_options([a, IcmpOptions(count=2)]) == [a, IcmpOptions(count=2)]


@pytest.mark.parametrize("count", [1, 2])
def test_replies_booked_in_a_batch_as_one_by_one(count: int) -> None:
    """on_replies (a batched reader's call) books exactly what on_reply books, reply by reply."""
    options = IcmpOptions(count=count, interval_ms=10, timeout_ms=500)
    addresses = [f"198.18.0.{n}" for n in range(1, 7)]
    replies = [
        (0, 64, 5 * MS, 1 * MS),
        (0, 63, 6 * MS, 1 * MS),  # duplicate
        (3, 60, 2 * MS, 3 * MS),  # received before sent: rtt 0
        (5, 61, 9 * MS, 2 * MS),
        (6, 62, 20 * MS, 12 * MS),  # target 0's second packet (or not ours when count is 1)
        (99, 64, 1 * MS, 0),  # not ours
        (2, 64, 4 * MS, 1 * MS),  # after target 2's error
    ]
    one_by_one, batched = _sweep(addresses, options), _sweep(addresses, options)
    for sweep in (one_by_one, batched):
        sweep.sent(list(range(len(addresses) * count)), 1 * MS)
        sweep.on_error(EchoError(3, 1, "198.18.0.3", 2, 2), "198.18.0.254")
    for reply in replies:
        one_by_one.on_reply(*reply)
    batched.on_replies(replies)
    for sweep in (one_by_one, batched):
        sweep.expire(10_000 * MS)
    assert batched.drain_completed() == one_by_one.drain_completed()
    assert batched.done and one_by_one.done
    assert [batched.result(t) for t in range(6)] == [one_by_one.result(t) for t in range(6)]
    assert [batched.first_sent_ns(t) for t in range(6)] == [one_by_one.first_sent_ns(t) for t in range(6)]


@pytest.mark.parametrize("count", [1, 2])
def test_results_of_a_batch_equal_each_result(count: int) -> None:
    options = IcmpOptions(count=count, interval_ms=10, timeout_ms=500, payload_bytes=64)
    addresses = [f"198.18.0.{n}" for n in range(1, 6)]
    sweep = _sweep(addresses, options)
    sweep.sent(list(range(len(addresses) * count)), 1 * MS)
    sweep.on_error(EchoError(3, 1, "198.18.0.2", 1, 1), "198.18.0.254")  # target 1: unreachable
    sweep.on_replies([(0, 64, 3 * MS, 1 * MS), (3, 0, 2 * MS, 1 * MS), (4, 61, 5 * MS, 1 * MS)])
    sweep.send_failed(2, Failure(failures.NETWORK_UNREACHABLE, Operation.ICMP_ECHO, "no route"))
    sweep.expire(10_000 * MS)
    assert sweep.results(range(5)) == [sweep.result(t) for t in range(5)]
    assert [outcome for outcome, _, _ in sweep.results([4, 0, 1])] == [
        Outcome.OK,
        Outcome.OK,
        Outcome.FAILURE,
    ]

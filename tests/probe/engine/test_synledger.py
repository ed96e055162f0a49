"""When the kernel may send each SYN of a connect attempt (engine/synledger.py), fixed times."""

from __future__ import annotations

import pytest

from vantage.probe.engine.synledger import CLOSE_GUARD_S, KERNEL_EARLY_S, SynLedger

STEP = 1.0 - KERNEL_EARLY_S  # the soonest one initial RTO of 1 s can end


def test_each_retransmission_is_due_no_sooner_than_one_rto_after_the_one_before() -> None:
    ledger = SynLedger(started_s=10.0, rto_s=1.0, paid=2)
    assert ledger.earliest_s(0) == 10.0
    assert ledger.earliest_s(1) == pytest.approx(10.0 + STEP)
    assert ledger.earliest_s(3) == pytest.approx(10.0 + 3 * STEP)
    # One SYN ahead: the third is paid once the second may leave, before it may leave itself.
    assert ledger.pay_from_s() == pytest.approx(10.0 + STEP)
    assert ledger.pay_by_s() == pytest.approx(10.0 + 2 * STEP - CLOSE_GUARD_S)


@pytest.mark.parametrize(
    ("rto_after_first_s", "second_retransmission_s"),
    [
        (1.0, 10.0 + 2 * STEP),  # Linux >= 6.5, tcp_syn_linear_timeouts: SYNs at 0, 1, 2 s
        (2.0, 10.0 + STEP + (2.0 - KERNEL_EARLY_S)),  # exponential backoff: 0, 1, 3 s
    ],
)
def test_a_reading_after_a_retransmission_moves_the_next_by_the_rto_the_kernel_armed(
    rto_after_first_s: float, second_retransmission_s: float
) -> None:
    ledger = SynLedger(started_s=10.0, rto_s=1.0, paid=3)
    ledger.observe(retransmitted=1, rto_s=rto_after_first_s)
    assert ledger.seen == 1 and ledger.seen_not_before_s == pytest.approx(10.0 + STEP)
    assert ledger.earliest_s(2) == pytest.approx(second_retransmission_s)
    assert ledger.pay_from_s() == pytest.approx(second_retransmission_s)  # for the fourth


def test_what_may_have_been_sent_when_the_socket_is_closed() -> None:
    ledger = SynLedger(started_s=0.0, rto_s=1.0, paid=2)
    assert ledger.may_have_sent(0.5, pending=True) == 1  # closed before the retransmission
    assert ledger.may_have_sent(STEP, pending=True) == 2  # due, not yet counted: it may leave
    assert ledger.may_have_sent(STEP, pending=False) == 1  # answered: the kernel stopped
    ledger.observe(retransmitted=2, rto_s=1.0)
    assert ledger.may_have_sent(2.5, pending=False) == 3

"""A measurement's share of the rate cap (engine/paced.py), on loopback."""

from __future__ import annotations

import asyncio
import socket
import time

from vantage.probe.engine.paced import TCP_SYNCNT, Budget, connect_tcp
from vantage.probe.engine.pacing import Pacer


def test_the_prepaid_packet_is_not_paid_twice_and_refunds_go_back_to_the_cap() -> None:
    pacer = Pacer(0.001, time.monotonic_ns())  # one token now, the next in 1000 s
    budget = Budget(pacer)

    async def spend() -> None:
        await budget.spend(1)  # the engine's start token
        await budget.spend(1)  # the bucket's one token
        budget.refund(1)
        await budget.spend(1)  # the refunded one: no wait

    asyncio.run(asyncio.wait_for(spend(), timeout=5))
    assert budget.spent == 2 and pacer.take(time.monotonic_ns()) == 0


def test_a_connect_pays_for_its_retransmission_and_gets_it_back_when_it_was_never_sent() -> None:
    pacer = Pacer(1e6, time.monotonic_ns())
    budget = Budget(pacer, prepaid=0)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        async def connect() -> int:
            sock = await connect_tcp("127.0.0.1", port, budget)
            with sock:
                return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT)

        syncnt = asyncio.run(connect())
    assert syncnt == TCP_SYNCNT  # the kernel gives up 3 s after the SYN; a new attempt follows
    assert budget.spent == 1  # connected at once: the retransmission's token went back


def test_a_refused_connect_raises_and_is_paid_once() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    budget = Budget(Pacer(1e6, time.monotonic_ns()), prepaid=0)

    async def connect() -> None:
        await connect_tcp("127.0.0.1", port, budget)

    try:
        asyncio.run(connect())
    except ConnectionRefusedError:
        pass
    else:
        raise AssertionError("a closed port connected")
    assert budget.spent == 1


def test_a_wait_cut_short_by_the_deadline_gives_back_what_it_took() -> None:
    pacer = Pacer(0.001, time.monotonic_ns())  # one token now, the next in 1000 s
    budget = Budget(pacer)

    async def spend() -> None:
        await budget.spend(3)  # the prepaid one, the bucket's one, then a wait

    try:
        asyncio.run(asyncio.wait_for(spend(), timeout=0.05))
    except TimeoutError:
        pass
    else:
        raise AssertionError("a third token came from an empty bucket")
    assert budget.spent == 0 and pacer.take(time.monotonic_ns()) == 1  # nothing was sent


def test_settling_refunds_what_was_not_sent_and_charges_what_was() -> None:
    pacer = Pacer(0.001, time.monotonic_ns())
    budget = Budget(pacer, prepaid=0)
    assert budget.take_now() and not budget.take_now()
    budget.settle(paid=1, sent=0)
    assert budget.spent == 0 and budget.take_now()
    budget.settle(paid=1, sent=2)  # a SYN left before its attempt could be closed: a debt
    assert budget.spent == 2 and not budget.take_now()

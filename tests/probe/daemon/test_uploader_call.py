"""The uploader's writes and reads end when their stream ends (uploader._on_call)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from vantage.probe.daemon.uploader import _on_call


class FakeCall:
    """What _on_call needs of a grpc.aio stream call: done() and add_done_callback()."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[Any], None]] = []
        self._done = False

    def done(self) -> bool:
        return self._done

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def end(self) -> None:  # as grpc.aio does when the call is cancelled or fails
        self._done = True
        for callback in self._callbacks:
            callback(self)


def test_a_pending_write_ends_with_its_call_instead_of_waiting_out_the_timeout() -> None:
    async def scenario() -> None:
        call = FakeCall()
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # a hung write
        asyncio.get_running_loop().call_soon(call.end)  # its channel was closed under it
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(_on_call(call, never, timeout_s=3600), timeout=10)
        assert never.cancelled()

    asyncio.run(scenario())


def test_a_finished_operation_returns_and_a_stalled_one_times_out() -> None:
    async def value() -> int:
        return 7

    async def scenario() -> None:
        assert await _on_call(FakeCall(), value(), timeout_s=10) == 7
        stalled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with pytest.raises(TimeoutError):
            await _on_call(FakeCall(), stalled, timeout_s=0.01)
        ended = FakeCall()
        ended.end()  # already over when the write is started
        with pytest.raises(ConnectionError):
            await _on_call(ended, asyncio.get_running_loop().create_future(), timeout_s=3600)

    asyncio.run(scenario())

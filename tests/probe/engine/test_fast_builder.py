"""fast_builder must build exactly what the dataclass constructor builds, still frozen."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from vantage.kinds import Outcome, Protocol
from vantage.probe.engine.model import IcmpDetails, MeasurementResult, PingReply, fast_builder


def test_builds_the_same_frozen_objects_as_the_constructor() -> None:
    reply_values = (3, False, 1.25, 61, True)
    reply = fast_builder(PingReply)(*reply_values)
    assert type(reply) is PingReply
    assert reply == PingReply(*reply_values)
    assert hash(reply) == hash(PingReply(*reply_values))
    details_values = (2, 1, 0, (reply,), (), 1.0, 1.5, 2.0, 0.5, 61, 56, 1000.0)
    details = fast_builder(IcmpDetails)(*details_values)
    assert details == IcmpDetails(*details_values)
    result = fast_builder(MeasurementResult)(
        "k", Protocol.ICMP, "192.0.2.1", None, 1.0, Outcome.OK, None, details, "", 0, "", "", 4, "", None
    )
    assert result.details is details and result.address == "192.0.2.1"
    assert pickle.loads(pickle.dumps(result)) == result
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.ttl = 1  # type: ignore[misc]


def test_refuses_classes_it_cannot_build_faithfully() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Validates:
        a: int

        def __post_init__(self) -> None:
            pass

    with pytest.raises(TypeError):
        fast_builder(NoSlots)
    with pytest.raises(TypeError):
        fast_builder(Validates)

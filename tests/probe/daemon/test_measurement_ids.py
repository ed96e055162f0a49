"""Measurement ids: deterministic per (probe, round, task), RFC 9562 version 8, and ordered
by round, probe and plan index so that the collector's dedup index stays local."""

from __future__ import annotations

import uuid

import pytest

from vantage.probe.daemon.wire import id_names_task, measurement_id


def test_the_same_task_always_gets_the_same_id() -> None:
    assert measurement_id("p1", 7, "t1", 3) == measurement_id("p1", 7, "t1", 3)


@pytest.mark.parametrize(
    "other",
    [("p2", 7, "t1", 3), ("p1", 8, "t1", 3), ("p1", 7, "t2", 3), ("p1", 7, "t1", 4)],
    ids=["probe", "round", "task", "index"],
)
def test_any_other_part_gives_another_id(other: tuple[str, int, str, int]) -> None:
    assert measurement_id(*other) != measurement_id("p1", 7, "t1", 3)


def test_ids_are_version_8_rfc_variant() -> None:
    parsed = uuid.UUID(measurement_id("p1", 7, "t1", 3))
    assert (parsed.version, parsed.variant) == (8, uuid.RFC_4122)


def test_ids_sort_by_round_then_probe_then_plan_index() -> None:
    plan = [measurement_id("p1", 7, f"task-{n}", n) for n in range(2000)]
    assert plan == sorted(plan)  # hashes never outrank the index
    assert measurement_id("p1", 7, "t", 0)[:8] < measurement_id("p1", 8, "t", 0)[:8]
    assert len({i[:13] for i in plan}) == 1  # one round and probe: one 48-bit prefix


def test_id_names_task_ignores_only_the_index() -> None:
    mid = measurement_id("p1", 7, "t1", 12345)
    assert id_names_task(mid, "p1", 7, "t1")
    assert not id_names_task(mid, "p1", 7, "t2")
    assert not id_names_task(mid, "p2", 7, "t1")


def test_results_without_a_task_get_random_ids() -> None:
    assert measurement_id("p1", 7, "") != measurement_id("p1", 7, "")

"""Golden scenarios of inside-out interference: inside vantage points against control vantage points."""

from __future__ import annotations

from tests.collector.verdict.helpers import TARGET_ASN, clean_test_list, full_round, inside, run, verdict_of
from vantage import failures
from vantage.collector.verdict.classify import DNS_INCONSISTENT, HTTP_DIFF
from vantage.collector.verdict.model import Observation, Outcome, Protocol, Status

CONTROLS = [("c1", 3320, "DE"), ("c2", 1136, "NL"), ("c3", 7922, "US")]


def _controls() -> list[Observation]:
    return [o for probe, asn, cc in CONTROLS for o in clean_test_list(probe, asn, cc)]


def _censored(probe: str, blocked: range, *, dns: bool = True) -> list[Observation]:
    """An inside probe in AS9198: resets for HTTP and forged DNS answers on the blocked targets."""
    out = []
    for o in clean_test_list(probe, TARGET_ASN, "KZ"):
        number = int(o.target_id.removeprefix("test"))
        if number not in blocked:
            out.append(o)
        elif o.protocol == Protocol.HTTP:
            out.append(
                inside(
                    probe,
                    TARGET_ASN,
                    "KZ",
                    number,
                    Protocol.HTTP,
                    Outcome.FAILURE,
                    failure="connection_reset",
                )
            )
        elif dns:
            out.append(
                inside(probe, TARGET_ASN, "KZ", number, Protocol.DNS, Outcome.OK, answer_asns=frozenset({1}))
            )
    return out


def _with_reachability(observations: list[Observation]) -> list[Observation]:
    return observations + full_round(TARGET_ASN, range(3), 10, ok=True)


def test_two_inside_vantage_points_agreeing_make_the_as_filtered() -> None:
    out = run([_with_reachability(_controls() + _censored("k1", range(3)) + _censored("k2", range(3)))])[-1]
    v = verdict_of(out)
    assert v.status is Status.FILTERED
    assert v.confidence == 0.84
    assert v.evidence.reachability_status is Status.UP  # both views stay visible
    assert v.evidence.interference_status is Status.FILTERED
    assert v.evidence.inside_vantage_points == 2
    assert {t.target_id for t in v.evidence.filtered_targets} == {"test0", "test1", "test2"}
    kinds = {(t.protocol, t.failure) for t in v.evidence.filtered_targets}
    assert kinds == {(Protocol.HTTP, failures.CONNECTION_RESET), (Protocol.DNS, DNS_INCONSISTENT)}
    assert all(t.control_successes == 3 for t in v.evidence.filtered_targets)
    assert "2 of 2 inside vantage points see 3 targets interfered with" in v.evidence.summary


def test_one_inside_vantage_point_alone_gives_lower_confidence() -> None:
    v = verdict_of(run([_with_reachability(_controls() + _censored("k1", range(3)))])[-1])
    assert v.status is Status.FILTERED
    assert v.confidence == 0.6


def test_one_of_two_inside_vantage_points_is_not_enough_and_is_suspect() -> None:
    observations = _controls() + _censored("k1", range(3)) + clean_test_list("k2", TARGET_ASN, "KZ")
    v = verdict_of(run([_with_reachability(observations)])[-1])
    assert v.status is Status.UP
    assert v.evidence.interference_status is Status.UP
    assert v.evidence.suspect_probes == ("k1",)


def test_one_anomalous_target_is_not_several() -> None:
    v = verdict_of(run([_with_reachability(_controls() + _censored("k1", range(1)))])[-1])
    assert v.status is Status.UP


def test_timeouts_count_half() -> None:
    def timeouts(count: int) -> list[Observation]:
        out = []
        for o in clean_test_list("k1", TARGET_ASN, "KZ"):
            number = int(o.target_id.removeprefix("test"))
            if number < count and o.protocol == Protocol.HTTP:
                o = inside(
                    "k1",
                    TARGET_ASN,
                    "KZ",
                    number,
                    Protocol.HTTP,
                    Outcome.FAILURE,
                    failure="generic_timeout_error",
                )
            out.append(o)
        return out

    assert verdict_of(run([_with_reachability(_controls() + timeouts(3))])[-1]).status is Status.UP
    assert verdict_of(run([_with_reachability(_controls() + timeouts(4))])[-1]).status is Status.FILTERED


def test_without_a_working_control_nothing_is_called_blocking() -> None:
    broken_controls = [
        inside(probe, asn, cc, j, Protocol.HTTP, Outcome.FAILURE, failure="connection_reset")
        for probe, asn, cc in CONTROLS
        for j in range(6)
    ]
    v = verdict_of(run([_with_reachability(broken_controls + _censored("k1", range(6), dns=False))])[-1])
    assert v.status is Status.UP
    assert v.evidence.filtered_targets == ()


def test_a_different_page_is_http_diff() -> None:
    observations = _controls() + [
        o
        for o in clean_test_list("k1", TARGET_ASN, "KZ")
        if not (o.protocol == Protocol.HTTP and o.target_id < "test2")
    ]
    observations.append(
        inside("k1", TARGET_ASN, "KZ", 0, Protocol.HTTP, Outcome.OK, status_code=403, body_length=900)
    )
    observations.append(
        inside("k1", TARGET_ASN, "KZ", 1, Protocol.HTTP, Outcome.OK, status_code=200, body_length=900)
    )
    v = verdict_of(run([_with_reachability(observations)])[-1])
    assert v.status is Status.FILTERED
    assert {t.failure for t in v.evidence.filtered_targets} == {HTTP_DIFF}


def test_a_different_hash_alone_is_not_interference() -> None:
    observations = _controls() + [
        inside(
            "k1",
            TARGET_ASN,
            "KZ",
            j,
            Protocol.HTTP,
            Outcome.OK,
            status_code=200,
            body_length=20_000 + j,
            body_sha256="x",
        )
        for j in range(6)
    ]
    assert verdict_of(run([_with_reachability(observations)])[-1]).status is Status.UP


def test_an_outage_outranks_filtering() -> None:
    observations = _controls() + _censored("k1", range(3)) + _censored("k2", range(3))
    observations += full_round(TARGET_ASN, range(3), 10, ok=False)
    warm = [full_round(TARGET_ASN, range(3), 10, ok=True)] * 3
    v = verdict_of(run([*warm, observations])[-1])
    assert v.status is Status.DOWN
    assert v.evidence.interference_status is Status.FILTERED


def test_inside_only_as_is_judged_by_its_inside_view() -> None:
    v = verdict_of(run([_controls() + _censored("k1", range(3)) + _censored("k2", range(3))])[-1])
    assert v.status is Status.FILTERED
    assert v.evidence.reachability_status is Status.UNKNOWN

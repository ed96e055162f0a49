"""The inside view's sentence (collector/verdict/inside_view.py): what counts, and the edge rounds."""

from __future__ import annotations

from vantage.collector.verdict.inside_view import (
    InsideMeasurement,
    inside_sentence,
    inside_view,
    rounds_to_read,
)

ROUND_S = 60.0
ASN = 64500


def measured(round_index: int, target: str, answered: bool, probe: str = "p1") -> InsideMeasurement:
    return InsideMeasurement(
        probe_id=probe,
        probe_asn=ASN,
        probe_country="KZ",
        target_id=target,
        target_country="NL",
        answered=answered,
        round_start_unix_s=round_index * ROUND_S,
        round_length_s=ROUND_S,
    )


def test_a_restoration_inside_the_last_round_does_not_turn_confirmed_into_partly() -> None:
    # The outage holds rounds 10-14 (it ends when round 15 starts); the link came back in the
    # middle of round 14, so there one of the three targets answered.
    rounds = [measured(n, t, answered=False) for n in range(10, 15) for t in ("a", "b", "c")]
    rounds[-1] = measured(14, "c", answered=True)
    view = inside_view(rounds, asn=ASN, country="KZ", since_unix_s=600.0, until_unix_s=900.0)
    assert view is not None and (view.verb(), view.targets, view.answered) == ("Confirmed", 3, 0)
    # The span is the rounds judged: 11 to the end of 13.
    assert (view.first_unix_s, view.last_unix_s) == (660.0, 840.0)
    sentence = inside_sentence(view, asn=ASN, country="KZ")
    assert sentence.startswith("Confirmed from inside: 1 probe in AS64500 measured 3 targets outside")


def test_answers_in_the_middle_of_the_outage_still_count() -> None:
    rounds = [measured(n, t, answered=(n == 12 and t == "a")) for n in range(10, 15) for t in ("a", "b", "c")]
    view = inside_view(rounds, asn=ASN, country="KZ", since_unix_s=600.0, until_unix_s=900.0)
    assert view is not None and (view.verb(), view.answered) == ("Partly confirmed", 1)


def test_a_short_outage_is_judged_on_its_edge_rounds_when_it_has_nothing_else() -> None:
    rounds = [measured(n, "a", answered=(n == 11)) for n in (10, 11)]
    view = inside_view(rounds, asn=ASN, country="KZ", since_unix_s=600.0, until_unix_s=720.0)
    assert view is not None and (view.targets, view.answered, view.verb()) == (1, 1, "Contradicted")


def test_an_open_outage_leaves_out_only_its_first_round() -> None:
    rounds = [measured(n, "a", answered=(n == 10)) for n in (10, 11, 12)]
    view = inside_view(rounds, asn=ASN, country="KZ", since_unix_s=600.0, until_unix_s=None)
    assert view is not None and (view.answered, view.first_unix_s, view.last_unix_s) == (0, 660.0, 780.0)


def test_probes_of_other_scopes_and_targets_inside_the_country_are_not_counted() -> None:
    other = InsideMeasurement("p2", 64999, "KZ", "a", "NL", True, 660.0, ROUND_S)
    domestic = InsideMeasurement("p1", ASN, "KZ", "d", "KZ", True, 660.0, ROUND_S)
    assert (
        inside_view([other, domestic], asn=ASN, country="KZ", since_unix_s=600.0, until_unix_s=900.0) is None
    )


def test_the_fully_dark_rounds_are_read_when_the_outside_saw_some() -> None:
    # A restoration over three rounds (CI): the outside saw half the targets answer in the
    # DOWN rounds 12 and 13; the inside probe's answers there would read "Partly confirmed".
    assert rounds_to_read({13: 0.5, 10: 0.0, 11: 0.0, 12: 0.5}) == [10, 11]
    # Never fully dark (a partial cut): every DOWN round.
    assert rounds_to_read({11: 0.25, 10: 0.5}) == [10, 11]
    assert rounds_to_read({}) == []

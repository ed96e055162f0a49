"""A round's traces into its verdicts: the place of a cut in the evidence and the events (pure).

After the verdict engine has decided a round (collector/verdict/engine.py), each AS that is
DOWN or DEGRADED and was traced this round gets the localisation of collector/verdict/paths.py
in its evidence (`Evidence.path`), and its sentence appended to the evidence summary and to
the AS's events of the round, which is what `vantage status --asn` and `vantage timeline`
print; an event keeps its last finding in rounds without traces and when it closes. The
localisation is over every vantage point's traces of the event so far (`PathMemory.during`),
this round's merged in: a round where one vantage point's trace came back, or where paths
reach again while the status lags, does not replace what the others said. A revision of a
round (late traces) recomputes from it onwards, so the event's finding takes in traces when
they arrive. The traces towards ASes that are UP become the "before" of later rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from vantage.collector.verdict.model import AsVerdict, Event, Status
from vantage.collector.verdict.paths import CutPlace, Localisation, PathMemory, Trace, localise

# The statuses for which paths are localised: the AS is (partly) cut off from the outside.
LOCALISED_STATUSES = frozenset({Status.DOWN, Status.DEGRADED})
REACHING = frozenset({CutPlace.NO_CUT, CutPlace.PATH_CHANGE})
# An event closes a few rounds after its AS is UP again (the engine's hysteresis); a finding
# whose event never opened is forgotten after this many rounds UP.
FORGET_AFTER_UP_ROUNDS = 10


def _sentence(localisation: Localisation) -> str:
    text = localisation.summary
    return text[:1].upper() + text[1:] + "."


def localise_round(
    verdicts: Sequence[AsVerdict],
    events: Sequence[Event],
    traces: Sequence[Trace],
    memory: PathMemory,
) -> tuple[tuple[AsVerdict, ...], tuple[Event, ...], PathMemory]:
    """(verdicts with their path evidence, events with its sentence, the updated memory)."""
    found: dict[int, Localisation] = {}
    affected = {v.asn for v in verdicts if v.status in LOCALISED_STATUSES}
    traced = {t.target_asn for t in traces} & affected
    spell = memory.spell_updated(traces, affected).during
    of_event: dict[int, list[Trace]] = {}
    for (_, asn), trace in spell.items():
        if asn in traced:
            of_event.setdefault(asn, []).append(trace)
    for asn in sorted(traced):
        localisation = localise(asn, of_event[asn], memory)
        if localisation is not None:
            found[asn] = localisation
    out_verdicts = tuple(
        replace(
            v,
            evidence=replace(
                v.evidence, path=found[v.asn], summary=f"{v.evidence.summary} {_sentence(found[v.asn])}"
            ),
        )
        if v.asn in found
        else v
        for v in verdicts
    )
    # The finding of the event: this round's, else the last one of the event (rounds without
    # traces, the round it closes in). Forgotten when the event closes, or after
    # FORGET_AFTER_UP_ROUNDS rounds UP without an event (one that never opened).
    findings = dict(memory.findings)
    for asn, localisation in found.items():
        # Paths that reach again while the status still lags (the last rounds of an outage) do
        # not make the event forget where its paths had stopped.
        if localisation.place in REACHING and asn in findings:
            continue
        findings[asn] = (_sentence(localisation), 0)
    out_events = tuple(
        replace(e, summary=f"{e.summary} {findings[e.asn][0]}") if e.asn and e.asn in findings else e
        for e in events
    )
    closed = {e.asn for e in events if e.asn and not e.is_open}
    with_events = {e.asn for e in events if e.asn}
    up = {v.asn for v in verdicts if v.status is Status.UP}
    for asn, (sentence, up_rounds) in list(findings.items()):
        if asn in closed:
            del findings[asn]
        elif asn in up and asn not in with_events:
            if up_rounds + 1 >= FORGET_AFTER_UP_ROUNDS:
                del findings[asn]
            else:
                findings[asn] = (sentence, up_rounds + 1)
    # An event's traces go with its finding (its spell is over when the finding is forgotten).
    during = {key: trace for key, trace in spell.items() if key[1] in findings}
    return out_verdicts, out_events, PathMemory(memory.updated(traces, up).before, findings, during)

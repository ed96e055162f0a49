"""A round's traces into its verdicts: the place of a cut in the evidence and the events (pure).

After the verdict engine has decided a round (collector/verdict/engine.py), each AS that is
DOWN or DEGRADED and was traced this round gets the localisation of collector/verdict/paths.py
in its evidence (`Evidence.path`), and its sentence appended to the evidence summary and to
the AS's events of the round, which is what `vantage status --asn` and `vantage timeline`
print. The traces towards ASes that are UP become the "before" of later rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from vantage.collector.verdict.model import AsVerdict, Event, Status
from vantage.collector.verdict.paths import Localisation, PathMemory, Trace, localise

# The statuses for which paths are localised: the AS is (partly) cut off from the outside.
LOCALISED_STATUSES = frozenset({Status.DOWN, Status.DEGRADED})


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
    if traces:
        for v in verdicts:
            if v.status in LOCALISED_STATUSES:
                localisation = localise(v.asn, traces, memory)
                if localisation is not None:
                    found[v.asn] = localisation
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
    out_events = tuple(
        replace(e, summary=f"{e.summary} {_sentence(found[e.asn])}") if e.asn in found and e.is_open else e
        for e in events
    )
    up = {v.asn for v in verdicts if v.status is Status.UP}
    return out_verdicts, out_events, memory.updated(traces, up)

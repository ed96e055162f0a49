"""A round's observations as columns: the form in which the collector hands a round to the engine.

Theory of operation
-------------------
The engine's vectorised path (fast.py) works on numpy columns. Handed 2.25 M `Observation`
tuples, it first had to transpose them (one pass per field) and factorise the probe and target
ids — about a third of a whole-Internet round — for data the collector reads row by row anyway.
So the collector builds the columns as it reads the round (collector/wire/observations.py), and
only the rows the reference path must still see (ASes that are not plain, inside-out
measurements: a small share) become `Observation` tuples again (`RoundColumns.observations`).

Strings are codes into a list of values (`probe_ids`, `target_ids`, countries, failures). The
engine's answer depends on the order of the rows only through float sums, and on the codes'
numbering the same way, so every constructor here gives codes *dense and in order of first
appearance*: the columns of a list of observations give bit for bit the verdicts of that list
(tests/collector/verdict/test_round_columns.py). `rtt_ms` and `loss_ratio` hold NaN for "no
figure" (None): the engine treats both alike (robust.vantage_point_mean keeps only finite values).

Pure: plain lists and numpy arrays in and out, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import count
from operator import countOf, itemgetter

import numpy as np

from vantage.collector.verdict.model import Observation, Outcome, Protocol, TaskKind

__all__ = ["EXTRA_DEFAULTS", "Extras", "RoundColumns", "factorise"]

# What an observation carries beyond the columns, for DNS and HTTP comparisons inside-out:
# (answer_asns, status_code, body_sha256, body_length). Most rows have none, so it is sparse.
Extras = tuple[frozenset[int], int, str, int]
EXTRA_DEFAULTS: Extras = (frozenset(), 0, "", 0)

_PROTOCOL_OF = {int(p): p for p in Protocol}
_KIND_OF = {int(k): k for k in TaskKind}
_OUTCOME_OF = {int(o): o for o in Outcome}
_FIELDS = Observation._fields
_EXTRA_FIELDS = tuple(
    _FIELDS.index(name) for name in ("answer_asns", "status_code", "body_sha256", "body_length")
)
# The fields before the extras: the columns (from_observations reads no extra field for them).
_COLUMNS = min(_EXTRA_FIELDS)


def factorise(column: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Dense codes in order of first appearance, and the values: one C-level pass over the column
    (setdefault keeps each value's first row), then an array lookup turns first rows into codes."""
    first_row: dict[str, int] = {}
    rows = np.fromiter(map(first_row.setdefault, column, count()), dtype=np.int64, count=len(column))
    dense = np.zeros(len(column), dtype=np.int64)
    dense[np.fromiter(first_row.values(), dtype=np.int64, count=len(first_row))] = np.arange(len(first_row))
    return dense[rows], list(first_row)


def _in_order_of_appearance(codes: np.ndarray, values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """The same strings, renumbered dense in order of first appearance (unused values dropped)."""
    used, first = np.unique(codes, return_index=True)
    by_appearance = used[np.argsort(first, kind="stable")]
    renumber = np.zeros(len(values), dtype=np.int64)
    renumber[by_appearance] = np.arange(len(by_appearance))
    return renumber[codes], [values[c] for c in by_appearance.tolist()]


@dataclass(frozen=True, slots=True)
class RoundColumns:
    """One round's observations, column by column (row i of every array is observation i)."""

    probe: np.ndarray  # int64 codes into probe_ids
    probe_ids: list[str]
    probe_asn: np.ndarray  # int64
    probe_country: np.ndarray  # codes into countries
    target: np.ndarray  # codes into target_ids
    target_ids: list[str]
    target_asn: np.ndarray  # int64
    target_country: np.ndarray  # codes into countries
    countries: list[str]
    protocol: np.ndarray  # int64, Protocol values
    kind: np.ndarray  # int64, TaskKind values
    outcome: np.ndarray  # int64, Outcome values
    failure: np.ndarray  # codes into failures ("" for none)
    failures: list[str]
    rtt_ms: np.ndarray  # float64, NaN where there is no figure
    loss_ratio: np.ndarray  # float64, NaN where there is no figure
    extras: Mapping[int, Extras]  # row -> what it carries beyond the columns (rows with any)
    # The tuples these columns were made of, when they were (from_observations): handed back as
    # they are instead of being rebuilt.
    source: Sequence[Observation] | None = None

    def __len__(self) -> int:
        return len(self.probe)

    @classmethod
    def from_observations(cls, observations: Sequence[Observation]) -> RoundColumns:
        """The columns of a list of observations, in its order."""
        n = len(observations)
        column = [tuple(map(itemgetter(i), observations)) for i in range(_COLUMNS)]
        probe, probe_ids = factorise(column[0])
        target, target_ids = factorise(column[3])
        country, countries = factorise(column[2] + column[5])
        failure, failures = factorise(column[9])
        extras: dict[int, Extras] = {}
        # Most rounds carry nothing beyond the columns: one count per field (C, and mostly identity
        # comparisons with the defaults) says so without building the four columns. A value equal
        # to its default is falsy, so no row the loop below would keep is missed.
        if any(
            countOf(map(itemgetter(i), observations), default) != n
            for i, default in zip(_EXTRA_FIELDS, EXTRA_DEFAULTS, strict=True)
        ):
            answer_asns, status_code, body_sha256, body_length = (
                tuple(map(itemgetter(i), observations)) for i in _EXTRA_FIELDS
            )
            for row in np.flatnonzero(
                np.fromiter(map(bool, answer_asns), dtype=bool, count=n)
                | np.fromiter(map(bool, status_code), dtype=bool, count=n)
                | np.fromiter(map(bool, body_sha256), dtype=bool, count=n)
                | np.fromiter(map(bool, body_length), dtype=bool, count=n)
            ).tolist():
                extras[row] = (answer_asns[row], status_code[row], body_sha256[row], body_length[row])
        return cls(
            probe=probe,
            probe_ids=probe_ids,
            probe_asn=np.fromiter(column[1], dtype=np.int64, count=n),
            probe_country=country[:n],
            target=target,
            target_ids=target_ids,
            target_asn=np.fromiter(column[4], dtype=np.int64, count=n),
            target_country=country[n:],
            countries=countries,
            protocol=np.fromiter(column[6], dtype=np.int64, count=n),
            kind=np.fromiter(column[7], dtype=np.int64, count=n),
            outcome=np.fromiter(column[8], dtype=np.int64, count=n),
            failure=failure,
            failures=failures,
            rtt_ms=np.array(column[10], dtype=float),  # None becomes NaN
            loss_ratio=np.array(column[11], dtype=float),
            extras=extras,
            source=observations,
        )

    @classmethod
    def sorted_by_target_asn_then_probe(
        cls,
        *,
        probe_ids: Sequence[str],
        probe_asn: Sequence[int],
        probe_countries: Sequence[str],
        target_ids: Sequence[str],
        target_asn: Sequence[int],
        target_countries: Sequence[str],
        protocol: Sequence[int],
        kind: Sequence[int],
        outcome: Sequence[int],
        failures: Sequence[str],
        rtt_ms: Sequence[float | None],
        loss_ratio: Sequence[float | None],
        extras: Mapping[int, Extras],
    ) -> RoundColumns:
        """Columns of rows given field by field (row i of each sequence is one observation; `extras`
        by row), reordered as `sorted(observations, key=(target_asn, probe_id))` would order the
        same rows: the order in which the engine's vectorised path reads memory best."""
        n = len(probe_ids)
        probe, probe_values = factorise(probe_ids)
        target_asns = np.fromiter(target_asn, dtype=np.int64, count=n)
        # The rank of each probe id among the sorted ids; lexsort is stable, as sorted() is.
        rank = np.zeros(len(probe_values), dtype=np.int64)
        rank[np.array(sorted(range(len(probe_values)), key=probe_values.__getitem__), dtype=np.int64)] = (
            np.arange(len(probe_values))
        )
        order = np.lexsort((rank[probe], target_asns))
        country, countries = factorise([*probe_countries, *target_countries])
        target, target_values = factorise(target_ids)
        failure, failure_values = factorise(failures)
        new_row = np.empty(n, dtype=np.int64)
        new_row[order] = np.arange(n)
        probe, probe_values = _in_order_of_appearance(probe[order], probe_values)
        target, target_values = _in_order_of_appearance(target[order], target_values)
        failure, failure_values = _in_order_of_appearance(failure[order], failure_values)
        probe_country, target_country = country[:n][order], country[n:][order]
        return cls(
            probe=probe,
            probe_ids=probe_values,
            probe_asn=np.fromiter(probe_asn, dtype=np.int64, count=n)[order],
            probe_country=probe_country,
            target=target,
            target_ids=target_values,
            target_asn=target_asns[order],
            target_country=target_country,
            countries=countries,
            protocol=np.fromiter(protocol, dtype=np.int64, count=n)[order],
            kind=np.fromiter(kind, dtype=np.int64, count=n)[order],
            outcome=np.fromiter(outcome, dtype=np.int64, count=n)[order],
            failure=failure,
            failures=failure_values,
            rtt_ms=np.array(rtt_ms, dtype=float)[order],
            loss_ratio=np.array(loss_ratio, dtype=float)[order],
            extras={int(new_row[row]): extra for row, extra in extras.items()},
        )

    def observations(self, rows: Sequence[int] | None = None) -> list[Observation]:
        """The given rows (all of them by default) as `Observation` tuples, in that order."""
        picked = range(len(self)) if rows is None else rows
        if self.source is not None:
            source = self.source
            return [source[i] for i in picked]
        index = np.asarray(picked, dtype=np.int64)
        probe_ids, target_ids, countries, failures = (
            self.probe_ids,
            self.target_ids,
            self.countries,
            self.failures,
        )
        extras = self.extras
        return [
            Observation(
                probe_ids[p],
                pa,
                countries[pc],
                target_ids[t],
                ta,
                countries[tc],
                _PROTOCOL_OF.get(pr, pr),
                _KIND_OF.get(k, k),
                _OUTCOME_OF.get(o, o),
                failures[f],
                None if rtt != rtt else rtt,  # NaN: no figure
                None if loss != loss else loss,
                *extras.get(row, EXTRA_DEFAULTS),
            )
            for row, p, pa, pc, t, ta, tc, pr, k, o, f, rtt, loss in zip(
                index.tolist(),
                self.probe[index].tolist(),
                self.probe_asn[index].tolist(),
                self.probe_country[index].tolist(),
                self.target[index].tolist(),
                self.target_asn[index].tolist(),
                self.target_country[index].tolist(),
                self.protocol[index].tolist(),
                self.kind[index].tolist(),
                self.outcome[index].tolist(),
                self.failure[index].tolist(),
                self.rtt_ms[index].tolist(),
                self.loss_ratio[index].tolist(),
                strict=True,
            )
        ]

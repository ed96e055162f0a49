"""What a batch's ack says of its late results that revise nothing (blocking; called by ingest
after the commit, collector/service/ingest.py).

Most batches hold results of the round under way or the one just ended: they cost one
comparison. A batch with a result of an earlier round is late (store-and-forward); its items are
counted per round from the stored bytes, and the computed rounds among them read, so that the ack
says how many of them revise nothing, and why (collector/verdict/revisions.py,
`unrevised_counts`). The round loop's reviser counts the same results in the metric
`vantage_late_results_unrevised{reason}` (collector/service/revisions.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from vantage.collector.storage.base import Storage
from vantage.v1 import probe_service_pb2


@dataclass(frozen=True, slots=True)
class RevisePolicy:
    """The collector's round length and revise window (CollectorConfig), for the ack."""

    round_seconds: float
    revise_window_s: float


def mark_unrevised(
    ack: probe_service_pb2.BatchAck,
    payload: bytes,
    rounds: tuple[int, ...],
    *,
    storage: Storage,
    policy: RevisePolicy,
    now_unix_s: float,
) -> None:
    """Set the ack's unrevised_too_old and unrevised_no_round (`rounds`: the batch's accepted
    rounds, ascending; `payload`: the accepted items as stored)."""
    current = int(now_unix_s // policy.round_seconds)
    if not rounds or rounds[0] >= current - 1:
        return  # on time: the common case
    from vantage.collector.verdict.revisions import (
        REFUSED_NO_ROUND,
        REFUSED_TOO_OLD,
        unrevised_counts,
        window_rounds,
    )

    per_round = Counter(m.round for m in probe_service_pb2.ResultBatch.FromString(payload).measurements)
    old = [n for n in rounds if n < current - 1]
    computed = {r.number for r in storage.computed_rounds(old[0], old[-1])}
    counts = unrevised_counts(
        {n: per_round[n] for n in old},
        computed,
        current_round=current,
        window_rounds=window_rounds(policy.revise_window_s, timedelta(seconds=policy.round_seconds)),
    )
    ack.unrevised_too_old = counts.get(REFUSED_TOO_OLD, 0)
    ack.unrevised_no_round = counts.get(REFUSED_NO_ROUND, 0)

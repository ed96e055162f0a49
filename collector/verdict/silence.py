"""Silence as a signal: a burst of probes of one AS or country going silent together.

Theory of operation
-------------------
RIPE's Disco (Shah et al., "Disco: Fast, Good, and Cheap Outage Detection", TMA 2017) finds
outages from bursts of RIPE Atlas probes disconnecting together, with 95 % precision; it considers
only groups of at least 10 probes. A shutdown silences every probe inside the country at once, but
Vantage's fleets inside a censored network are small (a handful of volunteers), so Vantage cannot
wait for 10. Instead of a fixed group size it asks how surprising the silence is given the group's
own usual churn:

- Per scope (an AS or a country), each round: which enrolled probes were connected (heartbeat or
  results). A probe *went silent* when it was connected two rounds ago and is silent now (a burst
  spans "the same round or two").
- The usual churn is an EWMA of the per-round share of connected probes that go silent, learned
  only in rounds without a burst (a shutdown must not teach the engine that probes flap), floored
  at `DEFAULT_MIN_CHURN`.
- A burst needs all three: at least `DEFAULT_MIN_SILENT_PROBES` (3) probes went silent; they are at
  least `DEFAULT_MIN_SILENT_SHARE` (half) of the probes connected before; and the binomial tail
  P(X >= silent | n connected, two-round churn) is below `DEFAULT_MAX_CHANCE` (1e-5).

Why these numbers: 3, because one volunteer unplugging one probe is never an event and two probes
often share one household link; 1e-5, because a scope is tested 288 times a day (5-minute rounds):
ordinary churn then makes a false burst about once in 350 scope-days. The chance test makes a flappy
group need more probes: at the issue's 5 % flapping (about 10 % over two rounds) 3 of 3 has a chance
of 1e-3 and is not a burst, 5 of 5 (9e-6) is; at 1 % churn 3 of 3 (8e-6) already is, 3 of 4
(3e-5) is not, 4 of 5 (8e-7) is.

A burst corroborates an outside-in DOWN of the same scope (the evidence says so); without one it
is a "probes disconnected" signal of its own, never DOWN by itself. Pure: probe sets in, signals
and the next memory out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MIN_SILENT_PROBES = 3
DEFAULT_MIN_SILENT_SHARE = 0.5
DEFAULT_MAX_CHANCE = 1e-5
# The churn a scope starts from and never goes below: a probe in a hundred disconnects per round.
DEFAULT_MIN_CHURN = 0.01
# ~20 rounds (under two hours of 5-minute rounds) of memory for the usual churn.
DEFAULT_CHURN_ALPHA = 0.05

CORROBORATES_DOWN = "corroborates_down"
PROBES_DISCONNECTED = "probes_disconnected"


@dataclass(frozen=True, slots=True)
class SilenceConfig:
    min_silent_probes: int = DEFAULT_MIN_SILENT_PROBES
    min_silent_share: float = DEFAULT_MIN_SILENT_SHARE
    max_chance: float = DEFAULT_MAX_CHANCE
    min_churn: float = DEFAULT_MIN_CHURN
    churn_alpha: float = DEFAULT_CHURN_ALPHA

    def __post_init__(self) -> None:
        if self.min_silent_probes < 2:
            raise ValueError("a burst needs at least two probes: one probe going silent is never an event")
        if not 0.0 < self.min_churn < 1.0 or not 0.0 < self.max_chance < 1.0:
            raise ValueError("min_churn and max_chance must be in (0, 1)")


@dataclass(frozen=True, slots=True)
class ScopeMemory:
    """The connected probes of the last two rounds, and the usual per-round churn."""

    connected_last: frozenset[str] = frozenset()
    connected_before_last: frozenset[str] = frozenset()
    churn: float = DEFAULT_MIN_CHURN


@dataclass(frozen=True, slots=True)
class SilenceSignal:
    scope: str
    connected_before: int
    went_silent: tuple[str, ...]
    usual_churn: float
    chance: float  # P(at least this many silent | usual churn)
    kind: str  # CORROBORATES_DOWN or PROBES_DISCONNECTED
    summary: str


def binomial_tail(n: int, k: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    return min(1.0, sum(math.comb(n, i) * p**i * (1.0 - p) ** (n - i) for i in range(k, n + 1)))


def step(
    connected: Mapping[str, frozenset[str]],
    memory: Mapping[str, ScopeMemory],
    down_scopes: frozenset[str],
    *,
    round_number: int,
    config: SilenceConfig | None = None,
) -> tuple[tuple[SilenceSignal, ...], dict[str, ScopeMemory]]:
    """One round: `connected` = scope -> the enrolled probes of that scope connected this round
    (every scope with enrolled probes, empty when all are silent); `down_scopes` = scopes an
    outside-in DOWN was found for this round. The bursts found, and the next memory."""
    config = config or SilenceConfig()
    signals: list[SilenceSignal] = []
    new_memory: dict[str, ScopeMemory] = {}
    for scope in sorted(connected.keys() | memory.keys()):
        now = connected.get(scope, frozenset())
        held = memory.get(scope, ScopeMemory(churn=config.min_churn))
        before = held.connected_before_last | held.connected_last
        # Went silent within two rounds: connected in either of the last two, silent now.
        silent = tuple(sorted(before - now))
        two_round_churn = 1.0 - (1.0 - held.churn) ** 2
        chance = binomial_tail(len(before), len(silent), two_round_churn)
        burst = (
            len(silent) >= config.min_silent_probes
            and len(silent) >= config.min_silent_share * len(before)
            and chance < config.max_chance
        )
        churn = held.churn
        if burst:
            kind = CORROBORATES_DOWN if scope in down_scopes else PROBES_DISCONNECTED
            signals.append(
                SilenceSignal(
                    scope, len(before), silent, churn, chance, kind, _summary(scope, before, silent, kind)
                )
            )
        elif held.connected_last:
            # Learn the usual churn only from ordinary rounds, one round's disconnections at a time.
            share = len(held.connected_last - now) / len(held.connected_last)
            churn = max(config.min_churn, churn + config.churn_alpha * (share - churn))
        new_memory[scope] = ScopeMemory(now, held.connected_last, churn)
    return tuple(signals), new_memory


def reconnected(went_silent: frozenset[str], connected_now: frozenset[str]) -> bool:
    """Whether a "probes disconnected" event closes: at least half of the probes that went silent
    are connected again (the rule collector/service/silence_signal.py applies)."""
    return 2 * len(went_silent & connected_now) >= len(went_silent)


def _summary(scope: str, before: frozenset[str], silent: tuple[str, ...], kind: str) -> str:
    text = f"{len(silent)} of {len(before)} probes in {scope} went silent together"
    if kind == CORROBORATES_DOWN:
        return text + ", corroborating the outside-in DOWN"
    return text + " (probes disconnected; not DOWN by itself)"

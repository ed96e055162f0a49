"""The census schedule: when each address of a block is probed, as a pure function of time.

Theory of operation. Time is cut into census epochs of `census_period_s` (P): epoch
e = floor(t / P). Within every epoch each host of a block has one slot: the 256 hosts of a block
are laid out at evenly spaced positions j = 0..255, spacing D = (P - L) / 256 (L = round length),
at a per-block fraction f of a position further on:

    slot(block, host, e) = e * P + (j + f) * D,    host = (a * j + c) mod 256  (a odd)

with a, c and f derived from the block key alone (splitmix64, assignment/rendezvous.py), so
the layout is the same in every epoch: an address is probed exactly every P seconds, never
twice in a census, and blocks' slots interleave evenly over time. Slots stay in the first P - L
seconds of their epoch, so slots of two consecutive epochs are at least L apart and never fall
in one round: no address is probed twice in a round. Round r probes the slots s with
floor(s / L) = r; every slot falls in exactly one round, so every address is probed exactly once
per epoch (a test simulates a day).

Which hosts a census probes (`census_hosts`): a full census (every host the block's span
covers) in the epoch the campaign starts, in every refresh epoch (every refresh_period /
census_period epochs after the start), and for a block with no history at all. In other
epochs: the hosts that answered in the last 16 censuses plus a rotating sample of
`rotating_sample` others (rotating through all 256 in 256 / sample epochs), and, in the
`FIRST_CENSUS_EPOCHS - 1` epochs after the start, every host that has no census result yet
(history.censused). That last rule finishes the first census whatever took its slot away: a
slot before the campaign's creation in the start epoch, the slots of the round it was created
in (that round's work was handed out before it existed), a round a probe skipped, a result that
never came back, a slot a bound left out. It stays polite: one slot per host per epoch, as
always, and at most FIRST_CENSUS_EPOCHS - 1 more of them. A block's first census is complete
(`first_census_complete`) when every host it asks has a result, or when those epochs are over
(the hosts still without one are given up until the next refresh).

Per block per round at most `block_allowance_per_round` probes: ceil(3600 / L) consecutive
rounds span any hour of round starts, so that many rounds of allowance A = floor(budget /
ceil(3600 / L)) stay within the hourly budget. `check_round_fits` says when a census period is too
short for the budget (the census would need more slots per round than the allowance).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from vantage.collector.assignment.rendezvous import pair_weight
from vantage.collector.discovery.config import DiscoveryConfig
from vantage.collector.discovery.history import ALL_CENSUSED, BlockHistory
from vantage.collector.discovery.policy import AddressPolicy
from vantage.collector.discovery.space import BlockSpan

_LAYOUT_SALT = 0x5EED_D15C_0BE7_0001  # any constant: it names the layout, and must never change
_SAMPLE_SALT = 0x5EED_D15C_0BE7_0002
_FRACTION_BITS = 1 << 24
# The first census of a block runs over at most this many census epochs: the start epoch, then
# two more in which only the hosts still without a result are asked (module docstring).
FIRST_CENSUS_EPOCHS = 3


def epoch_of(t_unix_s: float, census_period_s: float) -> int:
    """The census epoch holding time t."""
    return math.floor(t_unix_s / census_period_s)


def block_layout(block: int) -> tuple[int, int, float]:
    """(a, c, f) of the module docstring: host = (a*j + c) mod 256, slot fraction f in [0, 1)."""
    mixed = pair_weight(_LAYOUT_SALT, block)
    a = (mixed & 0x7F) << 1 | 1  # odd: j -> a*j + c is a bijection of 0..255
    c = (mixed >> 8) & 0xFF
    fraction = ((mixed >> 16) % _FRACTION_BITS) / _FRACTION_BITS
    return a, c, fraction


def slot_spacing_s(census_period_s: float, round_seconds: float) -> float:
    """D: the time between consecutive slots of one block."""
    if round_seconds >= census_period_s:
        raise ValueError(
            f"census period {census_period_s:g} s must be longer than the round ({round_seconds:g} s)"
        )
    return (census_period_s - round_seconds) / 256


def slot_unix_s(block: int, host: int, epoch: int, census_period_s: float, round_seconds: float) -> float:
    """When host `host` of `block` is probed in census `epoch`."""
    a, c, fraction = block_layout(block)
    # j = a^-1 * (host - c) mod 256; a^-1 exists because a is odd.
    position = (pow(a, -1, 256) * (host - c)) % 256
    return epoch * census_period_s + (position + fraction) * slot_spacing_s(census_period_s, round_seconds)


def round_of(t_unix_s: float, round_seconds: float) -> int:
    """The round holding time t: round r covers [r * L, (r + 1) * L)."""
    return math.floor(t_unix_s / round_seconds)


def slots_in_round(
    block: int, round_number: int, round_seconds: float, census_period_s: float
) -> list[tuple[int, int, float]]:
    """(epoch, host, slot_unix_s) of every slot of the block falling in round `round_number`."""
    window = RoundWindow.of(round_number, round_seconds, census_period_s)
    return window.slots(block)


class RoundWindow:
    """One round's time window, precomputed for the slot search of many blocks (the planner's loop)."""

    __slots__ = ("epochs", "round_number", "round_seconds", "spacing")

    def __init__(
        self,
        round_number: int,
        round_seconds: float,
        spacing: float,
        epochs: list[tuple[int, float, float, float]],
    ) -> None:
        self.round_number = round_number
        self.round_seconds = round_seconds
        self.spacing = spacing
        self.epochs = epochs  # (epoch, epoch start, window start and end in slot positions)

    @classmethod
    def of(cls, round_number: int, round_seconds: float, census_period_s: float) -> RoundWindow:
        spacing = slot_spacing_s(census_period_s, round_seconds)
        start = round_number * round_seconds
        end = start + round_seconds
        epochs = []
        for epoch in range(epoch_of(start, census_period_s), epoch_of(end, census_period_s) + 1):
            base = epoch * census_period_s
            epochs.append((epoch, base, (start - base) / spacing, (end - base) / spacing))
        return cls(round_number, round_seconds, spacing, epochs)

    def slots(self, block: int) -> list[tuple[int, int, float]]:
        """(epoch, host, slot_unix_s) of the block's slots in this round, in time order."""
        mixed = pair_weight(_LAYOUT_SALT, block)  # block_layout, inlined: this runs per block
        a = (mixed & 0x7F) << 1 | 1
        c = (mixed >> 8) & 0xFF
        fraction = ((mixed >> 16) % _FRACTION_BITS) / _FRACTION_BITS
        spacing, round_seconds, round_number = self.spacing, self.round_seconds, self.round_number
        found: list[tuple[int, int, float]] = []
        for epoch, base, low_position, high_position in self.epochs:
            low = max(0, math.floor(low_position - fraction))
            high = min(255, math.ceil(high_position - fraction))
            for position in range(low, high + 1):
                slot = base + (position + fraction) * spacing
                if math.floor(slot / round_seconds) == round_number:  # the one test that decides
                    found.append((epoch, (a * position + c) & 255, slot))
        return found


def first_census_end_unix_s(started_unix_s: float, census_period_s: float, now_unix_s: float) -> float:
    """When the first census of a campaign started at `started_unix_s` should be complete, as seen
    at `now_unix_s`: one period after the start, when every address has had its first slot; past
    that, the end of the current epoch, in which the hosts still without a result are asked again."""
    end = started_unix_s + census_period_s
    if now_unix_s < end:
        return end
    return (epoch_of(now_unix_s, census_period_s) + 1) * census_period_s


def is_refresh_epoch(epoch: int, start_epoch: int, config: DiscoveryConfig) -> bool:
    """A full census again (re-discovery) in this epoch?"""
    return epoch > start_epoch and (epoch - start_epoch) % config.refresh_every_censuses == 0


def in_rotating_sample(block: int, host: int, epoch: int, sample: int) -> bool:
    """Is the host in this epoch's rotating sample of its block (every host once per 256/sample epochs)?"""
    if sample <= 0:
        return False
    rank = (pair_weight(_SAMPLE_SALT, block) + host * 167) & 255  # 167 odd: a bijection of 0..255
    return (rank - epoch * sample) % 256 < sample


def census_hosts(
    span: BlockSpan,
    epoch: int,
    history: BlockHistory | None,
    campaign_started_unix_s: float,
    config: DiscoveryConfig,
    round_seconds: float,
) -> frozenset[int]:
    """The host offsets of the span that census `epoch` probes (module docstring)."""
    if epoch < epoch_of(campaign_started_unix_s, config.census_period_s):
        return frozenset()
    chosen = census_rule(span, epoch, history, campaign_started_unix_s, config, round_seconds)
    return frozenset(range(span.first_host, span.last_host + 1)) if chosen is None else chosen


def census_rule(
    span: BlockSpan,
    epoch: int,
    history: BlockHistory | None,
    campaign_started_unix_s: float,
    config: DiscoveryConfig,
    round_seconds: float,
) -> frozenset[int] | None:
    """census_hosts for an epoch at or after the campaign's start; None = every host of the span."""
    period = config.census_period_s
    start_epoch = epoch_of(campaign_started_unix_s, period)
    if history is None or epoch == start_epoch or is_refresh_epoch(epoch, start_epoch, config):
        return None
    hosts = range(span.first_host, span.last_host + 1)
    chosen = {host for host in history.responders() if span.first_host <= host <= span.last_host}
    chosen.update(h for h in hosts if in_rotating_sample(span.block, h, epoch, config.rotating_sample))
    if epoch < start_epoch + FIRST_CENSUS_EPOCHS and history.censused != ALL_CENSUSED:
        censused = history.censused  # the rest of the first census: hosts without a result yet
        chosen.update(h for h in hosts if not censused >> h & 1)
    return frozenset(chosen)


def first_census_complete(
    span: BlockSpan,
    history: BlockHistory | None,
    campaign_started_unix_s: float,
    now_unix_s: float,
    config: DiscoveryConfig,
    policy: AddressPolicy,
) -> bool:
    """Has every host of the span the first census asks (those the policy permits) had a census
    result, or are the first census's epochs over (module docstring)?"""
    period = config.census_period_s
    if epoch_of(now_unix_s, period) >= epoch_of(campaign_started_unix_s, period) + FIRST_CENSUS_EPOCHS:
        return True
    if history is None:
        return False
    censused = history.censused
    if censused == ALL_CENSUSED:
        return True
    wanted = ((1 << (span.last_host + 1)) - 1) ^ ((1 << span.first_host) - 1)
    if censused & wanted == wanted:
        return True
    base = span.block << 8
    if policy.permits_all(4, base | span.first_host, base | span.last_host):
        return False
    return all(
        censused >> host & 1 or not policy.permits_int(4, base | host)
        for host in range(span.first_host, span.last_host + 1)
    )


def block_allowance_per_round(config: DiscoveryConfig, round_seconds: float) -> int:
    """A: the most probes one /24 gets in one round under the hourly budget (module docstring)."""
    rounds_per_hour = math.ceil(3600.0 / round_seconds)
    return config.block_budget_per_hour // rounds_per_hour


def census_slots_per_round(config: DiscoveryConfig, round_seconds: float) -> int:
    """The most census slots of one /24 that can fall in one round."""
    return math.ceil(round_seconds / slot_spacing_s(config.census_period_s, round_seconds))


def campaign_tasks_per_round(config: DiscoveryConfig, round_seconds: float) -> int:
    """The campaign-wide cap: at most campaign_rate_pps * L tasks per round."""
    return math.floor(config.campaign_rate_pps * round_seconds)


def check_round_fits(config: DiscoveryConfig, round_seconds: float) -> None:
    """ValueError (with the numbers and the fix) when the budget cannot carry a full census per period.

    The collector calls this at start-up; planning never exceeds the budget either way.
    """
    needed = census_slots_per_round(config, round_seconds)
    allowance = block_allowance_per_round(config, round_seconds)
    if needed > allowance:
        raise ValueError(
            f"a census of a /24 every {config.census_period_s:g} s needs up to {needed} probes per "
            f"{round_seconds:g} s round, but the per-block budget of {config.block_budget_per_hour}/hour "
            f"allows {allowance} per round: lengthen --census-period or raise the budget"
        )


def hosts_of(spans: Iterable[BlockSpan]) -> int:
    """The number of addresses the spans cover."""
    return sum(span.size for span in spans)

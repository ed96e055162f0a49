"""Target discovery's knobs, read in one place; each default says where its number comes from.

The politeness bounds (census period, per-block budget, campaign rate cap, per-probe share) are
enforced in census.py / plan.py; docs/discovery.md says which bound holds where.
"""

from __future__ import annotations

from dataclasses import dataclass

from vantage.collector.verdict.config import DEFAULT_MIN_DOWN_VANTAGE_ASNS

# The default: one census of every address of a block per day (the lab uses seconds).
# ISI's Internet census probes each address once per census; one per address per period is ours.
DEFAULT_CENSUS_PERIOD_S = 86_400.0
# The default: re-discovery (a full census again) weekly; in between, each census probes
# the known responders and a rotating sample.
DEFAULT_REFRESH_PERIOD_S = 7 * 86_400.0
# Trinocular (Quan, Heidemann, Pradkin, SIGCOMM 2013) keeps its probing "less than 20 probes per
# hour per /24 block" (11-minute rounds, at most 15 probes a round while recovering). We stay 25 %
# below that ceiling; a daily census of a full /24 needs 256/24 = 10.7 probes an hour.
DEFAULT_BLOCK_BUDGET_PER_HOUR = 15
# Trinocular's round is 11 minutes; the per-block budget is stated per hour, rounds of any length
# get a whole-number share of it (census.block_allowance_per_round).
TRINOCULAR_ROUND_S = 660.0
# Campaign-wide packet rate: 100 echo requests a second is 8.6 million addresses a day (33,750
# full /24s), a large country's census per day; over a fleet of probes it is a trickle per probe.
# (ZMap scans at line rate; we are a background monitor and aim orders of magnitude lower.)
DEFAULT_CAMPAIGN_RATE_PPS = 100.0
# A probe's share of discovery tasks per round: with 5-minute rounds 300 tasks is 1 echo a second
# per probe, the probe's own pacing (probe/engine/pacing.py) keeps it smooth.
DEFAULT_PROBE_SHARE_PER_ROUND = 300
# Between full censuses, non-responders are re-tested by a rotating sample of this many addresses
# per block per census: every address of a /24 is re-tested within 256/16 = 16 censuses, the
# length of the history ISI's hitlist scores (Fan & Heidemann, IMC 2010).
DEFAULT_ROTATING_SAMPLE = 16
# Selection (the M and K): enough blocks to tell "one block is down" from "the AS is down"
# (DEFAULT_MAX_TARGETS_PER_AS in assignment/model.py is 4), each with two addresses so that one
# host going away does not lose the block.
DEFAULT_MAX_BLOCKS_PER_AS = 4
DEFAULT_TARGETS_PER_BLOCK = 2
# A score of 50 = answered the latest census (history.score); below it, "likely to answer now"
# is a guess.
DEFAULT_MIN_SCORE = 50
# Coverage: an AS is analysable with at least this many blocks holding responders...
# (Trinocular tracks a block only with >= 15 ever-responsive addresses; per AS we ask for several
# independent blocks, so that one block's outage is not read as the AS's)
DEFAULT_MIN_RESPONSIVE_BLOCKS = 2
# ... and vantage points outside it in this many distinct ASes: the verdict engine's own
# corroboration rule (collector/verdict/config.py), stated once there.
DEFAULT_MIN_VANTAGE_ASNS = DEFAULT_MIN_DOWN_VANTAGE_ASNS


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    census_period_s: float = DEFAULT_CENSUS_PERIOD_S
    refresh_period_s: float = DEFAULT_REFRESH_PERIOD_S
    block_budget_per_hour: int = DEFAULT_BLOCK_BUDGET_PER_HOUR
    campaign_rate_pps: float = DEFAULT_CAMPAIGN_RATE_PPS
    probe_share_per_round: int = DEFAULT_PROBE_SHARE_PER_ROUND
    rotating_sample: int = DEFAULT_ROTATING_SAMPLE

    def __post_init__(self) -> None:
        if self.census_period_s <= 0:
            raise ValueError("DiscoveryConfig.census_period_s must be positive")
        if self.refresh_period_s < self.census_period_s:
            raise ValueError("DiscoveryConfig.refresh_period_s must be at least census_period_s")
        for name in ("block_budget_per_hour", "probe_share_per_round"):
            if getattr(self, name) < 1:
                raise ValueError(f"DiscoveryConfig.{name} must be at least 1")
        if self.campaign_rate_pps <= 0:
            raise ValueError("DiscoveryConfig.campaign_rate_pps must be positive")
        if not 0 <= self.rotating_sample <= 256:
            raise ValueError("DiscoveryConfig.rotating_sample must be within 0..256")

    @property
    def refresh_every_censuses(self) -> int:
        """A full census every this many census epochs (refresh period / census period, at least 1)."""
        return max(1, int(self.refresh_period_s // self.census_period_s))


@dataclass(frozen=True, slots=True)
class SelectionConfig:
    max_blocks_per_as: int = DEFAULT_MAX_BLOCKS_PER_AS
    targets_per_block: int = DEFAULT_TARGETS_PER_BLOCK
    min_score: int = DEFAULT_MIN_SCORE

    def __post_init__(self) -> None:
        if self.max_blocks_per_as < 1 or self.targets_per_block < 1:
            raise ValueError("SelectionConfig: max_blocks_per_as and targets_per_block must be at least 1")
        if not 0 <= self.min_score <= 99:
            raise ValueError("SelectionConfig.min_score must be within 0..99")


@dataclass(frozen=True, slots=True)
class CoverageThresholds:
    min_responsive_blocks: int = DEFAULT_MIN_RESPONSIVE_BLOCKS
    min_vantage_asns: int = DEFAULT_MIN_VANTAGE_ASNS

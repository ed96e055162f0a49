"""A discovery campaign: the ASes and countries whose address space is censused, and its progress.

A campaign row (id, scope, start time, cancelled) is the only campaign state: which blocks it
covers comes from the loaded datasets (space.py), what each census probes from the block
histories (census.py). So a restarted collector, or a second collector on the same database,
computes the same work from the same rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vantage.collector.discovery.census import first_census_end_unix_s


@dataclass(frozen=True, slots=True)
class Campaign:
    campaign_id: str
    asns: tuple[int, ...] = ()
    countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2, upper case
    started_unix_s: float = 0.0
    cancelled: bool = False

    def __post_init__(self) -> None:
        if not self.campaign_id:
            raise ValueError("Campaign.campaign_id must not be empty")
        if not self.asns and not self.countries:
            raise ValueError(f"campaign {self.campaign_id}: no AS and no country to discover")


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    campaign_id: str
    blocks_total: int
    blocks_done: int  # blocks whose first census is complete (census.first_census_complete)
    responders: int  # addresses that answered in the last 16 censuses
    first_census_end_unix_s: float  # when every block of the campaign has had its first census
    eta_s: float  # seconds from `now` until then (0 when done)

    @property
    def fraction_done(self) -> float:
        return self.blocks_done / self.blocks_total if self.blocks_total else 1.0


def campaign_progress(
    campaign: Campaign,
    *,
    blocks_total: int,
    blocks_done: int,
    responders: int,
    census_period_s: float,
    now_unix_s: float,
) -> CampaignProgress:
    """Progress figures for the CLI and metrics; the ETA follows from the schedule, not from rates.

    Every address of a campaign has its first-census slot within one census period of the
    campaign's start (census.py), so the first census should end at started + census_period_s;
    a host whose slot brought no result is asked again in the next epoch (census.py), so past
    that the ETA is the end of the current epoch. `blocks_done` counts results, not time.
    """
    end = first_census_end_unix_s(campaign.started_unix_s, census_period_s, now_unix_s)
    done = min(blocks_done, blocks_total)
    eta = 0.0 if done >= blocks_total else max(0.0, end - now_unix_s)
    return CampaignProgress(campaign.campaign_id, blocks_total, done, responders, end, math.ceil(eta))

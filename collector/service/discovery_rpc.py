"""Discovery's wire edge: AdminService/QueryService requests -> plain records, and back.

Every request is checked whole before anything is stored: an unknown country code or an AS
absent from the loaded datasets names the item and nothing is half applied.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vantage.collector.discovery.campaigns import CampaignProgress
from vantage.collector.discovery.census import check_round_fits, epoch_of
from vantage.collector.discovery.config import DEFAULT_CENSUS_PERIOD_S, DEFAULT_REFRESH_PERIOD_S
from vantage.collector.discovery.history import BlockHistory
from vantage.collector.discovery.hitlist import HitlistEntry, hitlist_histories
from vantage.collector.discovery.selection import Ipv6Candidate
from vantage.collector.discovery.space import ScopeError, block_cidr, check_scope, parse_block_cidr
from vantage.collector.service.auth import new_id
from vantage.collector.service.discovery import DiscoveryBounds
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import BlockHistoryRecord, CampaignRecord, TargetRecord
from vantage.collector.wire.record_messages import timestamp
from vantage.v1 import admin_service_pb2, query_service_pb2

_COUNTRY = re.compile(r"[A-Z]{2}")


class DiscoveryRequestError(ValueError):
    """A request that cannot be applied; the message names the item."""


def _seconds(duration: Any) -> float:
    return float(duration.seconds) + float(duration.nanos) / 1e9


def new_campaign(
    request: admin_service_pb2.StartDiscoveryRequest,
    locator: Any,
    *,
    now_unix_s: float,
    round_seconds: float,
    bounds: DiscoveryBounds,
) -> CampaignRecord:
    countries = []
    for text in request.countries:
        code = text.strip().upper()
        if _COUNTRY.fullmatch(code) is None:
            raise DiscoveryRequestError(f"country {text!r} is not a 2-letter ISO 3166-1 code")
        countries.append(code)
    if not countries and not request.asns:
        raise DiscoveryRequestError("give at least one country or AS to discover")
    try:  # the core's check, so that the message is the same everywhere
        check_scope(
            request.asns,
            countries,
            known_asns=locator.known_asns(),
            known_countries=locator.known_countries(),
        )
    except ScopeError as exc:
        raise DiscoveryRequestError(f"{exc} (--asn-db)") from None
    period = _seconds(request.census_period) if request.HasField("census_period") else DEFAULT_CENSUS_PERIOD_S
    refresh = (
        _seconds(request.refresh) if request.HasField("refresh") else max(DEFAULT_REFRESH_PERIOD_S, period)
    )
    if period <= round_seconds:
        raise DiscoveryRequestError(
            f"census_period {period:g} s must be longer than the collector's round ({round_seconds:g} s)"
        )
    if refresh < period:
        raise DiscoveryRequestError(
            f"refresh {refresh:g} s must be at least the census period ({period:g} s)"
        )
    try:
        check_round_fits(bounds.config(period, refresh), round_seconds)
    except ValueError as exc:
        raise DiscoveryRequestError(str(exc)) from None
    return CampaignRecord(
        campaign_id=new_id(),
        countries=tuple(sorted(set(countries))),
        asns=tuple(sorted(set(request.asns))),
        census_period_s=period,
        refresh_s=refresh,
        created_at_unix_s=now_unix_s,
    )


def campaign_to_proto(
    record: CampaignRecord, progress: CampaignProgress
) -> admin_service_pb2.DiscoveryCampaign:
    message = admin_service_pb2.DiscoveryCampaign(
        id=record.campaign_id,
        countries=list(record.countries),
        asns=list(record.asns),
        state=admin_service_pb2.CAMPAIGN_STATE_ACTIVE
        if record.active
        else admin_service_pb2.CAMPAIGN_STATE_CANCELLED,
        created_at=timestamp(record.created_at_unix_s),
        blocks_total=progress.blocks_total,
        blocks_done=progress.blocks_done,
        responders=progress.responders,
    )
    message.census_period.FromNanoseconds(int(record.census_period_s * 1e9))
    message.refresh.FromNanoseconds(int(record.refresh_s * 1e9))
    if record.cancelled_at_unix_s is not None:
        message.cancelled_at.CopyFrom(timestamp(record.cancelled_at_unix_s))
    if progress.blocks_done < progress.blocks_total and record.active:
        message.eta.CopyFrom(timestamp(progress.first_census_end_unix_s))
    return message


@dataclass(frozen=True, slots=True)
class HitlistImport:
    blocks: tuple[BlockHistoryRecord, ...]
    imported: int
    skipped: int
    errors: tuple[admin_service_pb2.RowError, ...]
    ipv6_targets: tuple[TargetRecord, ...] = ()  # selected from the IPv6 entries
    ipv6_blocks: int = 0  # /48s the IPv6 entries fall in


def hitlist_blocks(
    request: admin_service_pb2.ImportHitlistRequest,
    storage: Storage,
    locator: Any,
    discovery: Any,
    now_unix_s: float,
) -> HitlistImport:
    """The block histories an import chunk produces (merged with the stored ones), and the
    targets its IPv6 entries give (census stays IPv4: docs/discovery.md); bad entries become
    errors naming their line, the good ones are kept."""
    errors: list[admin_service_pb2.RowError] = []
    entries: list[HitlistEntry] = []
    ipv6: list[Ipv6Candidate] = []
    for item in request.entries:
        try:
            address = ipaddress.ip_address(item.address.strip())
        except ValueError:
            errors.append(_error(item, "not an IP address"))
            continue
        if address.version == 6:
            asn, country = locator.locate(str(address))
            if not asn:
                errors.append(_error(item, "no AS holds this address in the loaded datasets (--asn-db)"))
                continue
            ipv6.append(Ipv6Candidate(int(address), asn, country))
            continue
        if not 0 < item.history <= 0xFFFF:
            errors.append(_error(item, f"history {item.history:#x} is not a non-empty 16-bit bitmap"))
            continue
        entries.append(HitlistEntry(address=int(address), history=item.history, score=item.score))
    kept = [e for e in entries if max(e.score, 0) >= request.min_score]
    periods = discovery._block_periods()
    by_epoch: dict[int, list[HitlistEntry]] = {}
    for entry in kept:
        period = periods.get(entry.address >> 8, DEFAULT_CENSUS_PERIOD_S)
        by_epoch.setdefault(epoch_of(now_unix_s, period), []).append(entry)
    stored = storage.load_blocks({block_cidr(e.address >> 8) for e in kept})
    existing = {
        parse_block_cidr(key): BlockHistory.from_blob(parse_block_cidr(key), row.epoch, row.history)
        for key, row in stored.items()
    }
    merged: dict[int, BlockHistory] = {}
    for epoch, group in sorted(by_epoch.items()):
        merged.update(hitlist_histories(group, epoch, existing={**existing, **merged}))
    records = []
    for block, history in sorted(merged.items()):
        asn, country = locator.locate(str(ipaddress.IPv4Address(block << 8)))
        records.append(
            BlockHistoryRecord(
                block=block_cidr(block),
                epoch=history.epoch,
                history=history.to_blob(),
                asn=asn,
                country=country,
                updated_at_unix_s=now_unix_s,
            )
        )
    return HitlistImport(
        blocks=tuple(records),
        imported=len(kept) + len(ipv6),
        skipped=len(entries) - len(kept),
        errors=tuple(errors),
        ipv6_targets=discovery.ipv6_targets(ipv6, now_unix_s) if ipv6 else (),
        ipv6_blocks=len({c.address >> 80 for c in ipv6}),
    )


def _error(entry: Any, message: str) -> admin_service_pb2.RowError:
    return admin_service_pb2.RowError(line=entry.line, target=entry.address[:256], message=message)


def entries_from(lines: Sequence[Any]) -> list[admin_service_pb2.HitlistEntry]:
    """Parsed hitlist lines (the CLI's) as wire entries."""
    return [admin_service_pb2.HitlistEntry(address=a, history=h, score=s, line=n) for a, h, s, n in lines]


def coverage(
    request: query_service_pb2.GetCoverageRequest, storage: Storage, locator: Any, discovery: Any
) -> query_service_pb2.Coverage:
    """GetCoverage: the coverage rows of the active campaigns' ASes, and per country."""
    from vantage.collector.discovery.config import CoverageThresholds
    from vantage.collector.discovery.coverage import country_coverage
    from vantage.collector.service.work import probe_slot

    thresholds = CoverageThresholds()
    probes = [probe_slot(p) for p in storage.list_probes() if not p.revoked]
    rows = discovery.coverage_rows(probes, asn=request.asn, country=request.country.strip())
    countries = [country_coverage(c, rows) for c in sorted({row.country for row in rows})]
    return query_service_pb2.Coverage(
        ases=[
            query_service_pb2.AsCoverage(
                asn=row.asn,
                as_name=locator.as_name(row.asn),
                country=row.country,
                addresses=row.address_space,
                blocks_known=row.blocks_known,
                blocks_responsive=row.blocks_responsive,
                targets=row.targets_in_use,
                vantage_points=row.vantage_points,
                vantage_ases=row.vantage_asns,
                analysable=row.analysable,
                reason=row.reason,
            )
            for row in rows
        ],
        countries=[
            query_service_pb2.CountryCoverage(
                country=c.country,
                addresses=c.address_space,
                analysable_addresses=c.analysable_address_space,
                analysable_share=c.analysable_share,
                ases=c.ases,
                analysable_ases=c.analysable_ases,
            )
            for c in countries
        ],
        thresholds=query_service_pb2.CoverageThresholds(
            min_responsive_blocks=thresholds.min_responsive_blocks,
            min_vantage_ases=thresholds.min_vantage_asns,
        ),
    )

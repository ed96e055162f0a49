import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vantage.v1 import measurement_pb2 as _measurement_pb2
from vantage.v1 import query_service_pb2 as _query_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CampaignState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAMPAIGN_STATE_UNSPECIFIED: _ClassVar[CampaignState]
    CAMPAIGN_STATE_ACTIVE: _ClassVar[CampaignState]
    CAMPAIGN_STATE_CANCELLED: _ClassVar[CampaignState]
CAMPAIGN_STATE_UNSPECIFIED: CampaignState
CAMPAIGN_STATE_ACTIVE: CampaignState
CAMPAIGN_STATE_CANCELLED: CampaignState

class CreateEnrollmentTokenRequest(_message.Message):
    __slots__ = ("name", "expires_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateEnrollmentTokenResponse(_message.Message):
    __slots__ = ("token", "token_id", "expires_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    token_id: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., token_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RevokeProbeRequest(_message.Message):
    __slots__ = ("probe_id",)
    PROBE_ID_FIELD_NUMBER: _ClassVar[int]
    probe_id: str
    def __init__(self, probe_id: _Optional[str] = ...) -> None: ...

class RevokeProbeResponse(_message.Message):
    __slots__ = ("probe",)
    PROBE_FIELD_NUMBER: _ClassVar[int]
    probe: _query_service_pb2.ProbeRecord
    def __init__(self, probe: _Optional[_Union[_query_service_pb2.ProbeRecord, _Mapping]] = ...) -> None: ...

class PinProbeLocationRequest(_message.Message):
    __slots__ = ("probe_id", "asn", "country")
    PROBE_ID_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    probe_id: str
    asn: int
    country: str
    def __init__(self, probe_id: _Optional[str] = ..., asn: _Optional[int] = ..., country: _Optional[str] = ...) -> None: ...

class TargetSpec(_message.Message):
    __slots__ = ("id", "target", "protocols", "country", "asn", "tags", "source", "line")
    ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PROTOCOLS_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    id: str
    target: str
    protocols: _containers.RepeatedScalarFieldContainer[_measurement_pb2.Protocol]
    country: str
    asn: int
    tags: _containers.RepeatedScalarFieldContainer[str]
    source: str
    line: int
    def __init__(self, id: _Optional[str] = ..., target: _Optional[str] = ..., protocols: _Optional[_Iterable[_Union[_measurement_pb2.Protocol, str]]] = ..., country: _Optional[str] = ..., asn: _Optional[int] = ..., tags: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ..., line: _Optional[int] = ...) -> None: ...

class ImportTargetsRequest(_message.Message):
    __slots__ = ("targets",)
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[TargetSpec]
    def __init__(self, targets: _Optional[_Iterable[_Union[TargetSpec, _Mapping]]] = ...) -> None: ...

class RowError(_message.Message):
    __slots__ = ("line", "target", "message")
    LINE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    line: int
    target: str
    message: str
    def __init__(self, line: _Optional[int] = ..., target: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ImportTargetsResponse(_message.Message):
    __slots__ = ("imported", "updated", "errors")
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    imported: int
    updated: int
    errors: _containers.RepeatedCompositeFieldContainer[RowError]
    def __init__(self, imported: _Optional[int] = ..., updated: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[RowError, _Mapping]]] = ...) -> None: ...

class ListTargetsRequest(_message.Message):
    __slots__ = ("country", "asn", "page_size", "page_token", "source")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    country: str
    asn: int
    page_size: int
    page_token: str
    source: str
    def __init__(self, country: _Optional[str] = ..., asn: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class ListTargetsResponse(_message.Message):
    __slots__ = ("targets", "next_page_token")
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[TargetSpec]
    next_page_token: str
    def __init__(self, targets: _Optional[_Iterable[_Union[TargetSpec, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RemoveTargetsRequest(_message.Message):
    __slots__ = ("targets",)
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, targets: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveTargetsResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...

class ReloadAsnDatabaseRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadAsnDatabaseResponse(_message.Message):
    __slots__ = ("ranges",)
    RANGES_FIELD_NUMBER: _ClassVar[int]
    ranges: int
    def __init__(self, ranges: _Optional[int] = ...) -> None: ...

class StartDiscoveryRequest(_message.Message):
    __slots__ = ("countries", "asns", "census_period", "refresh")
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    ASNS_FIELD_NUMBER: _ClassVar[int]
    CENSUS_PERIOD_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    countries: _containers.RepeatedScalarFieldContainer[str]
    asns: _containers.RepeatedScalarFieldContainer[int]
    census_period: _duration_pb2.Duration
    refresh: _duration_pb2.Duration
    def __init__(self, countries: _Optional[_Iterable[str]] = ..., asns: _Optional[_Iterable[int]] = ..., census_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., refresh: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class DiscoveryCampaign(_message.Message):
    __slots__ = ("id", "countries", "asns", "census_period", "refresh", "state", "created_at", "cancelled_at", "blocks_total", "blocks_done", "responders", "eta")
    ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    ASNS_FIELD_NUMBER: _ClassVar[int]
    CENSUS_PERIOD_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_DONE_FIELD_NUMBER: _ClassVar[int]
    RESPONDERS_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    id: str
    countries: _containers.RepeatedScalarFieldContainer[str]
    asns: _containers.RepeatedScalarFieldContainer[int]
    census_period: _duration_pb2.Duration
    refresh: _duration_pb2.Duration
    state: CampaignState
    created_at: _timestamp_pb2.Timestamp
    cancelled_at: _timestamp_pb2.Timestamp
    blocks_total: int
    blocks_done: int
    responders: int
    eta: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., countries: _Optional[_Iterable[str]] = ..., asns: _Optional[_Iterable[int]] = ..., census_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., refresh: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., state: _Optional[_Union[CampaignState, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancelled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., blocks_total: _Optional[int] = ..., blocks_done: _Optional[int] = ..., responders: _Optional[int] = ..., eta: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDiscoveryRequest(_message.Message):
    __slots__ = ("include_cancelled",)
    INCLUDE_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    include_cancelled: bool
    def __init__(self, include_cancelled: _Optional[bool] = ...) -> None: ...

class ListDiscoveryResponse(_message.Message):
    __slots__ = ("campaigns",)
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    campaigns: _containers.RepeatedCompositeFieldContainer[DiscoveryCampaign]
    def __init__(self, campaigns: _Optional[_Iterable[_Union[DiscoveryCampaign, _Mapping]]] = ...) -> None: ...

class CancelDiscoveryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class HitlistEntry(_message.Message):
    __slots__ = ("address", "history", "score", "line")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    address: str
    history: int
    score: int
    line: int
    def __init__(self, address: _Optional[str] = ..., history: _Optional[int] = ..., score: _Optional[int] = ..., line: _Optional[int] = ...) -> None: ...

class ImportHitlistRequest(_message.Message):
    __slots__ = ("entries", "min_score")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[HitlistEntry]
    min_score: int
    def __init__(self, entries: _Optional[_Iterable[_Union[HitlistEntry, _Mapping]]] = ..., min_score: _Optional[int] = ...) -> None: ...

class ImportHitlistResponse(_message.Message):
    __slots__ = ("imported", "skipped", "blocks", "errors")
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    imported: int
    skipped: int
    blocks: int
    errors: _containers.RepeatedCompositeFieldContainer[RowError]
    def __init__(self, imported: _Optional[int] = ..., skipped: _Optional[int] = ..., blocks: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[RowError, _Mapping]]] = ...) -> None: ...

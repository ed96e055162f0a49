import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vantage.v1 import measurement_pb2 as _measurement_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[Status]
    STATUS_UP: _ClassVar[Status]
    STATUS_DEGRADED: _ClassVar[Status]
    STATUS_DOWN: _ClassVar[Status]
    STATUS_FILTERED: _ClassVar[Status]
    STATUS_UNKNOWN: _ClassVar[Status]

class Mechanism(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MECHANISM_UNSPECIFIED: _ClassVar[Mechanism]
    MECHANISM_BGP_WITHDRAWAL: _ClassVar[Mechanism]
    MECHANISM_DATA_PLANE: _ClassVar[Mechanism]
    MECHANISM_THROTTLING: _ClassVar[Mechanism]
    MECHANISM_PARTIAL: _ClassVar[Mechanism]
    MECHANISM_SERVICE_BLOCKING: _ClassVar[Mechanism]
    MECHANISM_UNKNOWN: _ClassVar[Mechanism]

class InterferenceLayer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERFERENCE_LAYER_UNSPECIFIED: _ClassVar[InterferenceLayer]
    INTERFERENCE_LAYER_DNS: _ClassVar[InterferenceLayer]
    INTERFERENCE_LAYER_TCP: _ClassVar[InterferenceLayer]
    INTERFERENCE_LAYER_TLS: _ClassVar[InterferenceLayer]
    INTERFERENCE_LAYER_HTTP: _ClassVar[InterferenceLayer]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_OUTAGE: _ClassVar[EventKind]
    EVENT_KIND_DEGRADATION: _ClassVar[EventKind]
    EVENT_KIND_FILTERING: _ClassVar[EventKind]
    EVENT_KIND_PROBES_DISCONNECTED: _ClassVar[EventKind]

class EventChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_CHANGE_UNSPECIFIED: _ClassVar[EventChange]
    EVENT_CHANGE_ROUND: _ClassVar[EventChange]
    EVENT_CHANGE_REVISED: _ClassVar[EventChange]
    EVENT_CHANGE_WITHDRAWN: _ClassVar[EventChange]

class EventState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_STATE_UNSPECIFIED: _ClassVar[EventState]
    EVENT_STATE_OPEN: _ClassVar[EventState]
    EVENT_STATE_CLOSED: _ClassVar[EventState]

class ProbeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROBE_STATE_UNSPECIFIED: _ClassVar[ProbeState]
    PROBE_STATE_ALIVE: _ClassVar[ProbeState]
    PROBE_STATE_SILENT: _ClassVar[ProbeState]
    PROBE_STATE_REVOKED: _ClassVar[ProbeState]
STATUS_UNSPECIFIED: Status
STATUS_UP: Status
STATUS_DEGRADED: Status
STATUS_DOWN: Status
STATUS_FILTERED: Status
STATUS_UNKNOWN: Status
MECHANISM_UNSPECIFIED: Mechanism
MECHANISM_BGP_WITHDRAWAL: Mechanism
MECHANISM_DATA_PLANE: Mechanism
MECHANISM_THROTTLING: Mechanism
MECHANISM_PARTIAL: Mechanism
MECHANISM_SERVICE_BLOCKING: Mechanism
MECHANISM_UNKNOWN: Mechanism
INTERFERENCE_LAYER_UNSPECIFIED: InterferenceLayer
INTERFERENCE_LAYER_DNS: InterferenceLayer
INTERFERENCE_LAYER_TCP: InterferenceLayer
INTERFERENCE_LAYER_TLS: InterferenceLayer
INTERFERENCE_LAYER_HTTP: InterferenceLayer
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_OUTAGE: EventKind
EVENT_KIND_DEGRADATION: EventKind
EVENT_KIND_FILTERING: EventKind
EVENT_KIND_PROBES_DISCONNECTED: EventKind
EVENT_CHANGE_UNSPECIFIED: EventChange
EVENT_CHANGE_ROUND: EventChange
EVENT_CHANGE_REVISED: EventChange
EVENT_CHANGE_WITHDRAWN: EventChange
EVENT_STATE_UNSPECIFIED: EventState
EVENT_STATE_OPEN: EventState
EVENT_STATE_CLOSED: EventState
PROBE_STATE_UNSPECIFIED: ProbeState
PROBE_STATE_ALIVE: ProbeState
PROBE_STATE_SILENT: ProbeState
PROBE_STATE_REVOKED: ProbeState

class RoutingVisibility(_message.Message):
    __slots__ = ("state", "visible_prefixes", "baseline_prefixes", "visible_addresses", "baseline_addresses", "full_feed_peers", "reason")
    STATE_FIELD_NUMBER: _ClassVar[int]
    VISIBLE_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    BASELINE_PREFIXES_FIELD_NUMBER: _ClassVar[int]
    VISIBLE_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    FULL_FEED_PEERS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    state: int
    visible_prefixes: int
    baseline_prefixes: int
    visible_addresses: int
    baseline_addresses: int
    full_feed_peers: int
    reason: str
    def __init__(self, state: _Optional[int] = ..., visible_prefixes: _Optional[int] = ..., baseline_prefixes: _Optional[int] = ..., visible_addresses: _Optional[int] = ..., baseline_addresses: _Optional[int] = ..., full_feed_peers: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ProtocolStat(_message.Message):
    __slots__ = ("protocol", "attempts", "successes", "success_ratio")
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATIO_FIELD_NUMBER: _ClassVar[int]
    protocol: _measurement_pb2.Protocol
    attempts: int
    successes: int
    success_ratio: float
    def __init__(self, protocol: _Optional[_Union[_measurement_pb2.Protocol, str]] = ..., attempts: _Optional[int] = ..., successes: _Optional[int] = ..., success_ratio: _Optional[float] = ...) -> None: ...

class FailureCount(_message.Message):
    __slots__ = ("failure", "protocol", "count")
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    failure: str
    protocol: _measurement_pb2.Protocol
    count: int
    def __init__(self, failure: _Optional[str] = ..., protocol: _Optional[_Union[_measurement_pb2.Protocol, str]] = ..., count: _Optional[int] = ...) -> None: ...

class FilteredTarget(_message.Message):
    __slots__ = ("target", "protocol", "failure", "inside_failures", "control_successes")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    INSIDE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    CONTROL_SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    target: str
    protocol: _measurement_pb2.Protocol
    failure: str
    inside_failures: int
    control_successes: int
    def __init__(self, target: _Optional[str] = ..., protocol: _Optional[_Union[_measurement_pb2.Protocol, str]] = ..., failure: _Optional[str] = ..., inside_failures: _Optional[int] = ..., control_successes: _Optional[int] = ...) -> None: ...

class Evidence(_message.Message):
    __slots__ = ("vantage_points", "vantage_ases", "targets", "protocols", "failures", "loss_ratio", "baseline_loss_ratio", "rtt_ms", "baseline_rtt_ms", "suspect_probes", "filtered_targets", "summary", "vantage_asns", "reachability_status", "interference_status", "inside_vantage_points", "path", "routing", "mechanism_reason")
    VANTAGE_POINTS_FIELD_NUMBER: _ClassVar[int]
    VANTAGE_ASES_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    PROTOCOLS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    LOSS_RATIO_FIELD_NUMBER: _ClassVar[int]
    BASELINE_LOSS_RATIO_FIELD_NUMBER: _ClassVar[int]
    RTT_MS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_RTT_MS_FIELD_NUMBER: _ClassVar[int]
    SUSPECT_PROBES_FIELD_NUMBER: _ClassVar[int]
    FILTERED_TARGETS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    VANTAGE_ASNS_FIELD_NUMBER: _ClassVar[int]
    REACHABILITY_STATUS_FIELD_NUMBER: _ClassVar[int]
    INTERFERENCE_STATUS_FIELD_NUMBER: _ClassVar[int]
    INSIDE_VANTAGE_POINTS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_REASON_FIELD_NUMBER: _ClassVar[int]
    vantage_points: int
    vantage_ases: int
    targets: int
    protocols: _containers.RepeatedCompositeFieldContainer[ProtocolStat]
    failures: _containers.RepeatedCompositeFieldContainer[FailureCount]
    loss_ratio: float
    baseline_loss_ratio: float
    rtt_ms: float
    baseline_rtt_ms: float
    suspect_probes: _containers.RepeatedScalarFieldContainer[str]
    filtered_targets: _containers.RepeatedCompositeFieldContainer[FilteredTarget]
    summary: str
    vantage_asns: _containers.RepeatedScalarFieldContainer[int]
    reachability_status: Status
    interference_status: Status
    inside_vantage_points: int
    path: PathLocalisation
    routing: RoutingVisibility
    mechanism_reason: str
    def __init__(self, vantage_points: _Optional[int] = ..., vantage_ases: _Optional[int] = ..., targets: _Optional[int] = ..., protocols: _Optional[_Iterable[_Union[ProtocolStat, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[FailureCount, _Mapping]]] = ..., loss_ratio: _Optional[float] = ..., baseline_loss_ratio: _Optional[float] = ..., rtt_ms: _Optional[float] = ..., baseline_rtt_ms: _Optional[float] = ..., suspect_probes: _Optional[_Iterable[str]] = ..., filtered_targets: _Optional[_Iterable[_Union[FilteredTarget, _Mapping]]] = ..., summary: _Optional[str] = ..., vantage_asns: _Optional[_Iterable[int]] = ..., reachability_status: _Optional[_Union[Status, str]] = ..., interference_status: _Optional[_Union[Status, str]] = ..., inside_vantage_points: _Optional[int] = ..., path: _Optional[_Union[PathLocalisation, _Mapping]] = ..., routing: _Optional[_Union[RoutingVisibility, _Mapping]] = ..., mechanism_reason: _Optional[str] = ...) -> None: ...

class PathLocalisation(_message.Message):
    __slots__ = ("place", "stop_asn", "stop_address", "next_asn", "agreeing_vantage_points", "agreeing_asns", "traced_vantage_points", "summary")
    PLACE_FIELD_NUMBER: _ClassVar[int]
    STOP_ASN_FIELD_NUMBER: _ClassVar[int]
    STOP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ASN_FIELD_NUMBER: _ClassVar[int]
    AGREEING_VANTAGE_POINTS_FIELD_NUMBER: _ClassVar[int]
    AGREEING_ASNS_FIELD_NUMBER: _ClassVar[int]
    TRACED_VANTAGE_POINTS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    place: str
    stop_asn: int
    stop_address: str
    next_asn: int
    agreeing_vantage_points: int
    agreeing_asns: _containers.RepeatedScalarFieldContainer[int]
    traced_vantage_points: int
    summary: str
    def __init__(self, place: _Optional[str] = ..., stop_asn: _Optional[int] = ..., stop_address: _Optional[str] = ..., next_asn: _Optional[int] = ..., agreeing_vantage_points: _Optional[int] = ..., agreeing_asns: _Optional[_Iterable[int]] = ..., traced_vantage_points: _Optional[int] = ..., summary: _Optional[str] = ...) -> None: ...

class AsStatus(_message.Message):
    __slots__ = ("asn", "as_name", "country", "status", "confidence", "belief", "round", "round_start", "since", "evidence", "algorithm_version", "mechanism", "mechanism_layer")
    ASN_FIELD_NUMBER: _ClassVar[int]
    AS_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BELIEF_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    ROUND_START_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_LAYER_FIELD_NUMBER: _ClassVar[int]
    asn: int
    as_name: str
    country: str
    status: Status
    confidence: float
    belief: float
    round: int
    round_start: _timestamp_pb2.Timestamp
    since: _timestamp_pb2.Timestamp
    evidence: Evidence
    algorithm_version: str
    mechanism: Mechanism
    mechanism_layer: InterferenceLayer
    def __init__(self, asn: _Optional[int] = ..., as_name: _Optional[str] = ..., country: _Optional[str] = ..., status: _Optional[_Union[Status, str]] = ..., confidence: _Optional[float] = ..., belief: _Optional[float] = ..., round: _Optional[int] = ..., round_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evidence: _Optional[_Union[Evidence, _Mapping]] = ..., algorithm_version: _Optional[str] = ..., mechanism: _Optional[_Union[Mechanism, str]] = ..., mechanism_layer: _Optional[_Union[InterferenceLayer, str]] = ...) -> None: ...

class CountryStatus(_message.Message):
    __slots__ = ("country", "status", "confidence", "round", "round_start", "since", "affected_share", "measured_ases", "driving_ases", "algorithm_version", "summary", "mechanism", "mechanism_layer", "mechanism_reason")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    ROUND_START_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    AFFECTED_SHARE_FIELD_NUMBER: _ClassVar[int]
    MEASURED_ASES_FIELD_NUMBER: _ClassVar[int]
    DRIVING_ASES_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_LAYER_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_REASON_FIELD_NUMBER: _ClassVar[int]
    country: str
    status: Status
    confidence: float
    round: int
    round_start: _timestamp_pb2.Timestamp
    since: _timestamp_pb2.Timestamp
    affected_share: float
    measured_ases: int
    driving_ases: _containers.RepeatedCompositeFieldContainer[AsStatus]
    algorithm_version: str
    summary: str
    mechanism: Mechanism
    mechanism_layer: InterferenceLayer
    mechanism_reason: str
    def __init__(self, country: _Optional[str] = ..., status: _Optional[_Union[Status, str]] = ..., confidence: _Optional[float] = ..., round: _Optional[int] = ..., round_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., affected_share: _Optional[float] = ..., measured_ases: _Optional[int] = ..., driving_ases: _Optional[_Iterable[_Union[AsStatus, _Mapping]]] = ..., algorithm_version: _Optional[str] = ..., summary: _Optional[str] = ..., mechanism: _Optional[_Union[Mechanism, str]] = ..., mechanism_layer: _Optional[_Union[InterferenceLayer, str]] = ..., mechanism_reason: _Optional[str] = ...) -> None: ...

class GetAsStatusRequest(_message.Message):
    __slots__ = ("asn",)
    ASN_FIELD_NUMBER: _ClassVar[int]
    asn: int
    def __init__(self, asn: _Optional[int] = ...) -> None: ...

class ListAsStatusRequest(_message.Message):
    __slots__ = ("country", "statuses", "page_size", "page_token")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    country: str
    statuses: _containers.RepeatedScalarFieldContainer[Status]
    page_size: int
    page_token: str
    def __init__(self, country: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[Status, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAsStatusResponse(_message.Message):
    __slots__ = ("statuses", "next_page_token")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedCompositeFieldContainer[AsStatus]
    next_page_token: str
    def __init__(self, statuses: _Optional[_Iterable[_Union[AsStatus, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetCountryStatusRequest(_message.Message):
    __slots__ = ("country",)
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    country: str
    def __init__(self, country: _Optional[str] = ...) -> None: ...

class GetTimelineRequest(_message.Message):
    __slots__ = ("asn", "country", "since", "until", "as_of")
    ASN_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    asn: int
    country: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, asn: _Optional[int] = ..., country: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TimelinePoint(_message.Message):
    __slots__ = ("round", "round_start", "status", "confidence", "belief", "reachability_ratio", "revision", "revised_at", "late_results", "late_probes", "mechanism")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    ROUND_START_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BELIEF_FIELD_NUMBER: _ClassVar[int]
    REACHABILITY_RATIO_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REVISED_AT_FIELD_NUMBER: _ClassVar[int]
    LATE_RESULTS_FIELD_NUMBER: _ClassVar[int]
    LATE_PROBES_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_FIELD_NUMBER: _ClassVar[int]
    round: int
    round_start: _timestamp_pb2.Timestamp
    status: Status
    confidence: float
    belief: float
    reachability_ratio: float
    revision: int
    revised_at: _timestamp_pb2.Timestamp
    late_results: int
    late_probes: int
    mechanism: Mechanism
    def __init__(self, round: _Optional[int] = ..., round_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[Status, str]] = ..., confidence: _Optional[float] = ..., belief: _Optional[float] = ..., reachability_ratio: _Optional[float] = ..., revision: _Optional[int] = ..., revised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., late_results: _Optional[int] = ..., late_probes: _Optional[int] = ..., mechanism: _Optional[_Union[Mechanism, str]] = ...) -> None: ...

class Timeline(_message.Message):
    __slots__ = ("points", "events", "as_of")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[TimelinePoint]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, points: _Optional[_Iterable[_Union[TimelinePoint, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("id", "kind", "state", "asn", "country", "started_at", "ended_at", "severity", "confidence", "summary", "opened_round", "updated_round", "change", "revised_round", "mechanism", "mechanism_layer", "mechanism_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    OPENED_ROUND_FIELD_NUMBER: _ClassVar[int]
    UPDATED_ROUND_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    REVISED_ROUND_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_LAYER_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: EventKind
    state: EventState
    asn: int
    country: str
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    severity: float
    confidence: float
    summary: str
    opened_round: int
    updated_round: int
    change: EventChange
    revised_round: int
    mechanism: Mechanism
    mechanism_layer: InterferenceLayer
    mechanism_reason: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[EventKind, str]] = ..., state: _Optional[_Union[EventState, str]] = ..., asn: _Optional[int] = ..., country: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., severity: _Optional[float] = ..., confidence: _Optional[float] = ..., summary: _Optional[str] = ..., opened_round: _Optional[int] = ..., updated_round: _Optional[int] = ..., change: _Optional[_Union[EventChange, str]] = ..., revised_round: _Optional[int] = ..., mechanism: _Optional[_Union[Mechanism, str]] = ..., mechanism_layer: _Optional[_Union[InterferenceLayer, str]] = ..., mechanism_reason: _Optional[str] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("country", "asn", "include_open")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OPEN_FIELD_NUMBER: _ClassVar[int]
    country: str
    asn: int
    include_open: bool
    def __init__(self, country: _Optional[str] = ..., asn: _Optional[int] = ..., include_open: _Optional[bool] = ...) -> None: ...

class ProbeRecord(_message.Message):
    __slots__ = ("probe_id", "name", "asn", "country", "observed_asn", "observed_country", "pinned_asn", "pinned_country", "enrolled_at", "last_contact", "results_received", "suspect", "state", "address", "software_version")
    PROBE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_ASN_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PINNED_ASN_FIELD_NUMBER: _ClassVar[int]
    PINNED_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_CONTACT_FIELD_NUMBER: _ClassVar[int]
    RESULTS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    SUSPECT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    probe_id: str
    name: str
    asn: int
    country: str
    observed_asn: int
    observed_country: str
    pinned_asn: int
    pinned_country: str
    enrolled_at: _timestamp_pb2.Timestamp
    last_contact: _timestamp_pb2.Timestamp
    results_received: int
    suspect: bool
    state: ProbeState
    address: str
    software_version: str
    def __init__(self, probe_id: _Optional[str] = ..., name: _Optional[str] = ..., asn: _Optional[int] = ..., country: _Optional[str] = ..., observed_asn: _Optional[int] = ..., observed_country: _Optional[str] = ..., pinned_asn: _Optional[int] = ..., pinned_country: _Optional[str] = ..., enrolled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_contact: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., results_received: _Optional[int] = ..., suspect: _Optional[bool] = ..., state: _Optional[_Union[ProbeState, str]] = ..., address: _Optional[str] = ..., software_version: _Optional[str] = ...) -> None: ...

class ListProbesRequest(_message.Message):
    __slots__ = ("country", "asn")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    country: str
    asn: int
    def __init__(self, country: _Optional[str] = ..., asn: _Optional[int] = ...) -> None: ...

class ListProbesResponse(_message.Message):
    __slots__ = ("probes",)
    PROBES_FIELD_NUMBER: _ClassVar[int]
    probes: _containers.RepeatedCompositeFieldContainer[ProbeRecord]
    def __init__(self, probes: _Optional[_Iterable[_Union[ProbeRecord, _Mapping]]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("country", "asn", "since", "until", "open_only", "limit")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    OPEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    country: str
    asn: int
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    open_only: bool
    limit: int
    def __init__(self, country: _Optional[str] = ..., asn: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., open_only: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class GetLatestRoundRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RoundInfo(_message.Message):
    __slots__ = ("round", "start", "length_s", "computed_at", "algorithm_version")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    LENGTH_S_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_VERSION_FIELD_NUMBER: _ClassVar[int]
    round: int
    start: _timestamp_pb2.Timestamp
    length_s: float
    computed_at: _timestamp_pb2.Timestamp
    algorithm_version: str
    def __init__(self, round: _Optional[int] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., length_s: _Optional[float] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., algorithm_version: _Optional[str] = ...) -> None: ...

class ListCountryStatusRequest(_message.Message):
    __slots__ = ("statuses",)
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[Status]
    def __init__(self, statuses: _Optional[_Iterable[_Union[Status, str]]] = ...) -> None: ...

class ListCountryStatusResponse(_message.Message):
    __slots__ = ("statuses",)
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedCompositeFieldContainer[CountryStatus]
    def __init__(self, statuses: _Optional[_Iterable[_Union[CountryStatus, _Mapping]]] = ...) -> None: ...

class GetCoverageRequest(_message.Message):
    __slots__ = ("country", "asn")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    country: str
    asn: int
    def __init__(self, country: _Optional[str] = ..., asn: _Optional[int] = ...) -> None: ...

class AsCoverage(_message.Message):
    __slots__ = ("asn", "as_name", "country", "addresses", "blocks_known", "blocks_responsive", "targets", "vantage_points", "vantage_ases", "analysable", "reason")
    ASN_FIELD_NUMBER: _ClassVar[int]
    AS_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_RESPONSIVE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    VANTAGE_POINTS_FIELD_NUMBER: _ClassVar[int]
    VANTAGE_ASES_FIELD_NUMBER: _ClassVar[int]
    ANALYSABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    asn: int
    as_name: str
    country: str
    addresses: int
    blocks_known: int
    blocks_responsive: int
    targets: int
    vantage_points: int
    vantage_ases: int
    analysable: bool
    reason: str
    def __init__(self, asn: _Optional[int] = ..., as_name: _Optional[str] = ..., country: _Optional[str] = ..., addresses: _Optional[int] = ..., blocks_known: _Optional[int] = ..., blocks_responsive: _Optional[int] = ..., targets: _Optional[int] = ..., vantage_points: _Optional[int] = ..., vantage_ases: _Optional[int] = ..., analysable: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class CountryCoverage(_message.Message):
    __slots__ = ("country", "addresses", "analysable_addresses", "analysable_share", "ases", "analysable_ases")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    ANALYSABLE_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    ANALYSABLE_SHARE_FIELD_NUMBER: _ClassVar[int]
    ASES_FIELD_NUMBER: _ClassVar[int]
    ANALYSABLE_ASES_FIELD_NUMBER: _ClassVar[int]
    country: str
    addresses: int
    analysable_addresses: int
    analysable_share: float
    ases: int
    analysable_ases: int
    def __init__(self, country: _Optional[str] = ..., addresses: _Optional[int] = ..., analysable_addresses: _Optional[int] = ..., analysable_share: _Optional[float] = ..., ases: _Optional[int] = ..., analysable_ases: _Optional[int] = ...) -> None: ...

class CoverageThresholds(_message.Message):
    __slots__ = ("min_responsive_blocks", "min_vantage_ases", "min_targets")
    MIN_RESPONSIVE_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    MIN_VANTAGE_ASES_FIELD_NUMBER: _ClassVar[int]
    MIN_TARGETS_FIELD_NUMBER: _ClassVar[int]
    min_responsive_blocks: int
    min_vantage_ases: int
    min_targets: int
    def __init__(self, min_responsive_blocks: _Optional[int] = ..., min_vantage_ases: _Optional[int] = ..., min_targets: _Optional[int] = ...) -> None: ...

class Coverage(_message.Message):
    __slots__ = ("ases", "countries", "thresholds")
    ASES_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    ases: _containers.RepeatedCompositeFieldContainer[AsCoverage]
    countries: _containers.RepeatedCompositeFieldContainer[CountryCoverage]
    thresholds: CoverageThresholds
    def __init__(self, ases: _Optional[_Iterable[_Union[AsCoverage, _Mapping]]] = ..., countries: _Optional[_Iterable[_Union[CountryCoverage, _Mapping]]] = ..., thresholds: _Optional[_Union[CoverageThresholds, _Mapping]] = ...) -> None: ...

import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vantage.v1 import measurement_pb2 as _measurement_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_KIND_UNSPECIFIED: _ClassVar[TaskKind]
    TASK_KIND_REACHABILITY: _ClassVar[TaskKind]
    TASK_KIND_INTERFERENCE: _ClassVar[TaskKind]
    TASK_KIND_DISCOVERY: _ClassVar[TaskKind]

class RejectReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECT_REASON_UNSPECIFIED: _ClassVar[RejectReason]
    REJECT_REASON_MALFORMED: _ClassVar[RejectReason]
    REJECT_REASON_BAD_ADDRESS: _ClassVar[RejectReason]
    REJECT_REASON_UNKNOWN_PROTOCOL: _ClassVar[RejectReason]
    REJECT_REASON_TIMESTAMP_IN_FUTURE: _ClassVar[RejectReason]
    REJECT_REASON_TIMESTAMP_TOO_OLD: _ClassVar[RejectReason]
    REJECT_REASON_WRONG_PROBE: _ClassVar[RejectReason]
    REJECT_REASON_BAD_ID: _ClassVar[RejectReason]
    REJECT_REASON_UNKNOWN_FAILURE: _ClassVar[RejectReason]
    REJECT_REASON_TASK_NOT_ISSUED: _ClassVar[RejectReason]
    REJECT_REASON_TASK_MISMATCH: _ClassVar[RejectReason]
TASK_KIND_UNSPECIFIED: TaskKind
TASK_KIND_REACHABILITY: TaskKind
TASK_KIND_INTERFERENCE: TaskKind
TASK_KIND_DISCOVERY: TaskKind
REJECT_REASON_UNSPECIFIED: RejectReason
REJECT_REASON_MALFORMED: RejectReason
REJECT_REASON_BAD_ADDRESS: RejectReason
REJECT_REASON_UNKNOWN_PROTOCOL: RejectReason
REJECT_REASON_TIMESTAMP_IN_FUTURE: RejectReason
REJECT_REASON_TIMESTAMP_TOO_OLD: RejectReason
REJECT_REASON_WRONG_PROBE: RejectReason
REJECT_REASON_BAD_ID: RejectReason
REJECT_REASON_UNKNOWN_FAILURE: RejectReason
REJECT_REASON_TASK_NOT_ISSUED: RejectReason
REJECT_REASON_TASK_MISMATCH: RejectReason

class ProbeCapabilities(_message.Message):
    __slots__ = ("icmp", "ipv6", "protocols", "raw_sockets")
    ICMP_FIELD_NUMBER: _ClassVar[int]
    IPV6_FIELD_NUMBER: _ClassVar[int]
    PROTOCOLS_FIELD_NUMBER: _ClassVar[int]
    RAW_SOCKETS_FIELD_NUMBER: _ClassVar[int]
    icmp: bool
    ipv6: bool
    protocols: _containers.RepeatedScalarFieldContainer[_measurement_pb2.Protocol]
    raw_sockets: bool
    def __init__(self, icmp: _Optional[bool] = ..., ipv6: _Optional[bool] = ..., protocols: _Optional[_Iterable[_Union[_measurement_pb2.Protocol, str]]] = ..., raw_sockets: _Optional[bool] = ...) -> None: ...

class EnrollRequest(_message.Message):
    __slots__ = ("enrollment_token", "name", "software_version", "capabilities", "proposed_credential")
    ENROLLMENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    enrollment_token: str
    name: str
    software_version: str
    capabilities: ProbeCapabilities
    proposed_credential: str
    def __init__(self, enrollment_token: _Optional[str] = ..., name: _Optional[str] = ..., software_version: _Optional[str] = ..., capabilities: _Optional[_Union[ProbeCapabilities, _Mapping]] = ..., proposed_credential: _Optional[str] = ...) -> None: ...

class EnrollResponse(_message.Message):
    __slots__ = ("probe_id", "credential", "asn", "country")
    PROBE_ID_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    ASN_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    probe_id: str
    credential: str
    asn: int
    country: str
    def __init__(self, probe_id: _Optional[str] = ..., credential: _Optional[str] = ..., asn: _Optional[int] = ..., country: _Optional[str] = ...) -> None: ...

class GetWorkRequest(_message.Message):
    __slots__ = ("capabilities", "software_version")
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    capabilities: ProbeCapabilities
    software_version: str
    def __init__(self, capabilities: _Optional[_Union[ProbeCapabilities, _Mapping]] = ..., software_version: _Optional[str] = ...) -> None: ...

class TaskOptions(_message.Message):
    __slots__ = ("count", "interval_ms", "timeout_ms", "query_name", "query_type", "expected", "url", "trace_method", "first_ttl", "max_ttl", "probes_per_hop")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    QUERY_NAME_FIELD_NUMBER: _ClassVar[int]
    QUERY_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TRACE_METHOD_FIELD_NUMBER: _ClassVar[int]
    FIRST_TTL_FIELD_NUMBER: _ClassVar[int]
    MAX_TTL_FIELD_NUMBER: _ClassVar[int]
    PROBES_PER_HOP_FIELD_NUMBER: _ClassVar[int]
    count: int
    interval_ms: int
    timeout_ms: int
    query_name: str
    query_type: str
    expected: _containers.RepeatedScalarFieldContainer[str]
    url: str
    trace_method: str
    first_ttl: int
    max_ttl: int
    probes_per_hop: int
    def __init__(self, count: _Optional[int] = ..., interval_ms: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., query_name: _Optional[str] = ..., query_type: _Optional[str] = ..., expected: _Optional[_Iterable[str]] = ..., url: _Optional[str] = ..., trace_method: _Optional[str] = ..., first_ttl: _Optional[int] = ..., max_ttl: _Optional[int] = ..., probes_per_hop: _Optional[int] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "kind", "protocol", "target", "options")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: TaskKind
    protocol: _measurement_pb2.Protocol
    target: _measurement_pb2.Target
    options: TaskOptions
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[TaskKind, str]] = ..., protocol: _Optional[_Union[_measurement_pb2.Protocol, str]] = ..., target: _Optional[_Union[_measurement_pb2.Target, _Mapping]] = ..., options: _Optional[_Union[TaskOptions, _Mapping]] = ...) -> None: ...

class WorkPlan(_message.Message):
    __slots__ = ("round", "round_start", "round_length", "tasks", "clock_skew_tolerance", "server_time", "probe_asn", "probe_country")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    ROUND_START_FIELD_NUMBER: _ClassVar[int]
    ROUND_LENGTH_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_SKEW_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    PROBE_ASN_FIELD_NUMBER: _ClassVar[int]
    PROBE_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    round: int
    round_start: _timestamp_pb2.Timestamp
    round_length: _duration_pb2.Duration
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    clock_skew_tolerance: _duration_pb2.Duration
    server_time: _timestamp_pb2.Timestamp
    probe_asn: int
    probe_country: str
    def __init__(self, round: _Optional[int] = ..., round_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., round_length: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., clock_skew_tolerance: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., probe_asn: _Optional[int] = ..., probe_country: _Optional[str] = ...) -> None: ...

class ResultBatch(_message.Message):
    __slots__ = ("batch_id", "measurements")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    measurements: _containers.RepeatedCompositeFieldContainer[_measurement_pb2.Measurement]
    def __init__(self, batch_id: _Optional[str] = ..., measurements: _Optional[_Iterable[_Union[_measurement_pb2.Measurement, _Mapping]]] = ...) -> None: ...

class RejectedItem(_message.Message):
    __slots__ = ("index", "measurement_id", "field", "reason", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    measurement_id: str
    field: str
    reason: RejectReason
    message: str
    def __init__(self, index: _Optional[int] = ..., measurement_id: _Optional[str] = ..., field: _Optional[str] = ..., reason: _Optional[_Union[RejectReason, str]] = ..., message: _Optional[str] = ...) -> None: ...

class BatchAck(_message.Message):
    __slots__ = ("batch_id", "accepted", "duplicates", "rejected", "unrevised_too_old", "unrevised_no_round")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    UNREVISED_TOO_OLD_FIELD_NUMBER: _ClassVar[int]
    UNREVISED_NO_ROUND_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    accepted: int
    duplicates: int
    rejected: _containers.RepeatedCompositeFieldContainer[RejectedItem]
    unrevised_too_old: int
    unrevised_no_round: int
    def __init__(self, batch_id: _Optional[str] = ..., accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[RejectedItem, _Mapping]]] = ..., unrevised_too_old: _Optional[int] = ..., unrevised_no_round: _Optional[int] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("sent_at", "outbox_depth", "oldest_unsent", "software_version")
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    OLDEST_UNSENT_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    sent_at: _timestamp_pb2.Timestamp
    outbox_depth: int
    oldest_unsent: _timestamp_pb2.Timestamp
    software_version: str
    def __init__(self, sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outbox_depth: _Optional[int] = ..., oldest_unsent: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., software_version: _Optional[str] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("server_time", "next_heartbeat")
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    next_heartbeat: _duration_pb2.Duration
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_heartbeat: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

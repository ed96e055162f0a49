import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Protocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROTOCOL_UNSPECIFIED: _ClassVar[Protocol]
    PROTOCOL_ICMP: _ClassVar[Protocol]
    PROTOCOL_DNS: _ClassVar[Protocol]
    PROTOCOL_HTTP: _ClassVar[Protocol]
    PROTOCOL_TCP: _ClassVar[Protocol]
    PROTOCOL_TRACEROUTE: _ClassVar[Protocol]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_OK: _ClassVar[Outcome]
    OUTCOME_FAILURE: _ClassVar[Outcome]
    OUTCOME_MISMATCH: _ClassVar[Outcome]
    OUTCOME_REFUSED_BY_POLICY: _ClassVar[Outcome]

class Operation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPERATION_UNSPECIFIED: _ClassVar[Operation]
    OPERATION_RESOLVE: _ClassVar[Operation]
    OPERATION_CONNECT: _ClassVar[Operation]
    OPERATION_TLS_HANDSHAKE: _ClassVar[Operation]
    OPERATION_HTTP_ROUND_TRIP: _ClassVar[Operation]
    OPERATION_ICMP_ECHO: _ClassVar[Operation]
    OPERATION_DNS_ROUND_TRIP: _ClassVar[Operation]
    OPERATION_POLICY: _ClassVar[Operation]
    OPERATION_TRACE: _ClassVar[Operation]
PROTOCOL_UNSPECIFIED: Protocol
PROTOCOL_ICMP: Protocol
PROTOCOL_DNS: Protocol
PROTOCOL_HTTP: Protocol
PROTOCOL_TCP: Protocol
PROTOCOL_TRACEROUTE: Protocol
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_OK: Outcome
OUTCOME_FAILURE: Outcome
OUTCOME_MISMATCH: Outcome
OUTCOME_REFUSED_BY_POLICY: Outcome
OPERATION_UNSPECIFIED: Operation
OPERATION_RESOLVE: Operation
OPERATION_CONNECT: Operation
OPERATION_TLS_HANDSHAKE: Operation
OPERATION_HTTP_ROUND_TRIP: Operation
OPERATION_ICMP_ECHO: Operation
OPERATION_DNS_ROUND_TRIP: Operation
OPERATION_POLICY: Operation
OPERATION_TRACE: Operation

class Target(_message.Message):
    __slots__ = ("address", "name", "port", "url", "target_id")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    address: str
    name: str
    port: int
    url: str
    target_id: str
    def __init__(self, address: _Optional[str] = ..., name: _Optional[str] = ..., port: _Optional[int] = ..., url: _Optional[str] = ..., target_id: _Optional[str] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("kind", "operation", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    operation: Operation
    detail: str
    def __init__(self, kind: _Optional[str] = ..., operation: _Optional[_Union[Operation, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class Measurement(_message.Message):
    __slots__ = ("id", "probe_id", "target", "protocol", "started_at", "duration", "outcome", "failure", "task_id", "round", "address_family", "source_address", "probe_version", "probe_load", "icmp", "dns", "http", "tcp", "traceroute")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROBE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FAMILY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PROBE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROBE_LOAD_FIELD_NUMBER: _ClassVar[int]
    ICMP_FIELD_NUMBER: _ClassVar[int]
    DNS_FIELD_NUMBER: _ClassVar[int]
    HTTP_FIELD_NUMBER: _ClassVar[int]
    TCP_FIELD_NUMBER: _ClassVar[int]
    TRACEROUTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    probe_id: str
    target: Target
    protocol: Protocol
    started_at: _timestamp_pb2.Timestamp
    duration: _duration_pb2.Duration
    outcome: Outcome
    failure: Failure
    task_id: str
    round: int
    address_family: int
    source_address: str
    probe_version: str
    probe_load: ProbeLoad
    icmp: IcmpDetails
    dns: DnsDetails
    http: HttpDetails
    tcp: TcpDetails
    traceroute: TracerouteDetails
    def __init__(self, id: _Optional[str] = ..., probe_id: _Optional[str] = ..., target: _Optional[_Union[Target, _Mapping]] = ..., protocol: _Optional[_Union[Protocol, str]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., failure: _Optional[_Union[Failure, _Mapping]] = ..., task_id: _Optional[str] = ..., round: _Optional[int] = ..., address_family: _Optional[int] = ..., source_address: _Optional[str] = ..., probe_version: _Optional[str] = ..., probe_load: _Optional[_Union[ProbeLoad, _Mapping]] = ..., icmp: _Optional[_Union[IcmpDetails, _Mapping]] = ..., dns: _Optional[_Union[DnsDetails, _Mapping]] = ..., http: _Optional[_Union[HttpDetails, _Mapping]] = ..., tcp: _Optional[_Union[TcpDetails, _Mapping]] = ..., traceroute: _Optional[_Union[TracerouteDetails, _Mapping]] = ...) -> None: ...

class ProbeLoad(_message.Message):
    __slots__ = ("in_flight", "loop_lag_ms")
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    LOOP_LAG_MS_FIELD_NUMBER: _ClassVar[int]
    in_flight: int
    loop_lag_ms: float
    def __init__(self, in_flight: _Optional[int] = ..., loop_lag_ms: _Optional[float] = ...) -> None: ...

class PingReply(_message.Message):
    __slots__ = ("sequence", "lost", "rtt_ms", "ttl", "duplicate")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    RTT_MS_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    lost: bool
    rtt_ms: float
    ttl: int
    duplicate: bool
    def __init__(self, sequence: _Optional[int] = ..., lost: _Optional[bool] = ..., rtt_ms: _Optional[float] = ..., ttl: _Optional[int] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class IcmpError(_message.Message):
    __slots__ = ("type", "code", "from_address", "sequence", "description")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    type: int
    code: int
    from_address: str
    sequence: int
    description: str
    def __init__(self, type: _Optional[int] = ..., code: _Optional[int] = ..., from_address: _Optional[str] = ..., sequence: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class IcmpDetails(_message.Message):
    __slots__ = ("sent", "received", "duplicates", "replies", "min_rtt_ms", "avg_rtt_ms", "max_rtt_ms", "reply_ttl", "packet_size", "errors", "interval_ms", "stddev_rtt_ms")
    SENT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    MIN_RTT_MS_FIELD_NUMBER: _ClassVar[int]
    AVG_RTT_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_RTT_MS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TTL_FIELD_NUMBER: _ClassVar[int]
    PACKET_SIZE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    STDDEV_RTT_MS_FIELD_NUMBER: _ClassVar[int]
    sent: int
    received: int
    duplicates: int
    replies: _containers.RepeatedCompositeFieldContainer[PingReply]
    min_rtt_ms: float
    avg_rtt_ms: float
    max_rtt_ms: float
    reply_ttl: int
    packet_size: int
    errors: _containers.RepeatedCompositeFieldContainer[IcmpError]
    interval_ms: float
    stddev_rtt_ms: float
    def __init__(self, sent: _Optional[int] = ..., received: _Optional[int] = ..., duplicates: _Optional[int] = ..., replies: _Optional[_Iterable[_Union[PingReply, _Mapping]]] = ..., min_rtt_ms: _Optional[float] = ..., avg_rtt_ms: _Optional[float] = ..., max_rtt_ms: _Optional[float] = ..., reply_ttl: _Optional[int] = ..., packet_size: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[IcmpError, _Mapping]]] = ..., interval_ms: _Optional[float] = ..., stddev_rtt_ms: _Optional[float] = ...) -> None: ...

class DnsAnswer(_message.Message):
    __slots__ = ("name", "type", "ttl", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    ttl: int
    data: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., ttl: _Optional[int] = ..., data: _Optional[str] = ...) -> None: ...

class DnsDetails(_message.Message):
    __slots__ = ("query_name", "query_type", "server", "server_port", "transport", "rcode", "flags", "answers", "response_time_ms", "response_size", "tcp_fallback", "expected", "abuf")
    QUERY_NAME_FIELD_NUMBER: _ClassVar[int]
    QUERY_TYPE_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    SERVER_PORT_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    RCODE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TCP_FALLBACK_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    ABUF_FIELD_NUMBER: _ClassVar[int]
    query_name: str
    query_type: str
    server: str
    server_port: int
    transport: str
    rcode: str
    flags: _containers.RepeatedScalarFieldContainer[str]
    answers: _containers.RepeatedCompositeFieldContainer[DnsAnswer]
    response_time_ms: float
    response_size: int
    tcp_fallback: bool
    expected: _containers.RepeatedScalarFieldContainer[str]
    abuf: bytes
    def __init__(self, query_name: _Optional[str] = ..., query_type: _Optional[str] = ..., server: _Optional[str] = ..., server_port: _Optional[int] = ..., transport: _Optional[str] = ..., rcode: _Optional[str] = ..., flags: _Optional[_Iterable[str]] = ..., answers: _Optional[_Iterable[_Union[DnsAnswer, _Mapping]]] = ..., response_time_ms: _Optional[float] = ..., response_size: _Optional[int] = ..., tcp_fallback: _Optional[bool] = ..., expected: _Optional[_Iterable[str]] = ..., abuf: _Optional[bytes] = ...) -> None: ...

class HttpTimings(_message.Message):
    __slots__ = ("dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "total_ms", "connect_rtt_ms", "tls_socket_ms", "first_byte_socket_ms")
    DNS_MS_FIELD_NUMBER: _ClassVar[int]
    CONNECT_MS_FIELD_NUMBER: _ClassVar[int]
    TLS_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_BYTE_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    CONNECT_RTT_MS_FIELD_NUMBER: _ClassVar[int]
    TLS_SOCKET_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_BYTE_SOCKET_MS_FIELD_NUMBER: _ClassVar[int]
    dns_ms: float
    connect_ms: float
    tls_ms: float
    first_byte_ms: float
    total_ms: float
    connect_rtt_ms: float
    tls_socket_ms: float
    first_byte_socket_ms: float
    def __init__(self, dns_ms: _Optional[float] = ..., connect_ms: _Optional[float] = ..., tls_ms: _Optional[float] = ..., first_byte_ms: _Optional[float] = ..., total_ms: _Optional[float] = ..., connect_rtt_ms: _Optional[float] = ..., tls_socket_ms: _Optional[float] = ..., first_byte_socket_ms: _Optional[float] = ...) -> None: ...

class TlsDetails(_message.Message):
    __slots__ = ("version", "cipher", "cert_subject", "cert_issuer", "cert_not_after", "verification_error", "cert_dns_names", "cert_not_before", "cert_sha256")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CIPHER_FIELD_NUMBER: _ClassVar[int]
    CERT_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    CERT_ISSUER_FIELD_NUMBER: _ClassVar[int]
    CERT_NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    CERT_DNS_NAMES_FIELD_NUMBER: _ClassVar[int]
    CERT_NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    CERT_SHA256_FIELD_NUMBER: _ClassVar[int]
    version: str
    cipher: str
    cert_subject: str
    cert_issuer: str
    cert_not_after: _timestamp_pb2.Timestamp
    verification_error: str
    cert_dns_names: _containers.RepeatedScalarFieldContainer[str]
    cert_not_before: _timestamp_pb2.Timestamp
    cert_sha256: str
    def __init__(self, version: _Optional[str] = ..., cipher: _Optional[str] = ..., cert_subject: _Optional[str] = ..., cert_issuer: _Optional[str] = ..., cert_not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., verification_error: _Optional[str] = ..., cert_dns_names: _Optional[_Iterable[str]] = ..., cert_not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cert_sha256: _Optional[str] = ...) -> None: ...

class Redirect(_message.Message):
    __slots__ = ("status_code", "location")
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    status_code: int
    location: str
    def __init__(self, status_code: _Optional[int] = ..., location: _Optional[str] = ...) -> None: ...

class HttpDetails(_message.Message):
    __slots__ = ("url", "method", "status_code", "timings", "headers", "body_length", "body_sha256", "body_truncated", "title", "tls", "redirects", "connected_address", "http_version", "header_size", "connect_attempts", "resolve")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    BODY_LENGTH_FIELD_NUMBER: _ClassVar[int]
    BODY_SHA256_FIELD_NUMBER: _ClassVar[int]
    BODY_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TLS_FIELD_NUMBER: _ClassVar[int]
    REDIRECTS_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HTTP_VERSION_FIELD_NUMBER: _ClassVar[int]
    HEADER_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONNECT_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_FIELD_NUMBER: _ClassVar[int]
    url: str
    method: str
    status_code: int
    timings: HttpTimings
    headers: _containers.ScalarMap[str, str]
    body_length: int
    body_sha256: str
    body_truncated: bool
    title: str
    tls: TlsDetails
    redirects: _containers.RepeatedCompositeFieldContainer[Redirect]
    connected_address: str
    http_version: str
    header_size: int
    connect_attempts: _containers.RepeatedCompositeFieldContainer[ConnectAttempt]
    resolve: _containers.RepeatedCompositeFieldContainer[DnsDetails]
    def __init__(self, url: _Optional[str] = ..., method: _Optional[str] = ..., status_code: _Optional[int] = ..., timings: _Optional[_Union[HttpTimings, _Mapping]] = ..., headers: _Optional[_Mapping[str, str]] = ..., body_length: _Optional[int] = ..., body_sha256: _Optional[str] = ..., body_truncated: _Optional[bool] = ..., title: _Optional[str] = ..., tls: _Optional[_Union[TlsDetails, _Mapping]] = ..., redirects: _Optional[_Iterable[_Union[Redirect, _Mapping]]] = ..., connected_address: _Optional[str] = ..., http_version: _Optional[str] = ..., header_size: _Optional[int] = ..., connect_attempts: _Optional[_Iterable[_Union[ConnectAttempt, _Mapping]]] = ..., resolve: _Optional[_Iterable[_Union[DnsDetails, _Mapping]]] = ...) -> None: ...

class ConnectAttempt(_message.Message):
    __slots__ = ("address", "started_ms", "connect_ms", "failure", "abandoned")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    CONNECT_MS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    ABANDONED_FIELD_NUMBER: _ClassVar[int]
    address: str
    started_ms: float
    connect_ms: float
    failure: Failure
    abandoned: bool
    def __init__(self, address: _Optional[str] = ..., started_ms: _Optional[float] = ..., connect_ms: _Optional[float] = ..., failure: _Optional[_Union[Failure, _Mapping]] = ..., abandoned: _Optional[bool] = ...) -> None: ...

class TcpDetails(_message.Message):
    __slots__ = ("address", "port", "connect_ms", "connect_rtt_ms")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    CONNECT_MS_FIELD_NUMBER: _ClassVar[int]
    CONNECT_RTT_MS_FIELD_NUMBER: _ClassVar[int]
    address: str
    port: int
    connect_ms: float
    connect_rtt_ms: float
    def __init__(self, address: _Optional[str] = ..., port: _Optional[int] = ..., connect_ms: _Optional[float] = ..., connect_rtt_ms: _Optional[float] = ...) -> None: ...

class MplsLabel(_message.Message):
    __slots__ = ("label", "traffic_class", "bottom_of_stack", "ttl")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_CLASS_FIELD_NUMBER: _ClassVar[int]
    BOTTOM_OF_STACK_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    label: int
    traffic_class: int
    bottom_of_stack: bool
    ttl: int
    def __init__(self, label: _Optional[int] = ..., traffic_class: _Optional[int] = ..., bottom_of_stack: _Optional[bool] = ..., ttl: _Optional[int] = ...) -> None: ...

class TraceReply(_message.Message):
    __slots__ = ("lost", "from_address", "rtt_ms", "icmp_type", "icmp_code", "quoted_ttl", "reply_ttl", "mpls", "anomaly", "tcp_flags")
    LOST_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RTT_MS_FIELD_NUMBER: _ClassVar[int]
    ICMP_TYPE_FIELD_NUMBER: _ClassVar[int]
    ICMP_CODE_FIELD_NUMBER: _ClassVar[int]
    QUOTED_TTL_FIELD_NUMBER: _ClassVar[int]
    REPLY_TTL_FIELD_NUMBER: _ClassVar[int]
    MPLS_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_FIELD_NUMBER: _ClassVar[int]
    TCP_FLAGS_FIELD_NUMBER: _ClassVar[int]
    lost: bool
    from_address: str
    rtt_ms: float
    icmp_type: int
    icmp_code: int
    quoted_ttl: int
    reply_ttl: int
    mpls: _containers.RepeatedCompositeFieldContainer[MplsLabel]
    anomaly: str
    tcp_flags: int
    def __init__(self, lost: _Optional[bool] = ..., from_address: _Optional[str] = ..., rtt_ms: _Optional[float] = ..., icmp_type: _Optional[int] = ..., icmp_code: _Optional[int] = ..., quoted_ttl: _Optional[int] = ..., reply_ttl: _Optional[int] = ..., mpls: _Optional[_Iterable[_Union[MplsLabel, _Mapping]]] = ..., anomaly: _Optional[str] = ..., tcp_flags: _Optional[int] = ...) -> None: ...

class TraceHop(_message.Message):
    __slots__ = ("ttl", "replies")
    TTL_FIELD_NUMBER: _ClassVar[int]
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    ttl: int
    replies: _containers.RepeatedCompositeFieldContainer[TraceReply]
    def __init__(self, ttl: _Optional[int] = ..., replies: _Optional[_Iterable[_Union[TraceReply, _Mapping]]] = ...) -> None: ...

class TracerouteDetails(_message.Message):
    __slots__ = ("method", "port", "first_ttl", "max_ttl", "probes_per_hop", "hops", "destination_reached", "stop_reason", "anomalies", "unmatched_replies", "packet_size", "flow_id")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    FIRST_TTL_FIELD_NUMBER: _ClassVar[int]
    MAX_TTL_FIELD_NUMBER: _ClassVar[int]
    PROBES_PER_HOP_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_REACHED_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_REPLIES_FIELD_NUMBER: _ClassVar[int]
    PACKET_SIZE_FIELD_NUMBER: _ClassVar[int]
    FLOW_ID_FIELD_NUMBER: _ClassVar[int]
    method: str
    port: int
    first_ttl: int
    max_ttl: int
    probes_per_hop: int
    hops: _containers.RepeatedCompositeFieldContainer[TraceHop]
    destination_reached: bool
    stop_reason: str
    anomalies: _containers.RepeatedScalarFieldContainer[str]
    unmatched_replies: int
    packet_size: int
    flow_id: int
    def __init__(self, method: _Optional[str] = ..., port: _Optional[int] = ..., first_ttl: _Optional[int] = ..., max_ttl: _Optional[int] = ..., probes_per_hop: _Optional[int] = ..., hops: _Optional[_Iterable[_Union[TraceHop, _Mapping]]] = ..., destination_reached: _Optional[bool] = ..., stop_reason: _Optional[str] = ..., anomalies: _Optional[_Iterable[str]] = ..., unmatched_replies: _Optional[int] = ..., packet_size: _Optional[int] = ..., flow_id: _Optional[int] = ...) -> None: ...

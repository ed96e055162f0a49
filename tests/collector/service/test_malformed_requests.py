"""Bytes that are not the method's message get INVALID_ARGUMENT, are counted, and leak nothing.

Garbage goes to every unary RPC of every Vantage service (found from the
descriptors, so a new RPC is covered without editing this file) and to a
streaming one, on a real collector process; then /metrics must count each
call under its method with code INVALID_ARGUMENT. Reflection is asked in both
protocol versions, v1 and v1alpha.
"""

from __future__ import annotations

import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.collector.conftest import CollectorProcess, start_collector
from vantage.collector.service.rpc_metrics import MALFORMED_REQUEST_DETAILS
from vantage.v1 import admin_service_pb2, probe_service_pb2, query_service_pb2

pytest.importorskip("grpc_reflection")

# Not a protobuf message: 0xff is an invalid tag (field 0 is never valid).
GARBAGE = b"\xff\xff\xff\xff not a protobuf message"


def unary_methods() -> list[tuple[str, str]]:
    methods = []
    for module in (probe_service_pb2, query_service_pb2, admin_service_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if not method.client_streaming:
                    methods.append((f"/{service.full_name}/{method.name}", method.name))
    return methods


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    data_dir: Path = tmp_path_factory.mktemp("collector")
    process = start_collector(data_dir, "--metrics", "127.0.0.1:0", "--round-seconds", "3600")
    yield process
    process.stop(signal.SIGKILL)


def scrape(collector: CollectorProcess) -> dict[tuple[str, str], float]:
    (line,) = [line for line in collector.lines if line.startswith("collector metrics on ")]
    url = line.split("collector metrics on ", 1)[1].strip()
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        text = response.read().decode()
    counts = {}
    for family in text_string_to_metric_families(text):
        if family.name == "vantage_grpc_requests":
            for sample in family.samples:
                if sample.name == "vantage_grpc_requests_total":
                    counts[(sample.labels["method"], sample.labels["code"])] = sample.value
    return counts


def test_garbage_to_every_unary_rpc_is_invalid_argument_and_counted(collector: CollectorProcess) -> None:
    methods = unary_methods()
    assert len(methods) >= 5
    with collector.channel() as channel:
        for path, _name in methods:
            # No serializer: the bytes go as they are.
            with pytest.raises(grpc.RpcError) as failure:
                if _is_server_streaming(path):
                    list(channel.unary_stream(path)(GARBAGE, timeout=10))
                else:
                    channel.unary_unary(path)(GARBAGE, timeout=10)
            assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, path
            details = failure.value.details() or ""
            assert details == MALFORMED_REQUEST_DETAILS, (path, details)
            assert "DecodeError" not in details and "class" not in details
    counts = scrape(collector)
    for _path, name in methods:
        assert counts.get((name, "INVALID_ARGUMENT"), 0) >= 1, (name, counts)


def test_garbage_in_a_request_stream_is_invalid_argument(collector: CollectorProcess) -> None:
    with collector.channel() as channel:
        call = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        with pytest.raises(grpc.RpcError) as failure:
            list(call(iter([GARBAGE]), timeout=10))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert scrape(collector).get(("ServerReflectionInfo", "INVALID_ARGUMENT"), 0) >= 1


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_is_served_in_both_versions(collector: CollectorProcess, version: str) -> None:
    from grpc_reflection.v1alpha import reflection_pb2

    # v1's messages are v1alpha's, field for field: the same bytes on the wire.
    call = collector.channel().stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    responses = list(call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
    names = {service.name for response in responses for service in response.list_services_response.service}
    assert {"vantage.v1.ProbeService", "grpc.reflection.v1.ServerReflection"} <= names


def _is_server_streaming(path: str) -> bool:
    service_name, method_name = path.strip("/").split("/")
    for module in (probe_service_pb2, query_service_pb2, admin_service_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.full_name == service_name:
                return bool(service.methods_by_name[method_name].server_streaming)
    raise AssertionError(path)

"""A collector that serves whatever work plan a test hands it (a buggy or hostile one), on loopback.

It enrolls any token, answers GetWork with the test's plan bytes as they are,
acks every batch and keeps what it received; nothing else of a collector.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc

from vantage.v1 import measurement_pb2, probe_service_pb2

SERVICE = "vantage.v1.ProbeService"


class FakeCollector:
    def __init__(self, plan: bytes | Callable[[], bytes]) -> None:
        self.plan = plan  # the bytes, or a function making them at each GetWork (rounds move on)
        self.received: list[measurement_pb2.Measurement] = []
        self.get_work_calls = 0
        self.accepting = True  # False: SubmitResults answers UNAVAILABLE (results pile up)
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handlers = {
            "Enroll": grpc.unary_unary_rpc_method_handler(
                self._enroll,
                request_deserializer=probe_service_pb2.EnrollRequest.FromString,
                response_serializer=probe_service_pb2.EnrollResponse.SerializeToString,
            ),
            "GetWork": grpc.unary_unary_rpc_method_handler(
                self._get_work, request_deserializer=probe_service_pb2.GetWorkRequest.FromString
            ),
            "SubmitResults": grpc.stream_stream_rpc_method_handler(
                self._submit,
                request_deserializer=probe_service_pb2.ResultBatch.FromString,
                response_serializer=probe_service_pb2.BatchAck.SerializeToString,
            ),
            "Heartbeat": grpc.unary_unary_rpc_method_handler(
                self._heartbeat,
                request_deserializer=probe_service_pb2.HeartbeatRequest.FromString,
                response_serializer=probe_service_pb2.HeartbeatResponse.SerializeToString,
            ),
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop(grace=None)

    def measurements(self) -> list[measurement_pb2.Measurement]:
        with self._lock:
            return list(self.received)

    def _enroll(self, request: Any, context: Any) -> probe_service_pb2.EnrollResponse:
        return probe_service_pb2.EnrollResponse(probe_id=str(uuid.uuid4()), credential="vpc_fake")

    def _get_work(self, request: Any, context: Any) -> bytes:
        with self._lock:
            self.get_work_calls += 1
        return self.plan() if callable(self.plan) else self.plan

    def _submit(self, batches: Iterator[probe_service_pb2.ResultBatch], context: Any) -> Iterator[Any]:
        if not self.accepting:
            context.abort(grpc.StatusCode.UNAVAILABLE, "not accepting results now")
        for batch in batches:
            with self._lock:
                self.received.extend(batch.measurements)
            yield probe_service_pb2.BatchAck(batch_id=batch.batch_id, accepted=len(batch.measurements))

    def _heartbeat(self, request: Any, context: Any) -> probe_service_pb2.HeartbeatResponse:
        response = probe_service_pb2.HeartbeatResponse()
        response.server_time.FromNanoseconds(time.time_ns())
        response.next_heartbeat.FromSeconds(1)
        return response


def work_plan(tasks: list[probe_service_pb2.Task], *, round_seconds: int = 3600) -> bytes:
    """A plan of the current round (numbered like the real collector's: now // length)."""
    now = time.time()
    number = int(now // round_seconds)
    plan = probe_service_pb2.WorkPlan(round=number, tasks=tasks)
    plan.round_start.FromSeconds(number * round_seconds)
    plan.round_length.FromSeconds(round_seconds)
    plan.clock_skew_tolerance.FromSeconds(300)
    plan.server_time.FromNanoseconds(time.time_ns())
    return plan.SerializeToString()

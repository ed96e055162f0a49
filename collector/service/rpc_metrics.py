"""A server interceptor counting every finished call by method and status code (for the metrics).

Handlers end in three ways: they return (OK, or the code they set), they
abort (`context.abort` raises after setting the code), or they raise (gRPC
answers UNKNOWN). Cancelled calls (the client went away) count as CANCELLED.

It also guards every method's request deserializer. A request whose bytes are
not the method's message (garbage, another message type) makes grpc answer
UNKNOWN "Unexpected <class 'DecodeError'>", which leaks internals, is not the
client's fault code, and never reaches the handler, so no metric sees it. The
guard turns such bytes into a marker the wrapped handler answers with
INVALID_ARGUMENT and a short reason, counted like any other call. Streamed
requests are checked message by message as the handler reads them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError


def _code_name(context: Any, default: str) -> str:
    code = context.code() if hasattr(context, "code") else None
    if code is None:
        return default
    if isinstance(code, grpc.StatusCode):
        return code.name
    try:
        return grpc.StatusCode(code).name  # some versions keep the raw tuple/int
    except ValueError:
        return default


if TYPE_CHECKING:
    # The stubs make the interceptor generic in the messages; at run time the class is not
    # subscriptable. This one wraps every method of every service, whatever its messages.
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor


MALFORMED_REQUEST_DETAILS = "request is not a valid protobuf message for this method"


class MalformedRequest:
    """What the guarded deserializer returns for bytes that do not decode."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def guard_deserializer(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A deserializer that returns MalformedRequest instead of raising on bad bytes."""
    if deserializer is None:
        return None

    def guarded(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, ValueError, TypeError, UnicodeDecodeError):
            # The protobuf runtime's message says where decoding stopped, not what the
            # client meant: keep it out of the answer.
            return MalformedRequest(MALFORMED_REQUEST_DETAILS)

    return guarded


async def _checked_stream(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, MalformedRequest):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)
        yield request


def _no_observer(method: str, code: str) -> None:
    del method, code


class RpcMetricsInterceptor(_ServerInterceptor):
    """Counts finished calls (`observe(method, code)`) and answers undecodable requests.

    Installed on every server, with or without metrics (observe then does nothing),
    so malformed requests get INVALID_ARGUMENT either way.
    """

    def __init__(self, observe: Callable[[str, str], None] | None = None) -> None:
        self._observe = observe or _no_observer

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        observe = self._observe

        def finish(context: Any, error: BaseException | None) -> None:
            if isinstance(error, asyncio.CancelledError):
                observe(method, "CANCELLED")
            elif error is not None:
                observe(method, _code_name(context, "UNKNOWN"))
            else:
                observe(method, _code_name(context, "OK"))

        # A method that takes the raw bytes (SubmitResults: ingest decodes them) has no
        # deserializer to fail; its stream, the hot path, is passed through untouched.
        decodes = handler.request_deserializer is not None

        def check_request(request: Any, context: Any, streamed: bool) -> Any:
            if streamed and decodes:
                return _checked_stream(request, context)
            return request

        async def reject_if_malformed(request: Any, context: Any) -> None:
            if isinstance(request, MalformedRequest):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)

        def wrap_unary_response(behavior: Any, streamed: bool) -> Any:
            async def wrapped(request: Any, context: Any) -> Any:
                try:
                    if not streamed:
                        await reject_if_malformed(request, context)
                    response = await behavior(check_request(request, context, streamed), context)
                except BaseException as exc:
                    finish(context, exc)
                    raise
                finish(context, None)
                return response

            return wrapped

        def wrap_stream_response(behavior: Any, streamed: bool) -> Any:
            async def wrapped(request: Any, context: Any) -> AsyncIterator[Any]:
                try:
                    if not streamed:
                        await reject_if_malformed(request, context)
                    async for response in behavior(check_request(request, context, streamed), context):
                        yield response
                except BaseException as exc:
                    finish(context, exc)
                    raise
                finish(context, None)

            return wrapped

        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                wrap_unary_response(handler.unary_unary, streamed=False),
                request_deserializer=guard_deserializer(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                wrap_unary_response(handler.stream_unary, streamed=True),
                request_deserializer=guard_deserializer(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                wrap_stream_response(handler.unary_stream, streamed=False),
                request_deserializer=guard_deserializer(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                wrap_stream_response(handler.stream_stream, streamed=True),
                request_deserializer=guard_deserializer(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler

"""A server interceptor counting every finished call by method and status code (for the metrics).

Handlers end in three ways: they return (OK, or the code they set), they
abort (`context.abort` raises after setting the code), or they raise (gRPC
answers UNKNOWN). Cancelled calls (the client went away) count as CANCELLED.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc


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


class RpcMetricsInterceptor(_ServerInterceptor):
    def __init__(self, observe: Callable[[str, str], None]) -> None:
        self._observe = observe

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

        def wrap_unary_response(behavior: Any) -> Any:
            async def wrapped(request: Any, context: Any) -> Any:
                try:
                    response = await behavior(request, context)
                except BaseException as exc:
                    finish(context, exc)
                    raise
                finish(context, None)
                return response

            return wrapped

        def wrap_stream_response(behavior: Any) -> Any:
            async def wrapped(request: Any, context: Any) -> AsyncIterator[Any]:
                try:
                    async for response in behavior(request, context):
                        yield response
                except BaseException as exc:
                    finish(context, exc)
                    raise
                finish(context, None)

            return wrapped

        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                wrap_unary_response(handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                wrap_unary_response(handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                wrap_stream_response(handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                wrap_stream_response(handler.stream_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

"""Enroll once: exchange the one-time token for the probe's own credential.

A credential already in the state dir is reused (a restart never spends a
token). Before the first attempt the probe saves the credential it proposes
(credentials.enrollment_intent): if the answer is lost, or the credential
cannot be written (a crash, a full disk), the retry with the same token gets
the same probe back. A collector that refuses the token is final (FatalError: a new token
is needed); one that does not answer is retried with backoff, failing over to
the other collector addresses.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

import grpc
import grpc.aio

from vantage.probe.daemon.config import DaemonConfig
from vantage.probe.daemon.credentials import (
    Credential,
    credential_path,
    enrollment_intent,
    forget_enrollment_intent,
    load_credential,
    save_credential,
)
from vantage.probe.daemon.link import Link
from vantage.v1 import probe_service_pb2

log = logging.getLogger("vantage.probe")

# Answers that mean "this token will never work" (as opposed to "try again").
TOKEN_REFUSED = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
    }
)


class FatalError(Exception):
    """The daemon cannot go on (bad token, state dir in use); the message says why."""


async def obtain_credential(
    config: DaemonConfig,
    link: Link,
    *,
    capabilities: probe_service_pb2.ProbeCapabilities,
    version: str,
    stop: asyncio.Event,
) -> Credential:
    """The stored credential, or a new one from enrollment. CancelledError when stopped first."""
    existing = load_credential(config.state_dir)
    if existing is not None:
        log.info("probe %s: using the credential in %s", existing.probe_id, credential_path(config.state_dir))
        return existing
    if not config.enroll_token:
        raise FatalError(
            f"no credential in {config.state_dir} and no enrollment token: give --enroll-token "
            "(or VANTAGE_PROBE_ENROLL_TOKEN) once; `vantage collector token create` makes one"
        )
    request = probe_service_pb2.EnrollRequest(
        enrollment_token=config.enroll_token,
        name=config.name or socket.gethostname(),
        software_version=version,
        capabilities=capabilities,
        proposed_credential=enrollment_intent(config.state_dir),
    )
    while not stop.is_set():
        acquired = await link.acquire_waiting(stop)
        if acquired is None:
            break
        address, stub = acquired
        try:
            response = await stub.Enroll(request, timeout=30.0)
        except grpc.aio.AioRpcError as error:
            if error.code() in TOKEN_REFUSED:
                raise FatalError(
                    f"collector {address} refused the enrollment token ({error.code().name}: "
                    f"{error.details()}); ask the operator for a new one"
                ) from None
            link.failed(address, "Enroll", error)
            continue
        link.succeeded(address)
        credential = Credential(
            probe_id=response.probe_id,
            secret=response.credential,
            enrolled_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        save_credential(config.state_dir, credential)
        forget_enrollment_intent(config.state_dir)
        where = f"AS{response.asn} {response.country}".strip() if response.asn else "an unknown network"
        log.info("probe enrolled as %s (collector %s places it in %s)", credential.probe_id, address, where)
        return credential
    raise asyncio.CancelledError

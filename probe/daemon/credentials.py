"""The probe's credential: obtained once by enrollment, kept in the state dir.

The file is JSON {"probe_id", "credential", "enrolled_at"}, mode 0600, written
atomically (temporary file, fsync, rename, fsync of the directory) so that a
crash never leaves half a credential and a restart reuses it instead of
spending another enrollment token.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CREDENTIAL_FILE = "credential.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credential:
    probe_id: str
    secret: str
    enrolled_at: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"Credential(probe_id={self.probe_id!r}, secret=<hidden>)"


class CredentialError(Exception):
    """The stored credential cannot be read; the message says which file and why."""


def credential_path(state_dir: Path) -> Path:
    return state_dir / CREDENTIAL_FILE


def load_credential(state_dir: Path) -> Credential | None:
    path = credential_path(state_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Someone loosened it; tighten it again rather than refuse to run.
        log.warning(
            "credential file %s was readable by others (mode %o); setting it to 0600", path, mode & 0o777
        )
        path.chmod(0o600)
    try:
        document = json.loads(path.read_text())
        return Credential(
            probe_id=str(document["probe_id"]),
            secret=str(document["credential"]),
            enrolled_at=str(document.get("enrolled_at", "")),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CredentialError(f"cannot read the probe credential {path}: {exc}") from None


def save_credential(state_dir: Path, credential: Credential) -> Path:
    path = credential_path(state_dir)
    temporary = path.with_name(path.name + ".tmp")
    document = {
        "probe_id": credential.probe_id,
        "credential": credential.secret,
        "enrolled_at": credential.enrolled_at,
    }
    with _create_private(temporary) as handle:
        handle.write(json.dumps(document, indent=2).encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(state_dir)
    return path


INTENT_FILE = "enroll_intent.json"
PROBE_CREDENTIAL_PREFIX = "vpc_"


def enrollment_intent(state_dir: Path) -> str:
    """The credential this probe proposes when it enrolls, saved (0600, fsynced) before the first
    attempt: a retry after a crash or a full disk proposes the same one, and the collector
    recognises the probe it already enrolled instead of calling the token used."""
    path = state_dir / INTENT_FILE
    try:
        return str(json.loads(path.read_text())["proposed_credential"])
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable enrollment intent %s: %s", path, exc)
    proposed = PROBE_CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
    temporary = path.with_name(path.name + ".tmp")
    with _create_private(temporary) as handle:
        handle.write(json.dumps({"proposed_credential": proposed}).encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(state_dir)
    return proposed


def forget_enrollment_intent(state_dir: Path) -> None:
    """Once the credential is saved, the intent has served its purpose."""
    (state_dir / INTENT_FILE).unlink(missing_ok=True)


def ensure_state_dir(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def _create_private(path: Path) -> BinaryIO:
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(descriptor, "wb")


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

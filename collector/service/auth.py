"""Secrets, their hashes, and the bearer credential in gRPC metadata.

Every secret (enrollment token, probe credential, admin or reader credential)
is 256 random bits from `secrets`; the database keeps only its SHA-256. A
plain hash is enough for high-entropy secrets (nothing to brute-force, unlike
passwords), and it lets several collectors on one database find a probe by
its credential with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

# 32 random bytes = 256 bits, as in common API tokens; url-safe base64 (43 chars).
SECRET_BYTES = 32
AUTHORIZATION_HEADER = "authorization"
BEARER_PREFIX = "Bearer "
ADMIN_CREDENTIAL_FILE = "admin.credential"
READER_CREDENTIAL_FILE = "reader.credential"


# Each kind of secret starts with its own prefix: it says what a leaked string
# is (as GitHub's ghp_ tokens do), and a secret never starts with "-", which
# command lines would take for an option.
ENROLLMENT_TOKEN_PREFIX = "vet_"
PROBE_CREDENTIAL_PREFIX = "vpc_"
ADMIN_CREDENTIAL_PREFIX = "vac_"
READER_CREDENTIAL_PREFIX = "vrc_"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(SECRET_BYTES)


def new_id() -> str:
    """A short public identifier (token ids): 64 random bits in hex."""
    return secrets.token_hex(8)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The credential of an `authorization: Bearer <credential>` metadata entry, if any."""
    for key, value in metadata or ():
        if key.lower() != AUTHORIZATION_HEADER:
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if text.startswith(BEARER_PREFIX):
            credential = text[len(BEARER_PREFIX) :].strip()
            return credential or None
    return None


def bearer_metadata(credential: str) -> tuple[tuple[str, str], ...]:
    return ((AUTHORIZATION_HEADER, BEARER_PREFIX + credential),)


def read_credential_file(path: Path) -> str:
    """The credential in a file written by `ensure_credential_file` (first line, stripped)."""
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise ValueError(f"{path} is empty")
    return text.splitlines()[0].strip()


def ensure_credential_file(path: Path, prefix: str = ADMIN_CREDENTIAL_PREFIX) -> tuple[str, bool]:
    """Read the credential in `path`, creating it (mode 0600, atomically) when absent.

    Returns (credential, created). O_EXCL makes two collectors starting on one
    data dir agree on a single credential.
    """
    try:
        return read_credential_file(path), False
    except FileNotFoundError:
        pass
    credential = new_secret(prefix)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_credential_file(path), False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(credential + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return credential, True

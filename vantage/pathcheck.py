"""Checks, before a daemon starts, that the paths it was given can be used.

A probe or collector that meets an unwritable state directory half-way through
its start dies with a traceback about `probe.lock` or `vantage.db`; an operator
wants one line naming the path, its role and what is wrong. These checks try
the real operation (create the directory, create and remove a file in it, open
a file for reading) rather than os.access(), which answers for the real uid
and not for the capabilities the process actually has.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


class PathProblem(Exception):
    """A path the daemon needs cannot be used; str() is the one-line explanation."""


def describe_os_error(error: OSError) -> str:
    """'permission denied', 'no such file or directory', ... (lower case, no errno number)."""
    reason = error.strerror or error.__class__.__name__
    reason = reason[:1].lower() + reason[1:]
    if error.errno in (errno.EACCES, errno.EPERM):
        reason += f" for uid {os.geteuid()}"
    return reason


def os_error_line(error: OSError) -> str:
    """One line for an OSError that escaped the specific checks: the path and the reason."""
    if error.filename is None:
        return describe_os_error(error)
    return f"{error.filename}: {describe_os_error(error)}"


def ensure_writable_dir(path: Path, role: str) -> None:
    """Create `path` (mode 0700) if needed and prove a file can be made in it.

    `role` names the directory in the message ("state dir", "data dir").
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise PathProblem(f"{role} {path}: exists and is not a directory") from None
    except OSError as exc:
        raise PathProblem(f"{role} {path}: cannot create it: {describe_os_error(exc)}") from None
    if not path.is_dir():
        raise PathProblem(f"{role} {path}: exists and is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise PathProblem(
            f"{role} {path}: not writable: {describe_os_error(exc)}"
            " (give the directory to the user the daemon runs as)"
        ) from None


def check_readable_file(path: Path, role: str) -> None:
    """`path` exists, is a regular file and can be opened for reading."""
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except IsADirectoryError:
        raise PathProblem(f"{role} {path}: is a directory, not a file") from None
    except FileNotFoundError:
        raise PathProblem(f"{role} {path}: no such file") from None
    except OSError as exc:
        raise PathProblem(f"{role} {path}: cannot read it: {describe_os_error(exc)}") from None


def check_optional_readable_file(path: Path, role: str) -> None:
    """Like check_readable_file, but a missing file is fine (the daemon creates it)."""
    if not path.exists() and not path.is_symlink():
        return
    check_readable_file(path, role)

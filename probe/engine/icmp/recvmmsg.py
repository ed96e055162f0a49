"""Reading many ICMP messages per system call with Linux recvmmsg(2), through ctypes (I/O edge).

A forked sweep's reader spends a third of its time in socket.recvmsg: one system call per
reply, plus a tuple, a bytes object, an ancillary-data list and an address string built for
each. recvmmsg fills up to BATCH messages into buffers allocated once; their lengths, flags and
control lengths are read back with one struct.iter_unpack over the header array.

Layout (x86-64 and every 64-bit Linux): struct mmsghdr is a struct msghdr (56 bytes: name
pointer, name length, iovec pointer, iovec count, control pointer, control length, flags)
followed by the received length, padded to 64 bytes. The kernel rewrites the name and control
lengths, so a pristine copy of the header array is put back before each call.
"""

from __future__ import annotations

import ctypes
import errno
import socket
import struct
from collections.abc import Iterator
from typing import Any

BATCH = 256
_SLOT_BYTES = 2048  # as recvmsg's buffer: the largest ICMP error Linux sends is 576 bytes
_CONTROL_BYTES = 128
_NAME_BYTES = 28  # struct sockaddr_in6
_MSG_DONTWAIT = 0x40
_HEADER = struct.Struct("=QI4xQQQQI4xI4x")  # struct mmsghdr, 64 bytes
_RESULT = struct.Struct("=8xI4x8x8x8xQI4xI4x")  # name length, control length, flags, length
_CMSG = struct.Struct("=QiiQQ")  # one cmsghdr holding a struct timespec
_CMSG_HEAD = struct.Struct("=Qii")
_ONE_TIMESTAMP = _CMSG.size
ONE_TIMESTAMP_BYTES = _ONE_TIMESTAMP  # control length of a message whose only cmsg is a timespec
_SLOT_CMSG = struct.Struct(_CMSG.format + f"{_CONTROL_BYTES - _CMSG.size}x")  # a control slot


class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def available() -> bool:
    return _libc() is not None and struct.calcsize("P") == 8


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.recvmmsg  # noqa: B018 (present on Linux with glibc 2.12+)
    except (OSError, AttributeError):
        return None
    return libc


class MessageReader:
    """recvmmsg over one socket: yields (data, control, name) of every queued message."""

    def __init__(self, sock: socket.socket, timestamp_kind: tuple[int, int]) -> None:
        libc = _libc()
        if libc is None:
            raise OSError("recvmmsg is not available")
        self._recvmmsg = libc.recvmmsg
        self._fd = sock.fileno()
        self._data = ctypes.create_string_buffer(BATCH * _SLOT_BYTES)
        self._control = ctypes.create_string_buffer(BATCH * _CONTROL_BYTES)
        self._names = ctypes.create_string_buffer(BATCH * _NAME_BYTES)
        self._iovecs = (Iovec * BATCH)()
        data, control, names = (ctypes.addressof(b) for b in (self._data, self._control, self._names))
        pristine = bytearray()
        for i in range(BATCH):
            self._iovecs[i].base = data + i * _SLOT_BYTES
            self._iovecs[i].length = _SLOT_BYTES
            iovec = ctypes.addressof(self._iovecs[i])
            pristine += _HEADER.pack(
                names + i * _NAME_BYTES, _NAME_BYTES, iovec, 1,
                control + i * _CONTROL_BYTES, _CONTROL_BYTES, 0, 0,
            )  # fmt: skip
        self._pristine = bytes(pristine)
        self._headers = ctypes.create_string_buffer(self._pristine, len(self._pristine))
        self._timestamp_kind = timestamp_kind
        self._data_view = memoryview(self._data).cast("B")
        self._control_view = memoryview(self._control).cast("B")
        self._name_view = memoryview(self._names).cast("B")
        self._header_view = memoryview(self._headers).cast("B")
        self._padded: dict[struct.Struct, struct.Struct] = {}

    def read(self) -> int:
        """Receive up to BATCH queued messages without waiting: how many; 0 when none is queued,
        -1 for any other error (a pending socket error is reported once, then cleared)."""
        ctypes.memmove(self._headers, self._pristine, len(self._pristine))
        count: int = self._recvmmsg(self._fd, self._headers, BATCH, _MSG_DONTWAIT, None)
        if count < 0:
            return 0 if ctypes.get_errno() in (errno.EAGAIN, errno.EINTR) else -1
        return count

    def messages(self, count: int) -> Iterator[tuple[int, bytes, int, list[tuple[int, int, bytes]]]]:
        """(i, data, kernel receive time in ns or 0, other control messages) per message read.

        The receive time is read here when it is the message's only control message (a raw
        IPv4 socket); otherwise the control messages come as recvmsg returns them.
        """
        data, control = self._data_view, self._control_view
        level, kind = self._timestamp_kind
        results = _RESULT.iter_unpack(self._header_view[: count * _HEADER.size])
        for i, (_name_length, control_length, _flags, length) in enumerate(results):
            start = i * _SLOT_BYTES
            base = i * _CONTROL_BYTES
            if control_length == _ONE_TIMESTAMP:
                _length, cmsg_level, cmsg_kind, seconds, nanoseconds = _CMSG.unpack_from(control, base)
                if (cmsg_level, cmsg_kind) == (level, kind):
                    yield i, bytes(data[start : start + length]), seconds * 1_000_000_000 + nanoseconds, []
                    continue
            yield (
                i,
                bytes(data[start : start + length]),
                0,
                _control_messages(control[base : base + control_length]),
            )

    def headers(self, count: int) -> Iterator[tuple[int, int, int, int]]:
        """(name length, control length, flags, length) of each message read."""
        return _RESULT.iter_unpack(self._header_view[: count * _HEADER.size])

    def leading_fields(
        self, count: int, layout: struct.Struct
    ) -> Iterator[tuple[tuple[Any, ...], tuple[int, int, int, int], tuple[int, int, int, int, int]]]:
        """Per message read, in C: (`layout` unpacked from the start of its data (whatever the
        slot held when the message is shorter), (name length, control length, flags, length),
        its first control message read as one holding a timespec: (length, level, type,
        seconds, nanoseconds)). The caller checks the lengths; message(i) reads any other."""
        padded = self._padded.get(layout)
        if padded is None:
            padded = self._padded[layout] = struct.Struct(layout.format + f"{_SLOT_BYTES - layout.size}x")
        return zip(
            padded.iter_unpack(self._data_view[: count * _SLOT_BYTES]),
            _RESULT.iter_unpack(self._header_view[: count * _HEADER.size]),
            _SLOT_CMSG.iter_unpack(self._control_view[: count * _CONTROL_BYTES]),
            strict=True,
        )

    def message(
        self, i: int, length: int, control_length: int
    ) -> tuple[bytes, int, list[tuple[int, int, bytes]]]:
        """Message `i` as messages() yields it: (data, receive time in ns or 0, control messages)."""
        start, base = i * _SLOT_BYTES, i * _CONTROL_BYTES
        data = bytes(self._data_view[start : start + length])
        if control_length == _ONE_TIMESTAMP:
            _length, level, kind, seconds, nanoseconds = _CMSG.unpack_from(self._control_view, base)
            if (level, kind) == self._timestamp_kind:
                return data, seconds * 1_000_000_000 + nanoseconds, []
        return data, 0, _control_messages(self._control_view[base : base + control_length])

    def sender(self, i: int) -> bytes:
        """The raw sockaddr message `i` came from."""
        start = i * _NAME_BYTES
        return bytes(self._name_view[start : start + _NAME_BYTES])


def _control_messages(blob: memoryview) -> list[tuple[int, int, bytes]]:
    """Control messages as recvmsg's ancillary data: (level, type, data)."""
    found = []
    offset = 0
    while offset + _CMSG_HEAD.size <= len(blob):
        length, level, kind = _CMSG_HEAD.unpack_from(blob, offset)
        if length < _CMSG_HEAD.size or offset + length > len(blob):
            break
        found.append((level, kind, bytes(blob[offset + _CMSG_HEAD.size : offset + length])))
        offset += (length + 7) & ~7  # CMSG_ALIGN
    return found

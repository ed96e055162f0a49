"""An ICMP sweep with a forked sender: one process sends, the other drains and books (I/O edge).

Theory of operation. On a fast sweep most of the time goes to `sendto`: the kernel does the
whole send path there, and on a veth lab it even answers inside our send (the target's side
runs in the sender's softirq). One core then cannot keep up with fping, which pays the same
kernel cost but little else. So the sweep forks: the child shares the ICMP socket and only
sends, paced by its copy of the Pacer and its copy of the SendSchedule; this process drains
the socket and builds results on the other core.

They share no memory. Packet indices are arithmetic (engine/icmp/schedule.py) and every request
carries its send time (engine/icmp/packets.py), so a reply needs nothing from the sender. The child
reports each batch over a pipe (engine/icmp/reports.py): when it was done (deadlines start then) and
(index, errno) of any send that failed (e.g. ENETUNREACH). This process polls the socket every
millisecond instead of sleeping in epoll on it: a sleeping reader makes the kernel wake it
for each reply, inside the sender's sendto, which cost the sender ≈ 10% on the bench.

fork, not spawn: a sweep lasts about a second and the child needs only what is already in
memory. The child never returns into the caller's event loop: it ends with os._exit. This
module does not import asyncio: Engine.prepare can start the sender before asyncio is loaded.
The receiving side is engine/icmp/driver.py's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import select
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from vantage.probe.engine.icmp.packets import EchoCodec
from vantage.probe.engine.icmp.reports import ReportReader, SentBatch, encode_batch, encode_done
from vantage.probe.engine.icmp.schedule import SendSchedule
from vantage.probe.engine.icmp.setup import SweepPlan, plan_sweep
from vantage.probe.engine.icmp.sockets import FORKED_RECEIVE_BUFFER_BYTES, IcmpSocket, set_receive_buffer
from vantage.probe.engine.model import MeasurementRequest
from vantage.probe.engine.pacing import Pacer

# The report pipe holds a few batches (a batch at 1M/s is 2,000 indices, 8 kB): the sender must
# not stall when this process is busy building results.
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # include/uapi/linux/fcntl.h (F_LINUX_SPECIFIC_BASE + 7)


class SenderDied(RuntimeError):
    """The forked sender exited without saying that it had sent everything."""


@dataclass
class SenderProcess:
    """The forked sender, as the receiving process sees it."""

    pid: int
    read_fd: int
    reader: ReportReader = field(default_factory=ReportReader)
    exit_status: int | None = None

    def read_reports(self) -> list[SentBatch]:
        """Every batch reported since the last call (never blocks)."""
        batches: list[SentBatch] = []
        while not self.reader.done:
            try:
                data = os.read(self.read_fd, _PIPE_BYTES)
            except BlockingIOError:
                break
            if not data:  # end of file before the "done" report
                self._reap()
                raise SenderDied(f"the ICMP sender process exited early (status {self.exit_status})")
            batches.extend(self.reader.feed(data))
        return batches

    def _reap(self) -> None:
        if self.exit_status is None:
            _, status = os.waitpid(self.pid, 0)
            self.exit_status = os.waitstatus_to_exitcode(status)

    def stop(self) -> None:
        """Reap the child (killing it first unless it said it was done); close the pipe."""
        if self.exit_status is None:
            if not self.reader.done:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1


@dataclass(frozen=True, slots=True)
class ForkedSweep:
    """A sweep whose sender already runs: what the receiving side needs to book it."""

    plan: SweepPlan
    sender: SenderProcess


def start_forked_sweep(
    icmp_socket: IcmpSocket, requests: Sequence[MeasurementRequest], pacer: Pacer, rng: random.Random
) -> ForkedSweep:
    plan = plan_sweep(icmp_socket, requests, rng)
    set_receive_buffer(icmp_socket.sock, FORKED_RECEIVE_BUFFER_BYTES)
    return ForkedSweep(plan, start_sender(icmp_socket, plan.codec, plan.addresses, plan.schedule, pacer))


def start_sender(
    icmp_socket: IcmpSocket, codec: EchoCodec, addresses: Sequence[str], schedule: SendSchedule, pacer: Pacer
) -> SenderProcess:
    read_fd, write_fd = os.pipe()
    # Above /proc/sys/fs/pipe-max-size an unprivileged user keeps 64 kB: slower, still right.
    with contextlib.suppress(OSError):
        fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            os.close(read_fd)
            _become_sender()
            _send_all(icmp_socket, codec, addresses, schedule, pacer, write_fd)
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    return SenderProcess(pid, read_fd)


def _become_sender() -> None:
    # The parent's asyncio signal set-up must not run here: Ctrl-C simply ends the child (the
    # parent gets its own KeyboardInterrupt and reaps it). No garbage collection: the child
    # allocates little, and a collection would touch (and copy) the parent's pages.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    import gc

    gc.disable()


def _send_all(
    icmp_socket: IcmpSocket,
    codec: EchoCodec,
    addresses: Sequence[str],
    schedule: SendSchedule,
    pacer: Pacer,
    report_fd: int,
) -> None:
    sock = icmp_socket.sock
    pack, sendto, clock, monotonic = codec.packer(), sock.sendto, time.time_ns, time.monotonic_ns
    targets, v6 = len(addresses), icmp_socket.family == 6
    while not schedule.done:
        now_ns = clock()
        due = schedule.next_due_ns()
        if due is None:
            break
        if due > now_ns:
            time.sleep((due - now_ns) / 1e9)
            continue
        granted = pacer.take(monotonic(), 1 << 30)
        if not granted:
            time.sleep(max(0, pacer.next_token_ns() - monotonic()) / 1e9)
            continue
        batch = schedule.pop_due(now_ns, granted)
        pacer.give_back(granted - len(batch))
        failures: list[tuple[int, int]] = []
        for index in batch:
            address = addresses[index % targets]
            # Raw and ICMP datagram sockets ignore the port; it must still be present.
            sockaddr = (address, 0, 0, 0) if v6 else (address, 0)
            retried = False
            while True:
                try:
                    sendto(pack(index, clock()), sockaddr)
                    break
                except BlockingIOError:
                    # The send buffer is full. The socket is non-blocking for both processes
                    # (one open file): wait for room rather than change that.
                    select.select([], [sock], [], 0.1)
                except InterruptedError:
                    pass
                except OSError as exc:
                    if retried:
                        failures.append((index, exc.errno or 0))
                        break
                    # A datagram socket fails the next send with an ICMP error that came for an
                    # earlier packet (already on the error queue for the reader): once more.
                    retried = True
        _write_all(report_fd, encode_batch(clock(), batch, failures))
    _write_all(report_fd, encode_done())


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]

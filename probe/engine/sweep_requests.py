"""IcmpSweep: the requests of one ICMP sweep, built only when read (pure).

A sweep of a /16 is 65,534 requests that differ only in address and key. Built up front they
cost ≈ 80 ms before the first packet can leave (a third of fping's whole sweep); as this
sequence they cost nothing until a result needs its request. The engine recognises it and
takes the addresses and the one options object as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from vantage.probe.engine.model import IcmpOptions, MeasurementRequest, fast_builder, ip_version

# Requests are validated once for all (the options) and per address in __init__.
_request = fast_builder(MeasurementRequest, validated_by_caller=True)


class IcmpSweep(Sequence[MeasurementRequest]):
    """Requests to ping every address of `addresses` (one family) with `options`.

    Request i has key str(first_key + i), no name and no target id. `from_prefix`: the caller
    generated the addresses from a parsed prefix, so they are valid by construction and the
    per-address check (≈ 0.7 µs each, a regular expression) is skipped.
    """

    __slots__ = ("addresses", "family", "first_key", "options")

    def __init__(
        self, addresses: Sequence[str], options: IcmpOptions, first_key: int = 0, from_prefix: bool = False
    ) -> None:
        self.addresses = addresses
        self.options = options
        self.first_key = first_key
        self.family = 6 if addresses and ":" in addresses[0] else 4
        if not addresses:
            return
        MeasurementRequest(str(first_key), addresses[0], options)  # validates the options
        if from_prefix:
            return
        for address in addresses:
            if ip_version(address) != self.family:
                raise ValueError(f"{address!r}: a sweep holds addresses of one family")

    def __len__(self) -> int:
        return len(self.addresses)

    @overload
    def __getitem__(self, index: int) -> MeasurementRequest: ...

    @overload
    def __getitem__(self, index: slice) -> list[MeasurementRequest]: ...

    def __getitem__(self, index: int | slice) -> MeasurementRequest | list[MeasurementRequest]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.addresses)))]
        address = self.addresses[index]  # IndexError past the end, as a list would
        if index < 0:
            index += len(self.addresses)
        return _request(str(self.first_key + index), address, self.options, "", "")

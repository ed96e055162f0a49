"""Which addresses of the lab's host blocks answer ICMP echo, and when: planned once, from a seed.

Theory of operation. Every address of an AS's host blocks exists in its hosts
namespace (lab/netns.py makes each block local there), so without a plan the
kernel would answer them all. The plan picks, with the `random.Random` it is
given (seeded from the topology's `seed`, so a topology file always gives the
same hosts):

* `dark_blocks` of the AS's blocks, where nothing answers;
* in every other block, `responders_per_block` addresses out of .1-.254, of
  which `flapping_per_block` flap: each gets an 8-period pattern of on and off
  (at least one of each), and answers in period p only when bit p mod 8 is
  set. A period lasts the topology's `flap_seconds`.

Real address space looks like this: most of a /24 is silent, whole blocks
are unused, and some hosts come and go (ISI's census data; Heidemann et al.,
"Census and Survey of the Visible Internet", IMC 2008). The plan is data; the
netns adapter loads the responders of the current period into an nftables
set, and the kernel drops echo requests to everyone else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from vantage.lab.topology import RESPONDER_OCTETS, Topology

_Item = TypeVar("_Item")


class RandomSource(Protocol):
    """What the plan draws from: a seeded `random.Random`, made by the caller (no randomness here)."""

    def sample(self, population: Sequence[_Item], k: int) -> list[_Item]: ...

    def getrandbits(self, k: int, /) -> int: ...

    def randrange(self, stop: int, /) -> int: ...


FLAP_PATTERN_PERIODS = 8
ALL_ON = (1 << FLAP_PATTERN_PERIODS) - 1


@dataclass(frozen=True, slots=True)
class Flapper:
    address: str
    pattern: int  # bit (period mod FLAP_PATTERN_PERIODS) set: answers in that period

    def answers_in(self, period: int) -> bool:
        return bool(self.pattern >> (period % FLAP_PATTERN_PERIODS) & 1)


@dataclass(frozen=True, slots=True)
class BlockPlan:
    asn: int
    block: str  # a /24, e.g. "198.18.5.0/24"
    steady: tuple[str, ...]  # always answer
    flapping: tuple[Flapper, ...]  # answer in some periods only

    @property
    def dark(self) -> bool:
        return not self.steady and not self.flapping

    def responders_in(self, period: int) -> frozenset[str]:
        return frozenset(self.steady) | {f.address for f in self.flapping if f.answers_in(period)}

    @property
    def ever_responding(self) -> frozenset[str]:
        return frozenset(self.steady) | {f.address for f in self.flapping}


@dataclass(frozen=True, slots=True)
class ResponderPlan:
    blocks: tuple[BlockPlan, ...]
    flap_seconds: int

    def of(self, asn: int) -> tuple[BlockPlan, ...]:
        return tuple(block for block in self.blocks if block.asn == asn)

    def responders_in(self, asn: int, period: int) -> frozenset[str]:
        """Every address of `asn`'s host blocks that answers during flap period `period`."""
        answering: set[str] = set()
        for block in self.of(asn):
            answering |= block.responders_in(period)
        return frozenset(answering)

    def period_at(self, elapsed_s: float) -> int:
        """The flap period `elapsed_s` seconds after the plan was put in force."""
        return int(elapsed_s // self.flap_seconds)


def plan_responders(topology: Topology, rng: RandomSource) -> ResponderPlan:
    """The plan for every AS of `topology`, drawn from `rng` in topology order (deterministic)."""
    blocks: list[BlockPlan] = []
    for autonomous_system in topology.ases:
        space = autonomous_system.space
        dark = set(rng.sample(range(len(space.blocks)), space.dark_blocks))
        for index, block in enumerate(space.blocks):
            if index in dark or space.responders_per_block == 0:
                blocks.append(BlockPlan(autonomous_system.asn, block, (), ()))
                continue
            base = int(ipaddress.IPv4Network(block).network_address)
            octets = rng.sample(RESPONDER_OCTETS, space.responders_per_block)
            addresses = [str(ipaddress.IPv4Address(base + octet)) for octet in octets]
            flapping = addresses[: space.flapping_per_block]
            steady = addresses[space.flapping_per_block :]
            blocks.append(
                BlockPlan(
                    autonomous_system.asn,
                    block,
                    steady=tuple(sorted(steady, key=ipaddress.IPv4Address)),
                    flapping=tuple(
                        Flapper(address, _flap_pattern(rng))
                        for address in sorted(flapping, key=ipaddress.IPv4Address)
                    ),
                )
            )
    return ResponderPlan(tuple(blocks), topology.flap_seconds)


def _flap_pattern(rng: RandomSource) -> int:
    """8 random periods of on/off, never all on or all off (that would not be flapping)."""
    pattern = rng.getrandbits(FLAP_PATTERN_PERIODS)
    if pattern == 0:
        pattern = 1 << rng.randrange(FLAP_PATTERN_PERIODS)
    elif pattern == ALL_ON:
        pattern &= ~(1 << rng.randrange(FLAP_PATTERN_PERIODS))
    return pattern


# -- the hosts namespace's nftables table (text only; lab/netns.py loads it) ---------------------

SPACE_TABLE = "vlab_space"
RESPONDERS_SET = "responders"
REQUESTS_SET = "echo_requests"  # one counter per address that received an echo request
REPLIES_SET = "echo_replies"  # one counter per address that sent an echo reply
# A dynamic set's size bound; a /16 of host blocks fits.
COUNTED_ADDRESSES_MAX = 65536


def block_counter_name(block: str) -> str:
    """The named nftables counter of echo requests to one /24 ("b198_18_5_0")."""
    return "b" + str(ipaddress.IPv4Network(block).network_address).replace(".", "_")


def space_ruleset(blocks: tuple[str, ...], responders: frozenset[str]) -> str:
    """The hosts namespace's table: counts echo requests and replies, drops all traffic to non-responders.

    Counting comes first (per address in a dynamic set with a counter per
    element, per block in named counters), so the kernel's figures include
    the requests it then drops. Everything addressed to a host block but not
    to a current responder is dropped, not only ICMP: an absent host answers
    nothing.
    """
    block_elements = ", ".join(blocks)
    lines = [
        f"table ip {SPACE_TABLE}",
        f"delete table ip {SPACE_TABLE}",
        f"table ip {SPACE_TABLE} {{",
        f"  set host_blocks {{ type ipv4_addr; flags interval; elements = {{ {block_elements} }}; }}",
        f"  set {RESPONDERS_SET} {{ type ipv4_addr; }}",
        f"  set {REQUESTS_SET} {{ type ipv4_addr; size {COUNTED_ADDRESSES_MAX}; flags dynamic; counter; }}",
        f"  set {REPLIES_SET} {{ type ipv4_addr; size {COUNTED_ADDRESSES_MAX}; flags dynamic; counter; }}",
        *(f"  counter {block_counter_name(block)} {{ }}" for block in blocks),
        "  chain input {",
        "    type filter hook input priority filter; policy accept;",
        f"    icmp type echo-request ip daddr @host_blocks update @{REQUESTS_SET} {{ ip daddr }}",
        *(
            f'    icmp type echo-request ip daddr {block} counter name "{block_counter_name(block)}"'
            for block in blocks
        ),
        f"    ip daddr @host_blocks ip daddr != @{RESPONDERS_SET} drop",
        "  }",
        "  chain output {",
        "    type filter hook output priority filter; policy accept;",
        f"    icmp type echo-reply ip saddr @host_blocks update @{REPLIES_SET} {{ ip saddr }}",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n" + responders_update(responders)


def responders_update(responders: frozenset[str]) -> str:
    """An nft script replacing the responders set in one transaction (no moment with an empty set)."""
    lines = [f"flush set ip {SPACE_TABLE} {RESPONDERS_SET}"]
    if responders:
        elements = ", ".join(sorted(responders, key=ipaddress.IPv4Address))
        lines.append(f"add element ip {SPACE_TABLE} {RESPONDERS_SET} {{ {elements} }}")
    return "\n".join(lines) + "\n"

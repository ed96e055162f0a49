"""Local safety caps the collector cannot override (pure).

A probe runs on a volunteer's network. A compromised or buggy collector must not
be able to turn it into a scanner of that home network or a traffic cannon, so
the probe checks every task against caps that only the volunteer sets:

* address ranges: by default every special-purpose range (private, loopback,
  link-local, CGNAT, multicast, benchmarking, documentation, reserved; IPv4 and
  IPv6, from the IANA special-purpose address registries) is refused, and only
  explicit `--allow-range CIDR` entries open a range again (the lab opens its
  own 198.18.0.0/15 addresses that way);
* rate and concurrency: handed to the engine as hard limits; the work plan
  carries no rate at all, so nothing the collector sends can raise them;
* what one task may ask: at most `max_icmp_count` echoes, `max_timeout_ms` of
  waiting, `max_interval_ms` between echoes, and bounded URL, name and
  expectation sizes (`check_task_bounds`). A task over a bound is refused
  alone; the rest of the round runs.

A refused task is not skipped: the runner turns it into a measurement with
outcome REFUSED_BY_POLICY and uploads it, so the collector sees why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from vantage.probe.daemon.plan import PlannedTask

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# (range, why it is refused). Sources: IANA IPv4 and IPv6 Special-Purpose Address
# Registries (RFC 6890 and updates), plus multicast (RFC 5771, RFC 4291) and
# 240.0.0.0/4 "reserved for future use" (RFC 1112).
DEFAULT_REFUSED_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this-network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "cgnat"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "ietf-protocol-assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.31.196.0/24", "as112"),
    ("192.52.193.0/24", "amt"),
    ("192.88.99.0/24", "6to4-relay"),
    ("192.168.0.0/16", "private"),
    ("192.175.48.0/24", "as112"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "nat64-local"),
    ("100::/64", "discard-only"),
    ("2001::/23", "ietf-protocol-assignments"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "srv6-sids"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)

# Where a volunteer's defaults come from: RIPE Atlas probes send a few packets per
# second on average; 100/s keeps a probe polite on a home uplink yet completes a
# 10,000-target round (ICMP, 1 packet each) in under two minutes.
DEFAULT_MAX_RATE_PER_S = 100.0
# Bounds open sockets/file descriptors; far below the usual 1024 fd limit.
DEFAULT_MAX_CONCURRENCY = 256
# A plan larger than this is cut (logged and counted): 5x the 10,000-target plan
# whose footprint bench/probe_footprint.py measures, so memory stays bounded
# whatever a collector sends.
DEFAULT_MAX_TASKS_PER_ROUND = 50_000
# What one task may ask. RIPE Atlas's ping takes 1-16 packets; its timeouts are at most a
# minute (https://atlas.ripe.net/docs/apis/rest-api-manual/measurements/types/). A task
# over a bound is refused with the bound named: a collector cannot make a probe send
# 2e7 echoes or wait 4e9 ms (issue 19).
DEFAULT_MAX_ICMP_COUNT = 16
DEFAULT_MAX_TIMEOUT_MS = 60_000
DEFAULT_MAX_INTERVAL_MS = 10_000
MAX_TASK_URL_CHARS = 2048
MAX_TASK_NAME_CHARS = 255  # a DNS name's limit
MAX_TASK_EXPECTED = 64  # expected DNS answers per task
# Refusal reason (a metric label) of a task over one of these bounds.
OVER_TASK_BOUND = "over-task-bound"


@dataclass(frozen=True, slots=True)
class SafetyPolicy:
    """The caps a volunteer sets; the collector has no say."""

    max_rate_per_s: float = DEFAULT_MAX_RATE_PER_S
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_tasks_per_round: int = DEFAULT_MAX_TASKS_PER_ROUND
    allowed_ranges: tuple[IpNetwork, ...] = ()
    refused_ranges: tuple[tuple[IpNetwork, str], ...] = ()
    max_icmp_count: int = DEFAULT_MAX_ICMP_COUNT
    max_timeout_ms: int = DEFAULT_MAX_TIMEOUT_MS
    max_interval_ms: int = DEFAULT_MAX_INTERVAL_MS

    def __post_init__(self) -> None:
        if not self.max_rate_per_s > 0:
            raise ValueError(f"max rate must be positive, got {self.max_rate_per_s}")
        if self.max_concurrency < 1:
            raise ValueError(f"max concurrency must be at least 1, got {self.max_concurrency}")
        if self.max_tasks_per_round < 1:
            raise ValueError(f"max tasks per round must be at least 1, got {self.max_tasks_per_round}")
        for name in ("max_icmp_count", "max_timeout_ms", "max_interval_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a target was refused; `detail` goes into the reported failure."""

    address: str
    reason: str
    refused_range: str
    message: str = ""  # when set, the whole detail (a refusal that is not about a range)

    @property
    def detail(self) -> str:
        if self.message:
            return self.message
        return f"{self.address} is in {self.refused_range} ({self.reason}); open it with --allow-range"


def parse_range(text: str) -> IpNetwork:
    """A CIDR as given by a volunteer; host bits set is an error, not a surprise."""
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"invalid address range {text!r}: {exc}") from None


def build_policy(
    *,
    max_rate_per_s: float = DEFAULT_MAX_RATE_PER_S,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    max_tasks_per_round: int = DEFAULT_MAX_TASKS_PER_ROUND,
    allow_ranges: Iterable[str] = (),
    max_icmp_count: int = DEFAULT_MAX_ICMP_COUNT,
    max_timeout_ms: int = DEFAULT_MAX_TIMEOUT_MS,
    max_interval_ms: int = DEFAULT_MAX_INTERVAL_MS,
) -> SafetyPolicy:
    refused = tuple((ipaddress.ip_network(cidr), reason) for cidr, reason in DEFAULT_REFUSED_RANGES)
    return SafetyPolicy(
        max_rate_per_s=max_rate_per_s,
        max_concurrency=max_concurrency,
        max_tasks_per_round=max_tasks_per_round,
        allowed_ranges=tuple(parse_range(text) for text in allow_ranges),
        refused_ranges=refused,
        max_icmp_count=max_icmp_count,
        max_timeout_ms=max_timeout_ms,
        max_interval_ms=max_interval_ms,
    )


def _unwrap(address: IpAddress) -> IpAddress:
    # An IPv4-mapped or NAT64-embedded IPv4 address reaches the IPv4 host; judge that.
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64_WELL_KNOWN:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# The refusal reason for text that is not an IP address (a host name, or garbage).
NOT_AN_ADDRESS = "not-an-ip-address"


def check_address(text: str, policy: SafetyPolicy) -> Refusal | None:
    """None when the probe may send to `text`; otherwise why not.

    An explicitly allowed range wins over the refused ranges (that is its purpose);
    an unparsable address is refused rather than guessed at.
    """
    try:
        parsed: IpAddress = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return Refusal(address=text, reason=NOT_AN_ADDRESS, refused_range="-")
    candidates = {parsed, _unwrap(parsed)}
    for candidate in candidates:
        if any(
            candidate in allowed for allowed in policy.allowed_ranges if allowed.version == candidate.version
        ):
            return None
    for candidate in candidates:
        for network, reason in policy.refused_ranges:
            if network.version == candidate.version and candidate in network:
                return Refusal(address=str(parsed), reason=reason, refused_range=str(network))
    return None


def address_guard(policy: SafetyPolicy) -> Callable[[str], str | None]:
    """The policy as the engine's address guard (EngineLimits.address_guard): for every address
    the engine meets that the daemon could not check beforehand (an HTTP task's resolved host, a
    redirect's host), None when allowed, else why not."""

    def guard(address: str) -> str | None:
        refusal = check_address(address, policy)
        return None if refusal is None else refusal.detail

    return guard


def check_addresses(addresses: Sequence[str], policy: SafetyPolicy) -> Refusal | None:
    """A name that resolves to several addresses is refused if any one is refused.

    Any-refused (not all-refused) because the engine may pick any of them, and a
    hostile DNS answer mixing one public and one private address must not pass.
    """
    for address in addresses:
        refusal = check_address(address, policy)
        if refusal is not None:
            return refusal
    return None


def check_task_bounds(task: PlannedTask, policy: SafetyPolicy) -> Refusal | None:
    """None when the task asks no more than the volunteer's bounds allow, else the first bound
    it exceeds (named, with the value asked and the flag that raises it)."""
    options, target = task.options, task.target
    numbers = (
        ("count", options.count, policy.max_icmp_count, "--max-icmp-count"),
        ("timeout_ms", options.timeout_ms, policy.max_timeout_ms, "--max-timeout-ms"),
        ("interval_ms", options.interval_ms, policy.max_interval_ms, "--max-interval-ms"),
    )
    for name, asked, bound, flag in numbers:
        if asked > bound:
            return _over_bound(task, f"options.{name} {asked} is over {bound} ({flag})")
    sizes = (
        ("options.url", len(options.url), MAX_TASK_URL_CHARS),
        ("target.url", len(target.url), MAX_TASK_URL_CHARS),
        ("target.name", len(target.name), MAX_TASK_NAME_CHARS),
        ("options.query_name", len(options.query_name), MAX_TASK_NAME_CHARS),
        ("options.expected", len(options.expected), MAX_TASK_EXPECTED),
    )
    for name, size, bound in sizes:
        if size > bound:
            return _over_bound(task, f"{name} has {size} entries or characters, over {bound}")
    return None


def _over_bound(task: PlannedTask, why: str) -> Refusal:
    return Refusal(
        address=task.target.address,
        reason=OVER_TASK_BOUND,
        refused_range="-",
        message=f"task {task.id[:64]}: {why}",
    )


def cap_plan(task_count: int, policy: SafetyPolicy) -> int:
    """How many of a plan's tasks the probe takes on (the first ones, in plan order)."""
    return min(task_count, policy.max_tasks_per_round)


def required_rate_per_s(packets_per_round: int, round_length_s: float) -> float:
    """Packets or requests per second needed to finish a round's work inside the round."""
    if round_length_s <= 0:
        return float("inf") if packets_per_round else 0.0
    return packets_per_round / round_length_s


def rate_saturation(packets_per_round: int, round_length_s: float, policy: SafetyPolicy) -> float:
    """Share of the rate cap a round needs; above 1.0 the round cannot finish in time."""
    return required_rate_per_s(packets_per_round, round_length_s) / policy.max_rate_per_s

"""Fusion of the routing signal with the probes: which mechanism a verdict shows, and why.

Theory of operation
-------------------
The probes decide whether an AS is cut off; the routing table (collector/bgp/model.py's
`AsRouting`, one per AS per round) says how. The rules, in order:

* Routing alone never makes a verdict. An AS whose probes get answers stays UP whatever the
  routes say (a hijack-like re-announcement, a collector's own trouble, a feed still loading):
  the disagreement is written into the reason, and the mechanism stays NONE.
* DOWN (corroborated by the probes) is `bgp_withdrawal` when the routes are WITHDRAWN or PARTIAL,
  `data_plane` (blackholing or firewalling) only when the routing says VISIBLE, and `unknown`
  when there is no routing signal (no feed, a feed that is down, no baseline yet): probes alone
  cannot tell a withdrawal from a data-plane drop, and we do not guess. A withdrawal halves the
  DOWN's doubt (`routing_agreement_doubt`): two independent witnesses agree.
* Probes fail from too few vantage points to corroborate a DOWN (the verdict would be UNKNOWN)
  and the routes are WITHDRAWN: the routing table is the second witness, the AS is DOWN with
  `routing_corroborated_confidence`. Without failing probes it stays UNKNOWN, its mechanism
  `bgp_withdrawal`: the routes are gone, a person should look, but nothing is called DOWN.
* DEGRADED is `throttling` (loss/RTT far above the baseline) or `partial` (part of the targets
  or paths fail); FILTERED is `service_blocking`, with the layer where most of the filtered
  targets show interference (DNS, TCP, TLS, HTTP; collector/verdict/interference.py).

A country's mechanism is the one carrying at least `country_mechanism_share` of its affected
weight (the national cut of Kazakhstan 2022 is `bgp_withdrawal` when most of its affected ASes
lost their routes); below that the mechanisms are mixed and the country's is `unknown`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from vantage import failures as f
from vantage.collector.bgp.model import AsRouting, RoutingState
from vantage.collector.verdict.classify import DNS_INCONSISTENT, HTTP_DIFF
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.interference import Interference
from vantage.collector.verdict.model import (
    LAYER_NAMES,
    MECHANISM_NAMES,
    FilteredTarget,
    Layer,
    Mechanism,
    Status,
)
from vantage.collector.verdict.reachability import REASON_THROTTLED, Reachability
from vantage.kinds import Protocol

__all__ = [
    "LAYER_NAMES",
    "MECHANISM_NAMES",
    "Fusion",
    "country_mechanism",
    "fuse",
    "layer_of",
    "routing_sentence",
]

_GONE = (RoutingState.WITHDRAWN, RoutingState.PARTIAL)


class Fusion(NamedTuple):
    status: Status
    confidence: float
    mechanism: Mechanism
    layer: Layer
    reason: str


def routing_sentence(asn: int, routing: AsRouting) -> str:
    """E.g. "routes withdrawn: 0/12 prefixes of AS29355 visible from 18 full-feed peers (baseline 12)"."""
    word = {
        RoutingState.VISIBLE: "routes visible",
        RoutingState.PARTIAL: "routes partly withdrawn",
        RoutingState.WITHDRAWN: "routes withdrawn",
        RoutingState.UNKNOWN: "routing unknown",
    }[routing.state]
    if routing.state is RoutingState.UNKNOWN:
        return f"{word} for AS{asn}" + (f" ({routing.reason})" if routing.reason else "")
    peers = routing.full_feed_peers
    share = routing.visible_fraction
    space = f", {share:.0%} of the address space" if share is not None else ""
    contested = (
        f"; {routing.contested_prefixes} also originated by another AS (hijack-like)"
        if routing.contested_prefixes
        else ""
    )
    return (
        f"{word}: {routing.visible_prefixes}/{routing.baseline_prefixes} prefixes of AS{asn} visible "
        f"from {peers} full-feed peer{'s' if peers != 1 else ''} (baseline {routing.baseline_prefixes}"
        f"{space}){contested}"
    )


def fuse(
    asn: int,
    status: Status,
    confidence: float,
    r: Reachability | None,
    i: Interference | None,
    routing: AsRouting | None,
    config: VerdictConfig,
) -> Fusion:
    """The verdict's status, confidence and mechanism once the routing signal is heard."""
    state = routing.state if routing is not None else RoutingState.UNKNOWN
    heard = routing_sentence(asn, routing) if routing is not None else ""
    if status is Status.UP:
        if state in _GONE:
            return Fusion(
                status,
                confidence,
                Mechanism.NONE,
                Layer.UNSPECIFIED,
                f"probes get answers although {heard}: the routing signal disagrees "
                "(a re-announcement elsewhere or the route collectors' view), the AS stays UP",
            )
        return Fusion(status, confidence, Mechanism.NONE, Layer.UNSPECIFIED, "")
    if status is Status.DOWN:
        if state in _GONE:
            doubt = (1.0 - confidence) * config.routing_agreement_doubt
            return Fusion(
                status,
                round(1.0 - doubt, 6),
                Mechanism.BGP_WITHDRAWAL,
                Layer.UNSPECIFIED,
                f"probes fail and {heard}",
            )
        if state is RoutingState.VISIBLE and routing is not None and routing.contested_prefixes:
            # Another origin for the same prefix: traffic may go to it (a hijack or a leak) while
            # nothing is withdrawn and nothing is dropped on the owner's path: neither mechanism.
            return Fusion(
                status,
                confidence,
                Mechanism.UNKNOWN,
                Layer.UNSPECIFIED,
                f"probes fail while {heard}: traffic may be drawn to the other origin",
            )
        if state is RoutingState.VISIBLE:
            return Fusion(
                status,
                confidence,
                Mechanism.DATA_PLANE,
                Layer.UNSPECIFIED,
                f"probes fail while {heard}: traffic is dropped with the routes intact "
                "(blackholing or firewalling)",
            )
        return Fusion(
            status,
            confidence,
            Mechanism.UNKNOWN,
            Layer.UNSPECIFIED,
            "probes fail; "
            + (heard if routing is not None else "no routing signal")
            + ": a route withdrawal cannot be told from a data-plane drop",
        )
    if status is Status.DEGRADED:
        throttled = r is not None and r.reason == REASON_THROTTLED
        mechanism = Mechanism.THROTTLING if throttled else Mechanism.PARTIAL
        what = "loss or delay far above the baseline" if throttled else "part of the targets or paths fail"
        return Fusion(
            status, confidence, mechanism, Layer.UNSPECIFIED, what + (f"; {heard}" if heard else "")
        )
    if status is Status.FILTERED:
        layer = layer_of(i.filtered_targets if i is not None else ())
        at = f" at the {LAYER_NAMES[layer].upper()} layer" if layer is not Layer.UNSPECIFIED else ""
        return Fusion(
            status,
            confidence,
            Mechanism.SERVICE_BLOCKING,
            layer,
            f"reachable from outside, interference inside{at}" + (f"; {heard}" if heard else ""),
        )
    # UNKNOWN: the probes could not decide.
    if state is RoutingState.WITHDRAWN:
        if r is not None and r.down_votes >= 1 and r.up_votes == 0:
            return Fusion(
                Status.DOWN,
                config.routing_corroborated_confidence,
                Mechanism.BGP_WITHDRAWAL,
                Layer.UNSPECIFIED,
                f"probes fail from {r.down_votes} vantage point{'s' if r.down_votes != 1 else ''} "
                f"only and {heard}: the routing table corroborates the outage",
            )
        return Fusion(
            status,
            confidence,
            Mechanism.BGP_WITHDRAWAL,
            Layer.UNSPECIFIED,
            f"{heard}, but the probes have no evidence this round: not called DOWN on routing alone",
        )
    return Fusion(status, confidence, Mechanism.NONE, Layer.UNSPECIFIED, heard)


def layer_of(targets: Iterable[FilteredTarget]) -> Layer:
    """The layer most filtered targets show interference at (ties: the lowest layer)."""
    counts = Counter(_layer(t.protocol, t.failure) for t in targets)
    counts.pop(Layer.UNSPECIFIED, None)
    if not counts:
        return Layer.UNSPECIFIED
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


_TLS_FAILURES = frozenset(
    {f.SSL_INVALID_HOSTNAME, f.SSL_UNKNOWN_AUTHORITY, f.SSL_INVALID_CERTIFICATE, f.SSL_FAILED_HANDSHAKE}
)
_HTTP_FAILURES = frozenset({f.HTTP_INVALID_RESPONSE, f.HTTP_TOO_MANY_REDIRECTS, HTTP_DIFF})


def _layer(protocol: Protocol, failure: str) -> Layer:
    if protocol == Protocol.DNS or failure == DNS_INCONSISTENT or failure.startswith("dns_"):
        return Layer.DNS
    if failure in _TLS_FAILURES:
        return Layer.TLS
    if failure in _HTTP_FAILURES:
        return Layer.HTTP
    if protocol in (Protocol.TCP, Protocol.HTTP):
        return Layer.TCP  # resets, refusals, silences on a connection
    return Layer.UNSPECIFIED  # ICMP: below the layers a service is blocked at


def country_mechanism(
    affected: Iterable[tuple[Mechanism, Layer, int]], config: VerdictConfig
) -> tuple[Mechanism, Layer, str]:
    """The country's mechanism from its affected ASes' (mechanism, layer, weight)."""
    by_mechanism: Counter[Mechanism] = Counter()
    by_layer: Counter[Layer] = Counter()
    for mechanism, layer, weight in affected:
        if mechanism is Mechanism.NONE:
            continue
        by_mechanism[mechanism] += max(weight, 1)
        if layer is not Layer.UNSPECIFIED:
            by_layer[layer] += max(weight, 1)
    total = sum(by_mechanism.values())
    if not total:
        return Mechanism.NONE, Layer.UNSPECIFIED, ""
    mechanism, weight = min(by_mechanism.items(), key=lambda item: (-item[1], item[0]))
    share = weight / total
    if share < config.country_mechanism_share:
        ranked = sorted(by_mechanism.items(), key=lambda item: (-item[1], item[0]))
        mix = ", ".join(f"{MECHANISM_NAMES[m]} {w / total:.0%}" for m, w in ranked)
        return Mechanism.UNKNOWN, Layer.UNSPECIFIED, f"mixed mechanisms over the affected ASes: {mix}"
    layer = Layer.UNSPECIFIED
    if mechanism is Mechanism.SERVICE_BLOCKING and by_layer:
        layer = min(by_layer.items(), key=lambda item: (-item[1], item[0]))[0]
    return mechanism, layer, f"{MECHANISM_NAMES[mechanism]} in {share:.0%} (weighted) of the affected ASes"

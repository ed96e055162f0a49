"""`vantage probe measure {icmp|dns|http|tcp|traceroute}`: one-off measurements, like ping, dig,
curl -w and traceroute.

Registered by vantage.probe.cli through `register_measure`. Parsing the command line into
MeasurementRequests happens here (the only place that reads files or /etc/resolv.conf);
measuring is the Engine's job, printing measure_output's.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Sequence

from vantage.cliutil import UsageError

# A sweep given as a prefix expands to at most a /12 (IPv4) of addresses: large enough for any
# lab or benchmark, small enough that a typo (/2) cannot start a sweep of the Internet.
MAX_PREFIX_ADDRESSES = 1 << 20
# Same polite default as the engine (DEFAULT_MAX_RATE_PER_S): 100 packets or requests per second.
DEFAULT_RATE_PER_S = 100.0
DEFAULT_CONCURRENCY = 256

MEASURE_DESCRIPTION = """\
Measure targets once and print the results: ICMP echo (like ping/fping), a DNS
query (like dig), an HTTP(S) GET with per-phase timings (like curl -w), or a TCP
connect. Many targets are measured at once under one global rate cap (--rate,
default 100 packets or requests per second).

Output: a table by default; --json prints one JSON object per measurement (the
vantage.v1.Measurement in protobuf's JSON mapping); --format atlas prints RIPE
Atlas results (ping, dns, http and traceroute, the kinds Atlas has). Exit status 0 when every
measurement succeeded, 1 when any failed or mismatched, 2 for invalid arguments.
"""

EXAMPLES = {
    "icmp": """\
examples:
  vantage probe measure icmp 192.0.2.1 2001:db8::1 --count 5 --interval 200
  vantage probe measure icmp 198.51.100.0/24 --count 1 --rate 2000 --json
  vantage probe measure icmp --targets-file targets.txt --timeout 500
""",
    "dns": """\
examples:
  vantage probe measure dns www.example.org --server 192.0.2.53 --type AAAA
  vantage probe measure dns www.example.org --server 192.0.2.53 --expect 203.0.113.10
  vantage probe measure dns . --server 2001:db8::53 --type SOA --tcp
""",
    "http": """\
examples:
  vantage probe measure http https://www.example.org/
  vantage probe measure http https://www.example.org/ --resolve www.example.org:192.0.2.80
  vantage probe measure http https://192.0.2.80/ --insecure --json
""",
    "tcp": """\
examples:
  vantage probe measure tcp 192.0.2.80:443 [2001:db8::80]:80
  vantage probe measure tcp 192.0.2.80 198.51.100.7 --port 22
""",
    "traceroute": """\
examples:
  vantage probe measure traceroute 192.0.2.1
  vantage probe measure traceroute 192.0.2.80 --protocol tcp --port 443 --json
  vantage probe measure traceroute 198.51.100.7 --protocol udp --max-ttl 20 --format atlas
""",
}
OUTPUT_FORMATS = ("table", "json", "atlas")


def register_measure(probe_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    measure = probe_subparsers.add_parser(
        "measure",
        help="measure targets once (icmp, dns, http, tcp, traceroute) and print the results",
        description=MEASURE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    measure.set_defaults(group_parser=measure)
    protocols = measure.add_subparsers(dest="measure_protocol", metavar="PROTOCOL")
    helps = {
        "icmp": "ICMP/ICMPv6 echo: RTTs, loss, duplicates, reply TTL, ICMP errors",
        "dns": "one DNS query per name to a given server",
        "http": "HTTP(S) GET with per-phase timings, status, TLS facts, body hash",
        "tcp": "TCP connect: time, or why not",
        "traceroute": "the path hop by hop: Paris-style ICMP, UDP or TCP SYN probes with increasing TTL",
    }
    for protocol, help_text in helps.items():
        parser = protocols.add_parser(
            protocol,
            help=help_text,
            description=f"{help_text}.",
            epilog=EXAMPLES[protocol],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_common(parser, protocol)
        parser.set_defaults(handler=measure_handler)
    _add_icmp(protocols.choices["icmp"])
    _add_dns(protocols.choices["dns"])
    _add_http(protocols.choices["http"])
    _add_tcp(protocols.choices["tcp"])
    _add_traceroute(protocols.choices["traceroute"])


def _add_common(parser: argparse.ArgumentParser, protocol: str) -> None:
    what = {
        "icmp": "IP address, host name or prefix (198.51.100.0/24)",
        "dns": "name to ask for",
        "http": "http:// or https:// URL",
        "tcp": "HOST:PORT, [IPv6]:PORT, or an address with --port",
        "traceroute": "IP address or host name",
    }[protocol]
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=what)
    parser.add_argument(
        "--targets-file", metavar="FILE", help="read more targets from FILE, one per line (# comments)"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="MS", help="timeout in milliseconds (per packet for icmp)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE_PER_S,
        metavar="N",
        help=f"global cap on packets (icmp) or requests per second (default {DEFAULT_RATE_PER_S:g})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"DNS/HTTP/TCP measurements in flight at once (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per measurement (vantage.v1.Measurement)"
    )
    parser.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default=None,
        help="table (default), json (as --json) or atlas: RIPE Atlas result JSON, one per line "
        "(ping, dns, http, traceroute)",
    )


def _add_icmp(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--count", "-c", type=int, default=3, metavar="N", help="echo requests per target (default 3)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=1000.0,
        metavar="MS",
        help="gap between a target's packets (default 1000 ms)",
    )
    parser.add_argument(
        "--size", type=int, default=56, metavar="BYTES", help="ICMP payload size (default 56, min 20)"
    )
    parser.add_argument(
        "--sender",
        choices=("auto", "inline", "forked"),
        default="auto",
        help="send from this process (inline) or a forked one, using a second core (default auto: "
        "forked for sweeps of 4096+ packets at 10000+/s)",
    )


def _add_dns(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="IP[:PORT]",
        help="DNS server to ask (default: first nameserver in /etc/resolv.conf)",
    )
    parser.add_argument(
        "--type", default="A", metavar="TYPE", help="record type: A, AAAA, NS, SOA, TXT... (default A)"
    )
    parser.add_argument("--tcp", action="store_true", help="ask over TCP (default UDP, TCP when truncated)")
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="ANSWER",
        help="expected answer (repeatable); any other answer is OUTCOME_MISMATCH",
    )
    parser.add_argument(
        "--no-recurse", action="store_true", help="clear the RD flag (ask an authoritative server)"
    )


def _add_http(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:IP",
        help="connect to IP for HOST, keeping HOST in Host and SNI (like curl --resolve); "
        "an IPv6 address with or without brackets: HOST:[IPV6] or HOST:IPV6",
    )
    parser.add_argument("--ca-file", metavar="FILE", help="trust the CA certificates in FILE (PEM)")
    parser.add_argument("--insecure", action="store_true", help="record certificate errors but go on")
    parser.add_argument(
        "--max-redirects", type=int, default=5, metavar="N", help="redirects to follow (default 5)"
    )


def _add_tcp(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, metavar="PORT", help="port for targets given without one")


def _add_traceroute(parser: argparse.ArgumentParser) -> None:
    from vantage.probe.engine import model  # the defaults live there

    parser.add_argument(
        "--protocol",
        choices=model.TRACE_METHODS,
        default=model.DEFAULT_TRACE_METHOD,
        help=f"what the probes are (default {model.DEFAULT_TRACE_METHOD}: ICMP echo)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="N",
        help=f"destination port of udp/tcp probes (default {model.DEFAULT_TRACE_UDP_PORT} for udp, "
        f"{model.DEFAULT_TRACE_TCP_PORT} for tcp)",
    )
    parser.add_argument("--first-ttl", "-f", type=int, default=model.DEFAULT_TRACE_FIRST_TTL, metavar="N")
    parser.add_argument("--max-ttl", "-m", type=int, default=model.DEFAULT_TRACE_MAX_TTL, metavar="N")
    parser.add_argument(
        "--queries",
        "-q",
        type=int,
        default=model.DEFAULT_TRACE_PROBES_PER_HOP,
        metavar="N",
        help=f"probes per hop (default {model.DEFAULT_TRACE_PROBES_PER_HOP})",
    )
    parser.add_argument(
        "--max-silent",
        type=int,
        default=model.DEFAULT_TRACE_MAX_SILENT_HOPS,
        metavar="N",
        help=f"stop after N hops in a row without an answer (default {model.DEFAULT_TRACE_MAX_SILENT_HOPS})",
    )
    parser.add_argument(
        "--sim-queries",
        "-N",
        type=int,
        default=model.DEFAULT_TRACE_PROBES_IN_FLIGHT,
        metavar="N",
        help=f"probes in flight at once (default {model.DEFAULT_TRACE_PROBES_IN_FLIGHT}, as traceroute -N)",
    )


# Above this many words after `probe measure PROTOCOL`, the targets are lifted out of the
# command line before argparse sees it (parse_measure_argv).
MANY_WORDS = 64


def parse_measure_argv(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | None:
    """`parser.parse_args(argv)` for `probe measure PROTOCOL` with many targets, or None.

    argparse hands every word to each of the four nested parsers (vantage, probe, measure,
    PROTOCOL), and each converts and checks all of them: ≈ 7 µs per address, half a second
    for a /16 given as arguments (issue 18). Here one run of targets is taken out, the rest
    (the options) parsed as usual and the targets put back. None (parse as usual) for
    anything this does not read exactly as argparse would: fewer words, an option it does not
    know by its full name, `--`, options between targets.
    """
    if len(argv) < 3 + MANY_WORDS or argv[0] != "probe" or argv[1] != "measure":
        return None
    leaf = _subcommand(_subcommand(_subcommand(parser, "probe"), "measure"), argv[2])
    if leaf is None:
        return None
    options = leaf._option_string_actions  # argparse's own table: option string -> action
    words = argv[3:]
    first = last = -1  # the run of targets: words[first:last]
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and word != "-":
            name = word.split("=", 1)[0] if word.startswith("--") else word
            action = options.get(name)
            if action is None or word == "--" or action.nargs not in (None, 0):
                return None
            i += 1 if action.nargs == 0 or "=" in word else 2
            continue
        if first < 0:
            first = i
        elif last >= 0:  # a second run of targets: argparse's own error
            return None
        i += 1
        while i < len(words) and not (words[i].startswith("-") and words[i] != "-"):
            i += 1
        last = i
    if first < 0:
        return None
    args = parser.parse_args([*argv[:3], *words[:first], *words[last:]])
    args.targets = list(words[first:last])
    return args


def _subcommand(parser: argparse.ArgumentParser | None, word: str) -> argparse.ArgumentParser | None:
    for action in parser._actions if parser is not None else ():
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser | None = action.choices.get(word)
            return found
    return None


def measure_handler(args: argparse.Namespace) -> int:
    from vantage.probe.measure.run import run_measurements
    from vantage.probe.measure.targets import build_plan

    if args.rate is None or args.rate <= 0:
        raise UsageError(f"--rate must be a positive number, not {args.rate}")
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, not {args.concurrency}")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, not {args.timeout}")
    if args.format is None:
        args.format = "json" if args.json else "table"
    elif args.json and args.format != "json":
        raise UsageError(f"--json and --format {args.format} contradict each other")
    args.json = args.format == "json"
    if args.format == "atlas":
        from vantage.probe.measure.atlas import ATLAS_KINDS

        if args.measure_protocol not in ATLAS_KINDS:
            raise UsageError(f"--format atlas: RIPE Atlas has no {args.measure_protocol} measurements")
    targets = list(args.targets)
    if args.targets_file:
        targets.extend(_read_targets_file(args.targets_file))
    if not targets:
        raise UsageError("no targets: give TARGET arguments or --targets-file")
    plan = build_plan(args.measure_protocol, targets, args)
    return run_measurements(plan.requests, args, plan.unresolved)


def _read_targets_file(path: str) -> Sequence[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise UsageError(f"--targets-file {path}: {exc.strerror or exc}") from None
    if "#" not in text:  # no comments (a generated list of 65k addresses): one pass
        return [target for target in map(str.strip, text.splitlines()) if target]
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def expand_prefix(text: str) -> list[str] | None:
    """Host addresses of a prefix given as a target, or None when `text` is no prefix."""
    if "/" not in text:
        return None
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise UsageError(f"target {text!r} is not a valid prefix") from None
    if network.num_addresses > MAX_PREFIX_ADDRESSES:
        raise UsageError(
            f"prefix {text} holds {network.num_addresses} addresses; the limit is {MAX_PREFIX_ADDRESSES}"
        )
    if network.num_addresses <= 2:
        return [str(address) for address in network]
    if network.version == 4:
        first = int(network.network_address) + 1
        return ipv4_range(first, first + network.num_addresses - 3)
    return [str(address) for address in network.hosts()]


_OCTETS = [str(n) for n in range(256)]


def ipv4_range(first: int, last: int) -> list[str]:
    """Dotted quads of the addresses first..last (as integers), inclusive.

    A /24's head joined with cached last octets: far cheaper than str(IPv4Address) per
    address, and a /16 sweep must not spend its first 50 ms here.
    """
    addresses: list[str] = []
    for block in range(first >> 8, (last >> 8) + 1):
        head = f"{block >> 16}.{(block >> 8) & 255}.{block & 255}."
        low = first & 255 if block == first >> 8 else 0
        high = last & 255 if block == last >> 8 else 255
        # One join and one split in C per block instead of 256 concatenations in Python.
        addresses.extend((head + ("\n" + head).join(_OCTETS[low : high + 1])).split("\n"))
    return addresses

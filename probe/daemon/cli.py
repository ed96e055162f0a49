"""`vantage probe run`: the probe daemon (registered by vantage.probe.cli).

The only place where the daemon reads the environment and the config file;
everything is resolved into one frozen DaemonConfig (see daemon/config.py for
the precedence: flags > VANTAGE_PROBE_* > --config FILE > defaults).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from vantage.cliutil import CliError, UsageError

RUN_DESCRIPTION = """\
Run the probe daemon: enroll once with a collector, then every round fetch the
work plan, measure within the local safety caps, keep every result in an
on-disk outbox and upload it (also hours later, after an outage).

Settings come from, highest first: these flags, environment variables
VANTAGE_PROBE_<SETTING> (e.g. VANTAGE_PROBE_MAX_RATE=50,
VANTAGE_PROBE_COLLECTOR=a:7443,b:7443), the TOML file given by --config, and
the defaults. See docs/probe.md.

By default the probe refuses targets in private, loopback, link-local, CGNAT,
multicast, benchmarking, documentation and other special-purpose ranges (IPv4
and IPv6); --allow-range opens one explicitly. Refused tasks are reported to
the collector as refused_by_policy.

examples:
  vantage probe run --collector collector.example.org:7443 \\
      --enroll-token=TOKEN --state-dir /var/lib/vantage-probe
  vantage probe run --config /etc/vantage/probe.toml
  vantage probe run --collector 192.0.2.10:7443 --collector 198.51.100.10:7443 \\
      --state-dir ./probe-state --plaintext --allow-range 198.18.0.0/15
"""


def register_run(probe_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = probe_subparsers.add_parser(
        "run",
        help="run the probe daemon (enroll, measure, store and forward)",
        description=RUN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--collector",
        dest="collectors",
        action="append",
        metavar="HOST:PORT",
        help="collector address; repeat for several (the probe spreads over them and fails over)",
    )
    add(
        "--enroll-token",
        metavar="TOKEN",
        help="one-time enrollment token, needed only for the first start; write --enroll-token=TOKEN "
        "(a token may begin with '-'), or use VANTAGE_PROBE_ENROLL_TOKEN to keep it out of `ps`",
    )
    add("--state-dir", metavar="DIR", help="where the credential and the outbox live (created mode 0700)")
    add("--ca-file", metavar="FILE", help="CA certificate(s) to verify the collector's TLS certificate")
    add("--plaintext", action="store_const", const=True, help="no TLS (lab and tests only)")
    add("--metrics", metavar="HOST:PORT", help="serve Prometheus metrics here (e.g. 127.0.0.1:9465)")
    add("--max-rate", type=float, metavar="N", help="packets/requests per second, at most (default 100)")
    add("--max-concurrency", type=int, metavar="N", help="measurements in flight, at most (default 256)")
    add(
        "--max-tasks-per-round", type=int, metavar="N", help="a larger plan is cut to N tasks (default 50000)"
    )
    add("--max-icmp-count", type=int, metavar="N", help="echoes per ICMP task, at most (default 16)")
    add("--max-timeout-ms", type=int, metavar="MS", help="a task's timeout, at most (default 60000)")
    add("--max-interval-ms", type=int, metavar="MS", help="gap between echoes, at most (default 10000)")
    add(
        "--allow-range",
        action="append",
        metavar="CIDR",
        help="allow targets in this otherwise refused range (repeatable), e.g. 198.18.0.0/15",
    )
    add("--outbox-max-results", type=int, metavar="N", help="outbox bound; the oldest are dropped beyond it")
    add("--batch-size", type=int, metavar="N", help="results per upload batch (default 500)")
    add("--name", help="a human name for the probe (default: the host name)")
    add("--heartbeat-seconds", type=float, metavar="S", help="heartbeat interval (default 60)")
    add(
        "--revoked-backoff-seconds",
        type=float,
        metavar="S",
        help="wait after a collector rejects the credential (default 900)",
    )
    add("--retry-max-seconds", type=float, metavar="S", help="ceiling of the retry backoff (default 300)")
    add(
        "--max-offline-seconds",
        type=float,
        metavar="S",
        help="keep repeating the last plan this long without a collector (default 86400)",
    )
    add("--log-level", choices=["debug", "info", "warning", "error"], help="default info")
    add("--config", metavar="FILE", help="TOML file with the same settings (keys as the flags, with _)")
    parser.set_defaults(handler=run_handler)


def _read_config_file(path: str | None) -> tuple[dict[str, Any], str]:
    if path is None:
        return {}, "config file"
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle), path
    except OSError as exc:
        raise UsageError(f"cannot read --config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--config {path}: {exc}") from None


def run_handler(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from vantage import __version__
    from vantage.pathcheck import (
        PathProblem,
        check_optional_readable_file,
        check_readable_file,
        ensure_writable_dir,
        os_error_line,
    )
    from vantage.probe.daemon.config import PARSERS, ConfigError, resolve_config
    from vantage.probe.daemon.credentials import CredentialError, credential_path
    from vantage.probe.daemon.enroll import FatalError
    from vantage.probe.daemon.runner import run_daemon

    file_values, file_name = _read_config_file(args.config)
    flags = {name: getattr(args, name, None) for name in PARSERS}
    try:
        config = resolve_config(flags=flags, env=os.environ, file_values=file_values, file_name=file_name)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    logging.basicConfig(
        level=config.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Paths first: one line naming the path and what is wrong, never a traceback
    # from deep inside the start (the lock file, the outbox database).
    try:
        ensure_writable_dir(config.state_dir, "state dir")
        check_optional_readable_file(credential_path(config.state_dir), "credential file")
        if config.ca_file is not None:
            check_readable_file(config.ca_file, "CA file (--ca-file)")
    except PathProblem as exc:
        raise CliError(str(exc)) from None
    try:
        return asyncio.run(run_daemon(config, version=__version__))
    except (FatalError, CredentialError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"probe stopped: {os_error_line(exc)}") from None
    except ModuleNotFoundError as exc:  # pragma: no cover - an incomplete install
        raise CliError(f"this installation lacks {exc.name}: {exc}") from None

"""The daemon's configuration, resolved once from four layers (pure).

Precedence, highest first (documented in docs/probe.md):

  1. command-line flags             --max-rate 50
  2. environment variables          VANTAGE_PROBE_MAX_RATE=50
  3. the TOML file given by --config   max_rate = 50
  4. built-in defaults (DEFAULT_* constants, each saying where it comes from)

A setting is taken whole from the highest layer that sets it: list settings
(collector, allow_range) are not merged across layers, so that what a volunteer
sees in one place is all that applies. Only the CLI reads the environment and
files; this module gets plain mappings and returns a frozen `DaemonConfig`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from vantage.probe.daemon.backoff import DEFAULT_MAX_DELAY_S
from vantage.probe.daemon.policy import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_ICMP_COUNT,
    DEFAULT_MAX_INTERVAL_MS,
    DEFAULT_MAX_RATE_PER_S,
    DEFAULT_MAX_TASKS_PER_ROUND,
    DEFAULT_MAX_TIMEOUT_MS,
    parse_range,
)
from vantage.probe.daemon.scheduler import DEFAULT_MAX_OFFLINE_S

ENV_PREFIX = "VANTAGE_PROBE_"
# A typical result is 200-400 bytes: one million is a few hundred MB of disk and
# about eight hours of a 10,000-task, 5-minute-round plan held while offline.
DEFAULT_OUTBOX_MAX_RESULTS = 1_000_000
# 500 results per message: gRPC streams reach ~0.7-1M results/s at 100 per
# message on one machine (measured with grpcio 1.85 and upb protobuf); 500 keeps messages < 1 MB.
DEFAULT_BATCH_SIZE = 500
# RIPE Atlas probes keep a controller session alive on the order of a minute.
DEFAULT_HEARTBEAT_S = 60.0
# A revoked credential will not heal by retrying: ask again only every 15 min,
# so an operator who re-admits the probe sees it back soon, and a fleet of
# revoked probes costs the collector nothing.
DEFAULT_REVOKED_BACKOFF_S = 900.0


class ConfigError(ValueError):
    """A setting with a bad value; the message names the layer and the key."""


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    collectors: tuple[str, ...]
    state_dir: Path
    enroll_token: str = ""
    ca_file: Path | None = None
    plaintext: bool = False
    metrics: str = ""
    max_rate: float = DEFAULT_MAX_RATE_PER_S
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_tasks_per_round: int = DEFAULT_MAX_TASKS_PER_ROUND
    max_icmp_count: int = DEFAULT_MAX_ICMP_COUNT
    max_timeout_ms: int = DEFAULT_MAX_TIMEOUT_MS
    max_interval_ms: int = DEFAULT_MAX_INTERVAL_MS
    allow_range: tuple[str, ...] = ()
    outbox_max_results: int = DEFAULT_OUTBOX_MAX_RESULTS
    batch_size: int = DEFAULT_BATCH_SIZE
    name: str = ""
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_S
    revoked_backoff_seconds: float = DEFAULT_REVOKED_BACKOFF_S
    retry_max_seconds: float = DEFAULT_MAX_DELAY_S
    max_offline_seconds: float = DEFAULT_MAX_OFFLINE_S
    log_level: str = "info"


def _split_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(item).strip() for item in value]
    else:
        raise ValueError("expected a string or a list of strings")
    return tuple(item for item in items if item)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _positive(kind: Callable[[Any], float | int]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        number = kind(value)
        if not number > 0:
            raise ValueError(f"must be positive, got {value!r}")
        return number

    return parse


def _host_port(value: Any) -> str:
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return text


def _collectors(value: Any) -> tuple[str, ...]:
    return tuple(_host_port(item) for item in _split_list(value))


def _ranges(value: Any) -> tuple[str, ...]:
    items = _split_list(value)
    for item in items:
        parse_range(item)
    return items


def _log_level(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in {"debug", "info", "warning", "error"}:
        raise ValueError("expected debug, info, warning or error")
    return text


PARSERS: dict[str, Callable[[Any], Any]] = {
    "collectors": _collectors,
    "state_dir": lambda v: Path(str(v)).expanduser(),
    "enroll_token": lambda v: str(v).strip(),
    "ca_file": lambda v: Path(str(v)).expanduser(),
    "plaintext": _to_bool,
    "metrics": lambda v: _host_port(v) if str(v).strip() else "",
    "max_rate": _positive(float),
    "max_concurrency": _positive(int),
    "max_tasks_per_round": _positive(int),
    "max_icmp_count": _positive(int),
    "max_timeout_ms": _positive(int),
    "max_interval_ms": _positive(int),
    "allow_range": _ranges,
    "outbox_max_results": _positive(int),
    "batch_size": _positive(int),
    "name": lambda v: str(v).strip(),
    "heartbeat_seconds": _positive(float),
    "revoked_backoff_seconds": _positive(float),
    "retry_max_seconds": _positive(float),
    "max_offline_seconds": _positive(float),
    "log_level": _log_level,
}
# The spelling a volunteer writes in the file and the environment: "collector"
# reads better than "collectors" in `collector = ["a:7443", "b:7443"]`.
EXTERNAL_NAMES: dict[str, str] = {name: name for name in PARSERS} | {"collectors": "collector"}


def env_name(setting: str) -> str:
    return ENV_PREFIX + EXTERNAL_NAMES[setting].upper()


def resolve_config(
    *,
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    file_values: Mapping[str, Any],
    file_name: str = "config file",
) -> DaemonConfig:
    """Merge the layers. `flags` maps setting names to values, None when not given."""
    by_external = {external: setting for setting, external in EXTERNAL_NAMES.items()}
    unknown = sorted(set(file_values) - set(by_external))
    if unknown:
        known_names = ", ".join(sorted(by_external))
        raise ConfigError(f"{file_name}: unknown setting(s) {', '.join(unknown)}; known: {known_names}")
    chosen: dict[str, Any] = {}
    for setting, parse in PARSERS.items():
        external = EXTERNAL_NAMES[setting]
        layers = (
            (f"--{external.replace('_', '-')}", flags.get(setting)),
            (env_name(setting), env.get(env_name(setting))),
            (f"{file_name}: {external}", file_values.get(external)),
        )
        for source, raw in layers:
            if raw is None or (isinstance(raw, list | tuple) and not raw and source.startswith("--")):
                continue
            try:
                chosen[setting] = parse(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{source}: {exc}") from None
            break
    if not chosen.get("collectors"):
        raise ConfigError(f"no collector address: give --collector HOST:PORT or set {env_name('collectors')}")
    if "state_dir" not in chosen:
        raise ConfigError(f"no state directory: give --state-dir DIR or set {env_name('state_dir')}")
    if chosen.get("plaintext") and chosen.get("ca_file") is not None:
        raise ConfigError("--plaintext and --ca-file exclude each other")
    known = {field.name for field in fields(DaemonConfig)}
    return DaemonConfig(**{key: value for key, value in chosen.items() if key in known})

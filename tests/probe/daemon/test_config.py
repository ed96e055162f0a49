"""Configuration layers: flags > environment > TOML file > defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vantage.probe.daemon.config import DEFAULT_BATCH_SIZE, ConfigError, resolve_config

BASE_FLAGS: dict[str, Any] = {"collectors": ["c1:7443"], "state_dir": "/var/lib/vantage-probe"}


def test_defaults_apply_when_nothing_is_set() -> None:
    config = resolve_config(flags=BASE_FLAGS, env={}, file_values={})
    assert config.collectors == ("c1:7443",)
    assert config.state_dir == Path("/var/lib/vantage-probe")
    assert config.batch_size == DEFAULT_BATCH_SIZE
    assert config.allow_range == ()


def test_precedence_flag_over_env_over_file() -> None:
    file_values = {"max_rate": 10, "max_concurrency": 7, "batch_size": 50, "collector": ["f:1", "g:2"]}
    env = {"VANTAGE_PROBE_MAX_RATE": "20", "VANTAGE_PROBE_MAX_CONCURRENCY": "8"}
    config = resolve_config(flags={"state_dir": "/s", "max_rate": 30.0}, env=env, file_values=file_values)
    assert config.max_rate == 30.0  # flag
    assert config.max_concurrency == 8  # env
    assert config.batch_size == 50  # file
    assert config.collectors == ("f:1", "g:2")  # file, as a list


def test_lists_are_taken_whole_from_one_layer() -> None:
    env = {"VANTAGE_PROBE_ALLOW_RANGE": "198.18.0.0/15, fd00::/8"}
    file_values = {"allow_range": ["127.0.0.0/8"]}
    config = resolve_config(flags=BASE_FLAGS | {"allow_range": []}, env=env, file_values=file_values)
    assert config.allow_range == ("198.18.0.0/15", "fd00::/8")


def test_env_collectors_are_comma_separated() -> None:
    env = {"VANTAGE_PROBE_COLLECTOR": "a:1,b:2", "VANTAGE_PROBE_PLAINTEXT": "yes"}
    config = resolve_config(flags={"state_dir": "/s"}, env=env, file_values={})
    assert config.collectors == ("a:1", "b:2") and config.plaintext is True


@pytest.mark.parametrize(
    ("flags", "env", "file_values", "message"),
    [
        ({"state_dir": "/s"}, {}, {}, "no collector"),
        ({"collectors": ["a:1"]}, {}, {}, "no state directory"),
        (BASE_FLAGS, {"VANTAGE_PROBE_MAX_RATE": "-1"}, {}, "VANTAGE_PROBE_MAX_RATE"),
        (BASE_FLAGS, {}, {"max_rate": "fast"}, "probe.toml: max_rate"),
        (BASE_FLAGS, {}, {"allow_range": ["10.0.0.1/8"]}, "allow_range"),
        (BASE_FLAGS, {}, {"colector": "x:1"}, "unknown setting"),
        ({"collectors": ["nope"], "state_dir": "/s"}, {}, {}, "--collector"),
        (BASE_FLAGS | {"plaintext": True, "ca_file": "/ca.pem"}, {}, {}, "exclude"),
    ],
)
def test_bad_settings_name_their_source(
    flags: dict[str, Any], env: dict[str, str], file_values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config(flags=flags, env=env, file_values=file_values, file_name="probe.toml")

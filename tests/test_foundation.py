"""The foundation: the package installs, the CLI answers, the wire format imports."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from vantage import cli, failures
from vantage.v1 import measurement_pb2, probe_service_pb2, query_service_pb2

from .conftest import REPO_ROOT


def test_version_prints(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("vantage ")


def test_help_lists_every_group(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for group in ("probe", "collector", "lab"):
        assert f"vantage {group}" in out


def test_group_without_subcommand_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lab"]) == 2
    assert "usage: vantage lab" in capsys.readouterr().err


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vantage.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "vantage" in result.stdout


def test_enums_start_with_unspecified() -> None:
    for module in (measurement_pb2, probe_service_pb2, query_service_pb2):
        for enum_descriptor in module.DESCRIPTOR.enum_types_by_name.values():
            first = enum_descriptor.values[0]
            assert first.number == 0 and first.name.endswith("_UNSPECIFIED"), enum_descriptor.full_name


def test_operation_numbers_match_the_wire_format() -> None:
    for operation in failures.Operation:
        assert measurement_pb2.Operation.Value(f"OPERATION_{operation.name}") == operation.value


def test_failure_outside_vocabulary_is_a_bug() -> None:
    with pytest.raises(ValueError):
        failures.Failure("something_else", failures.Operation.CONNECT)


def test_generated_code_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "gen_proto.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_shared_enums_match_the_wire_format() -> None:
    from vantage.kinds import Outcome, Protocol, TaskKind
    from vantage.v1 import probe_service_pb2

    for enum_type, wire_enum, prefix in (
        (Protocol, measurement_pb2.Protocol, "PROTOCOL_"),
        (Outcome, measurement_pb2.Outcome, "OUTCOME_"),
        (TaskKind, probe_service_pb2.TaskKind, "TASK_KIND_"),
    ):
        assert {f"{prefix}{m.name}": m.value for m in enum_type} == dict(wire_enum.items())


@pytest.mark.parametrize("command", sorted(cli.COMMAND_OWNERS))
def test_each_command_is_registered_by_its_owner_alone(command: str) -> None:
    """`vantage WORD ...` builds only WORD's group: that group must register WORD."""
    parser = cli.build_parser([command, "--help"])
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert command in subparsers.choices
    assert set(cli.COMMAND_OWNERS.values()) == set(cli.COMMAND_MODULES)

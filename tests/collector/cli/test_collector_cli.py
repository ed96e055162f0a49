"""Admin and query commands as users run them, against a running `vantage collector serve`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.collector.conftest import VANTAGE, CollectorProcess, enroll


def run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    finished = subprocess.run([*VANTAGE, *args], capture_output=True, text=True, timeout=60)
    if check and finished.returncode != 0:
        raise AssertionError(f"{args} failed ({finished.returncode}): {finished.stderr}")
    return finished


def admin(collector: CollectorProcess, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return run(
        *args,
        "--collector",
        collector.address,
        "--plaintext",
        "--data-dir",
        str(collector.data_dir),
        check=check,
    )


def query(collector: CollectorProcess, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return run(*args, "--collector", collector.address, "--plaintext", check=check)


def test_token_create_prints_only_the_token(collector: CollectorProcess) -> None:
    plain = admin(collector, "collector", "token", "create", "--name", "ams-1", check=True)
    lines = plain.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) >= 40
    assert lines[0].startswith("vet_")  # never "-": safe as a command-line argument
    assert enroll(collector, lines[0]).probe_id
    document = json.loads(
        admin(collector, "collector", "token", "create", "--expires", "2h", "--json", check=True).stdout
    )
    assert set(document) == {"token", "token_id", "expires_at"}
    assert enroll(collector, document["token"]).credential


def test_admin_commands_need_the_admin_credential(collector: CollectorProcess, tmp_path: Path) -> None:
    missing = run("collector", "token", "create", "--collector", collector.address, "--plaintext")
    assert missing.returncode == 2 and "--data-dir" in missing.stderr
    wrong = tmp_path / "wrong.credential"
    wrong.write_text("not-the-credential\n")
    refused = run(
        "collector",
        "token",
        "create",
        "--collector",
        collector.address,
        "--plaintext",
        "--admin-credential",
        str(wrong),
    )
    assert refused.returncode == 1 and "UNAUTHENTICATED" in refused.stderr
    assert refused.stdout == ""


def test_targets_import_list_remove(collector: CollectorProcess, tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text(
        "target,protocols,country,asn,tags\n"
        "192.0.2.1,icmp;tcp,KZ,64500,port:443\n"
        "not an address!,icmp,,,\n"
        "https://www.example.org/,http,,,list:global\n"
    )
    imported = admin(collector, "collector", "targets", "import", str(targets))
    assert imported.returncode == 1  # one bad row
    assert f"{targets}:3:" in imported.stderr
    assert "imported 2, updated 0, rejected 1" in imported.stderr
    listed = json.loads(admin(collector, "collector", "targets", "list", "--json", check=True).stdout)
    by_target = {t["target"]: t for t in listed["targets"]}
    assert set(by_target) == {"192.0.2.1", "https://www.example.org/"}
    assert by_target["192.0.2.1"]["asn"] == 64500 and by_target["192.0.2.1"]["country"] == "KZ"
    table = admin(collector, "collector", "targets", "list", "--country", "KZ", check=True).stdout
    assert "192.0.2.1" in table and "example.org" not in table
    again = admin(collector, "collector", "targets", "import", str(targets))
    assert "imported 0, updated 2" in again.stderr
    removed = admin(
        collector, "collector", "targets", "remove", "192.0.2.1", by_target["https://www.example.org/"]["id"]
    )
    assert removed.returncode == 0 and "removed 2" in removed.stderr
    assert json.loads(admin(collector, "collector", "targets", "list", "--json", check=True).stdout) == {
        "targets": []
    }


def test_probe_pin_revoke_and_the_probe_list(collector: CollectorProcess) -> None:
    probe = enroll(collector)
    pinned = json.loads(
        admin(collector, "collector", "probe", "pin", probe.probe_id, "--asn", "64510", "--country", "kz",
              "--json", check=True).stdout
    )  # fmt: skip
    assert (pinned["asn"], pinned["country"], pinned["pinned_asn"]) == (64510, "KZ", 64510)
    listed = json.loads(query(collector, "probes", "--json", check=True).stdout)
    (record,) = listed["probes"]
    assert record["probe_id"] == probe.probe_id and record["state"] == "PROBE_STATE_ALIVE"
    assert record.get("observed_asn", 0) == 0  # loopback is in no dataset
    table = query(collector, "probes", check=True).stdout
    assert probe.probe_id in table and "AS64510" in table
    assert query(collector, "probes", "--country", "NL", "--json", check=True).stdout.strip() == "{}"
    revoked = json.loads(
        admin(collector, "collector", "probe", "revoke", probe.probe_id, "--json", check=True).stdout
    )
    assert revoked["state"] == "PROBE_STATE_REVOKED"
    unknown = admin(collector, "collector", "probe", "revoke", "00000000-0000-4000-8000-000000000000")
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr
    bad_country = admin(
        collector, "collector", "probe", "pin", probe.probe_id, "--asn", "1", "--country", "Kazakh"
    )
    assert bad_country.returncode == 1 and "INVALID_ARGUMENT" in bad_country.stderr


def test_status_before_any_verdict_and_asn_reload(collector: CollectorProcess) -> None:
    empty = query(collector, "status", check=True)
    assert "no verdicts yet" in empty.stderr
    assert json.loads(query(collector, "status", "--json", check=True).stdout) == {
        "countries": [],
        "ases": [],
    }
    missing = query(collector, "status", "--asn", "64500")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr
    assert admin(collector, "collector", "asn", "reload", check=True).returncode == 0


def test_query_commands_explain_an_unreachable_collector() -> None:
    failed = run("status", "--collector", "127.0.0.1:9", "--plaintext")
    assert failed.returncode == 1
    assert "UNAVAILABLE" in failed.stderr and "is a collector running" in failed.stderr


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("--revise-window", "--revise-window (40d) is longer than --retention (30d)"),
        ("--plan-repeat", "--plan-repeat (40d) must be between 0 and --retention (30d)"),
    ],
)
def test_a_window_longer_than_retention_is_refused(tmp_path: Path, option: str, said: str) -> None:
    failed = run(
        "collector", "serve", "--plaintext", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path),
        option, "40d", "--retention", "30d",
    )  # fmt: skip
    assert failed.returncode != 0
    assert said in failed.stderr


def test_timeline_as_of_needs_a_time() -> None:
    failed = run(
        "timeline", "--asn", "64500", "--as-of", "not-a-time", "--collector", "127.0.0.1:9", "--plaintext"
    )
    assert failed.returncode != 0
    assert "not-a-time" in failed.stderr


def test_the_plan_repeat_default_the_help_shows_is_the_collectors() -> None:
    from vantage.collector.cli.collector import _default_plan_repeat_text
    from vantage.collector.cli.timeargs import parse_duration
    from vantage.collector.service.config import DEFAULT_PLAN_REPEAT_S, CollectorConfig

    assert parse_duration(_default_plan_repeat_text()) == DEFAULT_PLAN_REPEAT_S
    assert CollectorConfig(collector_id="c").plan_repeat_s == DEFAULT_PLAN_REPEAT_S
    shown = run("collector", "serve", "--help")
    assert f"default {_default_plan_repeat_text()}" in " ".join(shown.stdout.split())

"""HTTP(S) measured as faithfully as curl: the fidelity defects of issue 18, each against a real server.

The servers (lab_servers.py) run in the lab's target namespace; each test names the issue's item.
"""

from __future__ import annotations

from typing import Any

import pytest

from .netns_lab import WEB_NAME, WEB_V6, ProbeLab

pytestmark = pytest.mark.netns


def _kind(doc: dict[str, Any]) -> str | None:
    return doc.get("failure", {}).get("kind")


def _operation(doc: dict[str, Any]) -> str | None:
    return doc.get("failure", {}).get("operation")


@pytest.mark.parametrize("address", [WEB_V6, f"[{WEB_V6}]"])
def test_resolve_to_an_ipv6_address(lab: ProbeLab, address: str) -> None:
    # Item 7: `--resolve HOST:IPV6` was split at its last colon and rejected.
    _, (doc,) = lab.measure(f"https://{WEB_NAME}/", "--resolve", f"{WEB_NAME}:{address}",
                            "--ca-file", str(lab.ca_file), protocol="http")  # fmt: skip
    assert doc["outcome"] == "OUTCOME_OK", doc
    assert doc["http"]["connected_address"] == WEB_V6 and doc["address_family"] == 6
    assert doc["http"]["tls"]["cert_subject"] == f"commonName={WEB_NAME}"

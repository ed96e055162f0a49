"""The deployment manifests validate against their specifications, and start as written.

Kubernetes: every document against the API schema of the newest Kubernetes
release kubernetes-validate knows, strictly (an unknown field is an error).
Compose: the file through compose-spec, a parser of the Compose specification
that rejects unknown keys and ill-typed values. Then what no schema checks: the
probe's hostPath state dir is given to the probe's user before it starts, and
no dataset rides in a ConfigMap (1 MiB at most; the datasets are megabytes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="needs kubernetes-validate (dev extra)"
)
compose_spec = pytest.importorskip("compose_spec", reason="needs compose-spec (dev extra)")

KUBERNETES = REPO_ROOT / "deploy" / "kubernetes"
COMPOSE = REPO_ROOT / "deploy" / "compose" / "compose.yaml"
PROBE_UID = 10002


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def manifests() -> list[Path]:
    return sorted(KUBERNETES.glob("*.yaml"))


@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_kubernetes_manifests_validate_strictly(path: Path) -> None:
    version = kubernetes_validate.latest_version()
    for document in documents(path):
        kubernetes_validate.validate(document, version, strict=True)


def test_an_invalid_manifest_is_caught() -> None:
    (deployment,) = [d for d in documents(KUBERNETES / "collector.yaml") if d["kind"] == "Deployment"]
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def pod_spec(path: Path, kind: str) -> dict[str, Any]:
    (workload,) = [d for d in documents(path) if d["kind"] == kind]
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def test_the_probe_state_dir_is_given_to_the_probe_user_first() -> None:
    spec = pod_spec(KUBERNETES / "probe-daemonset.yaml", "DaemonSet")
    (state,) = [v for v in spec["volumes"] if v["name"] == "state"]
    assert "hostPath" in state  # fsGroup does not apply to it
    (init,) = spec["initContainers"]
    assert any(m["name"] == "state" for m in init["volumeMounts"])
    command = " ".join(init["command"])
    assert f"chown {PROBE_UID}:{PROBE_UID} /var/lib/vantage-probe" in command
    assert set(init["securityContext"]["capabilities"]["add"]) == {"CHOWN", "FOWNER"}
    assert init["securityContext"]["capabilities"]["drop"] == ["ALL"]
    (probe,) = spec["containers"]
    assert spec["securityContext"]["runAsUser"] == PROBE_UID and "runAsUser" not in probe.get(
        "securityContext", {}
    )


def test_datasets_ride_in_no_configmap() -> None:
    for path in manifests():
        for document in documents(path):
            assert document["kind"] != "ConfigMap" or "asn" not in document["metadata"]["name"]
            if document["kind"] in ("Deployment", "DaemonSet"):
                for volume in document["spec"]["template"]["spec"].get("volumes", []):
                    if volume["name"] == "asn":
                        assert "configMap" not in volume, f"{path.name}: datasets in a ConfigMap"
    spec = pod_spec(KUBERNETES / "collector.yaml", "Deployment")
    (init,) = spec["initContainers"]
    assert any(m["name"] == "asn" for m in init["volumeMounts"])
    datasets = [a for a in spec["containers"][0]["args"] if a.startswith("--asn-db=")]
    assert datasets and all(a.startswith("--asn-db=/etc/vantage/asn/") for a in datasets)


def test_compose_file_follows_the_compose_specification() -> None:
    parsed = compose_spec.PyCompose.from_yaml(COMPOSE.read_text())
    assert set(parsed.service_names()) == {"postgres", "collector", "prometheus", "grafana"}


def test_compose_validation_can_fail() -> None:
    broken = COMPOSE.read_text().replace(
        "    image: postgres:15\n", "    image: postgres:15\n    restart: sometimes\n"
    )
    with pytest.raises(ValueError, match="restart"):
        compose_spec.PyCompose.from_yaml(broken)

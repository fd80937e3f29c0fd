"""The Kubernetes manifests (deploy/kubernetes/) are valid, offline, and agree with the service.

Every document is checked strictly against the official client's models (tests/deploy/kubernetes_schema.py:
unknown fields, wrong types, missing required fields). Then what the schema cannot know: selectors match
the pods, probes use the service's health routes, the grace period covers the drain, every setting is a
variable the service reads, and every ``*_FILE`` points at a key of the mounted Secret.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.settings import _reads_variable, kinds_plain_variables
from tests.deploy.kubernetes_schema import validate
from tests.support.app import REPO

MANIFESTS = REPO / "deploy/kubernetes"


def _documents() -> dict[str, dict[str, Any]]:
    """kind -> document, for every manifest file listed by the kustomization."""
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    listed = sorted(kustomization["resources"])
    on_disk = sorted(p.name for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml")
    assert listed == on_disk, "kustomization.yaml must list every manifest"
    documents: dict[str, dict[str, Any]] = {}
    for name in listed:
        for document in yaml.safe_load_all((MANIFESTS / name).read_text()):
            documents[document["kind"]] = document
    return documents


DOCS = _documents()


@pytest.mark.parametrize("kind", sorted(DOCS))
def test_every_manifest_matches_the_kubernetes_schema(kind: str) -> None:
    assert validate(DOCS[kind]) == []


def test_the_validator_rejects_unknown_fields_wrong_types_and_missing_required_fields() -> None:
    container = ["spec", "template", "spec", "containers", 0]

    def broken(change: Any) -> list[str]:
        document = copy.deepcopy(DOCS["Deployment"])
        node = document
        for key in container:
            node = node[key]
        change(node)
        return validate(document)

    assert broken(lambda c: c.update(livenessprobe={})) == [
        "Deployment.spec.template.spec.containers[0].livenessprobe: unknown field of V1Container"
    ]
    assert "expected int" in broken(lambda c: c["ports"][0].update(containerPort="8000"))[0]
    assert "name" in broken(lambda c: c.pop("name"))[0]


def _pod(kind: str) -> dict[str, Any]:
    pod: dict[str, Any] = DOCS[kind]["spec"]["template"]
    return pod


def test_selectors_target_the_api_pods() -> None:
    labels = _pod("Deployment")["metadata"]["labels"]
    assert DOCS["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert DOCS["Service"]["spec"]["selector"].items() <= labels.items()
    assert DOCS["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = DOCS["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", DOCS["Deployment"]["metadata"]["name"])
    assert DOCS["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2  # the PDB needs a spare


def test_probes_use_the_health_routes_and_the_grace_period_covers_the_drain() -> None:
    spec = _pod("Deployment")["spec"]
    (container,) = spec["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    grace = float(DOCS["ConfigMap"]["data"]["SWITCHBOARD_DRAIN_GRACE_S"])
    # preStop, then the drain, then the residual shutdown (stores, usage flush) before SIGKILL
    assert spec["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + grace + 5
    strategy = DOCS["Deployment"]["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0  # a replacement is ready before a pod starts draining


def test_every_setting_is_a_variable_the_service_reads() -> None:
    names = list(DOCS["ConfigMap"]["data"])
    for kind in ("Deployment", "Job"):
        for container in _pod(kind)["spec"]["containers"]:
            names += [entry["name"].removesuffix("_FILE") for entry in container.get("env", [])]
    assert [name for name in names if not _reads_variable(name, kinds_plain_variables())] == []


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_file_variables_point_at_keys_of_the_mounted_secret(kind: str) -> None:
    spec = _pod(kind)["spec"]
    secret = DOCS["Secret"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    (container,) = spec["containers"]
    mounts = {
        m["mountPath"]: volumes[m["name"]]["secret"]["secretName"]
        for m in container["volumeMounts"]
        if "secret" in volumes[m["name"]]
    }
    files = [e["value"] for e in container["env"] if e["name"].endswith("_FILE")]
    assert files
    for path in files:
        directory, key = str(Path(path).parent), Path(path).name
        assert mounts.get(directory) == secret["metadata"]["name"], path
        assert key in secret["stringData"], path
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_the_pods_configuration_is_one_the_service_accepts(tmp_path: Path) -> None:
    """The ConfigMap's environment plus the Secret's files, as the pod sees them, pass the same checks as
    ``switchboard check`` (settings, keys, providers, the dependency graph)."""
    from backend.settings import load_settings
    from backend.wiring.table import compile_graph

    (container,) = _pod("Deployment")["spec"]["containers"]
    secret_dir = tmp_path / "secrets"
    secret_dir.mkdir()
    for key, value in DOCS["Secret"]["stringData"].items():
        (secret_dir / key).write_text(value)
    env = dict(DOCS["ConfigMap"]["data"])
    for entry in container["env"]:
        env[entry["name"]] = str(secret_dir / Path(entry["value"]).name)
    settings = load_settings(env, dotenv=None)
    assert settings.stores.database_url.startswith("postgresql+asyncpg://")
    assert settings.stores.redis_url.startswith("redis://")
    compiled = compile_graph(settings)
    assert compiled.settings.server.env == "prod"

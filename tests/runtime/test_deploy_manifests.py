"""The Kubernetes manifests in ``deploy/kubernetes`` agree with the catalog: a worker Deployment
and a KEDA ScaledObject per queue, on that queue's RQ list, with a grace period longer than the
longest job timeout on the queue; the scheduler a single replica; and the standard kinds valid
against Kubernetes' own schemas (kubernetes-validate)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from odyssey_workers import defaults
from odyssey_workers.catalog import get_catalog
from odyssey_workers.queues import get_queue
from odyssey_workers.settings import Settings

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.33.0"  # an old enough release that clusters in service still run it
SCALER_VARIABLES = {"REDIS_ADDRESS", "REDIS_PASSWORD"}  # read by KEDA's scaler, not by the service


def documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield path, document


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in documents() if doc["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


@pytest.mark.parametrize("queue", defaults.QUEUE_NAMES)
def test_each_queue_has_a_worker_whose_grace_period_outlasts_its_longest_job(env: dict[str, str], queue: str) -> None:
    deployment = of_kind("Deployment")[f"odyssey-worker-{queue}"]
    assert container(deployment)["command"] == ["odyssey-workers", "worker", queue]
    longest = max(spec.timeout for spec in get_catalog() if spec.queue == queue)
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > longest, f"{queue}: grace {grace} s does not outlast a {longest} s job"


@pytest.mark.parametrize("queue", defaults.QUEUE_NAMES)
def test_each_worker_scales_with_keda_on_its_rq_list(env: dict[str, str], queue: str) -> None:
    scaled = of_kind("ScaledObject")[f"odyssey-worker-{queue}"]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] in of_kind("Deployment")
    assert scaled["spec"]["scaleTargetRef"]["name"] == f"odyssey-worker-{queue}"
    # Never to zero: retries waiting for their backoff are moved back by a running worker.
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == get_queue(queue).key  # the list RQ pushes waiting jobs to
    assert int(trigger["metadata"]["listLength"]) > 0
    assert isinstance(trigger["metadata"]["listLength"], str)  # KEDA's metadata values are strings


def test_the_scheduler_is_one_replica_never_two_and_nothing_scales_it() -> None:
    scheduler = of_kind("Deployment")["odyssey-scheduler"]
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"]["type"] == "Recreate"
    assert container(scheduler)["command"] == ["odyssey-workers", "scheduler"]
    targets = {scaled["spec"]["scaleTargetRef"]["name"] for scaled in of_kind("ScaledObject").values()}
    assert "odyssey-scheduler" not in targets


def test_every_variable_a_container_sets_is_a_setting_of_the_service() -> None:
    known = {name.upper() for name in Settings.model_fields}
    for deployment in of_kind("Deployment").values():
        for variable in container(deployment).get("env", []):
            assert variable["name"] in known, f"{deployment['metadata']['name']}: {variable['name']} is no setting"
    for scaled in of_kind("ScaledObject").values():
        metadata = scaled["spec"]["triggers"][0]["metadata"]
        assert {metadata["addressFromEnv"], metadata["passwordFromEnv"]} <= SCALER_VARIABLES


def test_the_standard_kinds_are_valid_kubernetes_objects() -> None:
    checked = 0
    for path, document in documents():
        if document["apiVersion"].startswith("keda.sh/"):
            continue  # a custom resource: checked field by field above
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {document['kind']} {document['metadata']['name']}: {exc.message}")
        checked += 1
    assert checked >= 6, f"only {checked} objects checked in {MANIFESTS}"


def test_the_validator_refuses_a_misspelt_field() -> None:
    """The check above can fail: strict validation refuses a field Kubernetes does not know."""
    deployment = dict(of_kind("Deployment")["odyssey-scheduler"])
    deployment["spec"] = {**deployment["spec"], "replica": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)

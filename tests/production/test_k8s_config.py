"""The Kubernetes configuration in deploy/k8s/ loads: the Dagster instance YAML passes dagster's and
dagster-k8s's config schemas, the Helm values agree with it, and the manifests reference only services,
ConfigMaps and Secrets that exist (the Secret itself is created from the environment, never committed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lodestar.settings import PROJECT_ROOT

K8S = PROJECT_ROOT / "deploy" / "k8s"


def _process(klass: type, config: dict) -> None:
    from dagster._config import process_config, resolve_to_config_type

    result = process_config(resolve_to_config_type(klass.config_type()), config)
    assert result.success, [e.message for e in result.errors]


@pytest.fixture
def instance_config(monkeypatch: pytest.MonkeyPatch) -> dict:
    from dagster._core.instance.config import dagster_instance_config

    # What the lodestar-env ConfigMap and the lodestar-postgres Secret put into every pod.
    for key, value in _configmap("lodestar-env").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "from-the-secret")
    config, custom_class = dagster_instance_config(str(K8S), config_filename="dagster-instance.yaml")
    assert custom_class is None
    return config


def _manifests() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name in ("values.yaml", "dagster-instance.yaml"):
            continue
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _configmap(name: str) -> dict[str, str]:
    (cm,) = [d for d in _manifests() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name]
    return cm["data"]


def test_instance_yaml_passes_dagster_and_dagster_k8s_schemas(instance_config: dict) -> None:
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
    from dagster_k8s import K8sRunLauncher
    from dagster_postgres import DagsterPostgresStorage

    cfg = instance_config
    assert (cfg["run_launcher"]["module"], cfg["run_launcher"]["class"]) == ("dagster_k8s", "K8sRunLauncher")
    _process(K8sRunLauncher, cfg["run_launcher"]["config"])
    _process(DagsterPostgresStorage, cfg["storage"]["postgres"])
    _process(QueuedRunCoordinator, cfg["run_coordinator"].get("config") or {})
    _process(NoOpComputeLogManager, cfg["compute_logs"].get("config") or {})
    # The same warehouse pool rules as the laptop and the one-machine production profile.
    local = yaml.safe_load((PROJECT_ROOT / "deploy" / "production" / "dagster.yaml").read_text())
    assert cfg["concurrency"]["pools"] == local["concurrency"]["pools"]
    assert cfg["telemetry"] == {"enabled": False}


def test_schema_check_rejects_a_misspelt_launcher_key(instance_config: dict) -> None:
    from dagster_k8s import K8sRunLauncher

    bad = {**instance_config["run_launcher"]["config"], "job_namespce": "lodestar"}
    with pytest.raises(AssertionError, match="job_namespce"):
        _process(K8sRunLauncher, bad)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w.title() for w in rest)


def test_helm_values_agree_with_the_instance_yaml(instance_config: dict) -> None:
    values = yaml.safe_load((K8S / "values.yaml").read_text())
    launcher = instance_config["run_launcher"]["config"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    helm_launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    for key in ("job_namespace", "image_pull_policy"):
        assert helm_launcher[_camel(key)] == launcher[key], key
    assert [e["name"] for e in helm_launcher["envConfigMaps"]] == launcher["env_config_maps"]
    assert [e["name"] for e in helm_launcher["envSecrets"]] == launcher["env_secrets"]
    assert helm_launcher["runK8sConfig"]["containerConfig"] == launcher["run_k8s_config"]["container_config"]
    pools = instance_config["concurrency"]["pools"]
    assert values["concurrency"]["pools"] == {_camel(k): v for k, v in pools.items()}
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == instance_config["concurrency"]["runs"]["max_concurrent_runs"]
    assert values["global"]["postgresqlSecretName"] == launcher["postgres_password_secret"]
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False
    assert values["postgresql"]["postgresqlHost"] == _configmap("lodestar-env")["LODESTAR_PG_HOST"]
    assert values["telemetry"] == {"enabled": False}
    # The chart deploys the production profile's code locations (deploy/production/workspace.yaml), each an
    # attribute of orchestration.locations that Dagster can load.
    import orchestration.locations as locations

    workspace = yaml.safe_load((PROJECT_ROOT / "deploy" / "production" / "workspace.yaml").read_text())
    expected = {entry["grpc_server"]["location_name"] for entry in workspace["load_from"]}
    deployed = {}
    for deployment in values["dagster-user-deployments"]["deployments"]:
        args = deployment["dagsterApiGrpcArgs"]
        assert args[args.index("--module-name") + 1] == "orchestration.locations"
        assert args[args.index("--location-name") + 1] == deployment["name"]
        deployed[deployment["name"]] = args[args.index("--attribute") + 1]
    assert set(deployed) == expected == {"lodestar", "reports"}
    assert deployed == {"lodestar": "core", "reports": "reports"}
    for attribute in deployed.values():
        assert callable(getattr(locations, attribute))


def test_manifests_reference_what_exists_and_commit_no_secret() -> None:
    docs = _manifests()
    for d in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(d), d
    assert not [d for d in docs if d["kind"] == "Secret"], "the Secret is created from the environment, not committed"
    services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    env = _configmap("lodestar-env")
    assert {env["LODESTAR_PG_HOST"], env["MLFLOW_TRACKING_URI"].split("//")[1].split(":")[0],
            env["LODESTAR_SPARK_HOST"]} <= services
    configmaps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    for d in docs:
        if d["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = d["spec"]["template"]["spec"]
        assert d["spec"]["selector"]["matchLabels"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        for vol in spec.get("volumes", []):
            if "configMap" in vol:
                assert vol["configMap"]["name"] in configmaps
            if "persistentVolumeClaim" in vol:
                assert vol["persistentVolumeClaim"]["claimName"] in claims
        for container in spec["containers"]:
            for e in container.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:  # the key dagster-k8s's postgres_password_secret reads too
                    assert (ref["name"], ref["key"]) == ("lodestar-postgres", "postgresql-password")
    mlflow = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "mlflow")
    command = mlflow["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--workers") + 1] == "1"
    assert "password" not in " ".join(command).lower() and "@postgres:5432/mlflow" in " ".join(command)


def test_dbt_profile_has_the_targets_the_cluster_uses() -> None:
    outputs = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text())["lodestar"]["outputs"]
    env = _configmap("lodestar-env")
    # The warehouse stays the DuckDB file on the shared volume (LODESTAR_HOME) until it is on PostgreSQL end to end.
    duck = outputs[env["LODESTAR_DBT_TARGET"]]
    assert duck["type"] == "duckdb" and "LODESTAR_HOME" in duck["path"] and env["LODESTAR_HOME"].startswith("/data/")
    out = outputs["spark_thrift"]
    assert (out["type"], out["method"]) == ("spark", "thrift")
    assert "LODESTAR_SPARK_HOST" in out["host"] and "LODESTAR_SPARK_PORT" in str(out["port"])
    thrift = next(d for d in _manifests() if d["kind"] == "Deployment" and d["metadata"]["name"] == "spark-thrift")
    command = thrift["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "k8s://https://kubernetes.default.svc" in command
    assert Path(command[0]).name == "spark-submit"

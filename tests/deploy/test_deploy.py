"""deploy/: Prometheus rules checked by promtool; compose, Kubernetes manifests and the Grafana dashboard
parsed and cross-checked against each other and against the metrics the code really exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from alerts.metrics import AlertsMetrics
from contracts.lag import LagMonitor
from contracts.settings import CommonSettings
from monitor.metrics import MonitorMetrics
from streams.metrics import StreamsMetrics

DEPLOY = Path(__file__).parents[2] / "deploy"
SERVICES = {"monitor": "LISTWATCH_MONITOR_PORT", "streams": "LISTWATCH_STREAMS_WEB_PORT", "alerts": "LISTWATCH_METRICS_PORT"}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is missing; `bash deploy/local/tools.sh` installs it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def exported_metric_names() -> set[str]:
    names: set[str] = {"up"}
    registries = [MonitorMetrics().registry, StreamsMetrics().registry, AlertsMetrics().registry]
    lag_registry = CollectorRegistry()
    LagMonitor(CommonSettings(), {}, lag_registry)
    registries.append(lag_registry)
    for registry in registries:
        for family in registry.collect():
            names.add(family.name)
            names.update(s.name for s in family.samples)
        # Label-less samples appear only once observed: add the standard suffixes by type.
        for family in registry.collect():
            if family.type == "histogram":
                names.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
            if family.type == "counter":
                names.add(f"{family.name}_total")
    return names


def metric_names_in(expr: str) -> set[str]:
    return set(re.findall(r"\b(listwatch_[a-z0-9_]+|up)\b", expr))


def test_promtool_accepts_rules_and_config() -> None:
    tool = promtool()
    for args in (["check", "rules", str(DEPLOY / "prometheus" / "rules.yml")],
                 ["check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")]):  # fmt: skip
        result = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_rules_cover_the_operations_issue_and_use_real_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    assert {"ListwatchListStale", "ListwatchFetchFailing", "ListwatchSnapshotRejected", "ListwatchDeadLettersGrowing",
            "ListwatchConsumerLagGrowing", "ListwatchDeliveryFailureRatio"} <= names  # fmt: skip
    exported = exported_metric_names()
    for rule in rules:
        unknown = metric_names_in(rule["expr"]) - exported
        assert not unknown, (rule["alert"], unknown)
        assert rule["annotations"]["summary"]
    runbook = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    assert all(name in runbook for name in names), "every rule is explained in docs/operations.md"


def test_dashboard_panels_use_real_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "listwatch.json").read_text())
    exported = exported_metric_names()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        assert not metric_names_in(expr) - exported, expr
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("freshness", "changes", "alerts", "delivery success", "latency", "lag"):
        assert topic in titles, topic


def load_compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "docker-compose.yml").read_text()))


def test_compose_has_every_service_and_prometheus_scrapes_each() -> None:
    compose = load_compose()["services"]
    assert {"kafka", "redis", "monitor", "streams", "alerts", "prometheus", "grafana"} <= set(compose)
    assert compose["kafka"]["image"].startswith("apache/kafka:")
    assert compose["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "--appendonly" in compose["redis"]["command"]
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    targets = {t for job in scrape for sc in job["static_configs"] for t in sc["targets"]}
    for service, port_var in SERVICES.items():
        env = compose[service]["environment"]
        assert env["LISTWATCH_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert f"{service}:{env[port_var]}" in targets, service
    mounted = " ".join(compose["prometheus"]["volumes"])
    assert "rules.yml" in mounted
    assert "prometheus.yml" in mounted
    assert any("dashboards" in v for v in compose["grafana"]["volumes"])


def test_every_redis_we_start_gets_the_tuning_the_key_layout_needs() -> None:
    from streams.index import MK_RECORD_MAX

    conf = dict(
        line.split(None, 1) for line in (DEPLOY / "redis-listwatch.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )  # fmt: skip
    assert int(conf["hash-max-listpack-value"]) >= MK_RECORD_MAX
    redis = load_compose()["services"]["redis"]
    assert redis["command"][1] == "/usr/local/etc/redis/listwatch.conf"
    assert any(v.startswith("./redis-listwatch.conf:/usr/local/etc/redis/listwatch.conf") for v in redis["volumes"])
    assert "redis-listwatch.conf" in (DEPLOY / "local" / "redis.sh").read_text()
    assert "redis-listwatch.conf" in (DEPLOY.parent / "bench" / "common.py").read_text()
    assert "redis-listwatch.conf" in (DEPLOY / "k8s" / "config.yaml").read_text()


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def test_kubernetes_deployments_have_probes_resources_config_and_scrape_annotations() -> None:
    docs = manifests()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {f"listwatch-{s}" for s in SERVICES}
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        [container] = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["port"] == "metrics", name
        assert int(template["metadata"]["annotations"]["prometheus.io/port"]) == ports["metrics"], name
        assert container["resources"]["requests"], name
        assert container["resources"]["limits"], name
        refs = [next(iter(e.values()))["name"] for e in container["envFrom"]]
        assert refs == [config["metadata"]["name"], "listwatch-secrets"], name
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        component = name.removeprefix("listwatch-")
        assert int(env[SERVICES[component]]) == ports["metrics"], name
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["maxReplicas"] <= int(config["data"]["LISTWATCH_KAFKA_PARTITIONS"])


def test_the_image_builds_from_every_package_the_project_ships() -> None:
    """Each package pyproject.toml ships is copied into the image's build stage, with setup.py (the compiled
    modules): the image once lacked contracts/, the package of the `listwatch` command itself."""
    import tomllib

    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\S+) \./\1$", dockerfile, re.M))
    assert packages <= copied, f"deploy/Dockerfile does not copy {sorted(packages - copied)}"
    assert re.search(r"^COPY .*\bsetup\.py\b", dockerfile, re.M)

"""``podsim import``: Kubernetes manifests -> a scenario with placeholders (issue 12, part 6).

Fixtures in ``tests/data/k8s/`` are shaped like real manifests: ``app/`` is a
directory holding a Deployment (the app plus an istio-proxy sidecar, the
serving container chosen by ``kubectl.kubernetes.io/default-container``), a
Service, an autoscaling/v2 HPA (CPU Utilization, a memory metric podsim
cannot compute, behavior) and a multi-document file with a ConfigMap and an
Ingress; ``multi/all.yaml`` is one multi-document file with two Deployments
(a log-shipper sidecar listed first, the serving one annotated
``podsim.io/serving-container``), an autoscaling/v1 HPA, an HPA on a custom
Pods metric and a Service that selects nothing.

Done when: the imported directory fails ``podsim check`` listing each
placeholder at its path, and passes it (and runs) once they are filled.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import sim
from scenario_helpers import cli
from sim.errors import ScenarioError
from sim.importer import import_manifests
from sim.importer.k8s import cpu_quantity, selects, serving_container
from sim.spec.placeholders import find_placeholders, merge_placeholders

DATA = Path(__file__).resolve().parent / "data" / "k8s"
APP = DATA / "app"
MULTI = DATA / "multi" / "all.yaml"
PLACEHOLDER = re.compile(r'"TODO: [^"]*?, e\.g\. ([^"]*)"')




def fill(text: str) -> str:
    """Every placeholder replaced by its own example value (what a person does with measured ones)."""
    return PLACEHOLDER.sub(lambda m: m.group(1), text)


@pytest.fixture
def imported(tmp_path, capsys) -> tuple[Path, str]:
    out = tmp_path / "scenario.yaml"
    code, stdout, err = cli(capsys, "import", APP, "--out", out)
    assert code == 0, err
    assert stdout == ""
    return out, err


# ----------------------------------------------------------------------------- done when
def test_imported_directory_fails_check_listing_each_placeholder(imported, capsys):
    path, _ = imported
    code, out, err = cli(capsys, "check", path)
    assert code == 2
    expected = ["duration", "workload.traffic.arrivals.rate", "services.checkout.pod.work",
                "services.checkout.pod.startup", "services.checkout.calls"]
    lines = [line.strip() for line in err.splitlines()[1:]]
    assert [line.split(":", 1)[0] for line in lines] == expected
    assert all("placeholder left by podsim import: TODO" in line and "replace it with a measured value" in line
               for line in lines)
    assert ("services.checkout.pod.work: placeholder left by podsim import: TODO: CPU time per request, "
            "e.g. 5ms; replace it with a measured value") in lines
    assert f"{len(expected)} problems found" in err  # no type errors on top of the placeholders


def test_filled_scenario_passes_check_and_runs(imported, capsys):
    path, _ = imported
    path.write_text(fill(path.read_text()))
    code, out, err = cli(capsys, "check", path)
    assert code == 0, err
    assert "ok ('app': 1 services [checkout]" in out
    result = sim.run(sim.load(path, overrides={"duration": "40s"}))
    assert result.summary["requests"]["ok"] > 0
    assert result.summary["services"]["checkout"]["replicas"]["max"] >= 3


def test_multi_document_file_fills_checks_and_runs(tmp_path, capsys):
    out = tmp_path / "all.yaml"
    code, _, err = cli(capsys, "import", MULTI, "--out", out)
    assert code == 0, err
    problems = _problems(out)
    assert "services.payments.hpa.metrics.0.pods.metric.name" in [p.path for p in problems]
    assert len(problems) == 9
    out.write_text(fill(out.read_text()))
    scenario = sim.load(out, overrides={"duration": "20s"})
    assert set(scenario.services) == {"web", "payments"}
    assert scenario.services["payments"].hpa.metrics[0].pods.metric.name == "requests_per_second"
    assert sim.run(scenario).summary["requests"]["ok"] > 0


def _problems(path: Path) -> list:
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    return caught.value.problems


# ----------------------------------------------------------------------------- the mapping
@pytest.fixture(scope="module")
def app() -> dict:
    return yaml.safe_load(fill(import_manifests(APP).text))


@pytest.fixture(scope="module")
def multi() -> dict:
    return yaml.safe_load(fill(import_manifests(MULTI).text))


def test_deployment_fields_map_to_the_scenario_keys(app):
    svc = app["services"]["checkout"]
    assert svc["replicas"] == 3
    pod = svc["pod"]
    assert pod["cpu_request"] == "250m" and pod["cpu_limit"] == 1.5
    assert pod["cpu"] == 2 and pod["gomaxprocs"] == 2      # GOMAXPROCS from limits.cpu, rounded up
    assert pod["termination_grace"] == "45s"
    assert svc["load_balancer"]["type"] == "least_request"  # the Istio sidecar balances per request
    assert app["workload"]["traffic"]["target"] == "checkout"
    loaded = sim.load(app)
    assert loaded.services["checkout"].pod.cpu_request == 0.25
    assert loaded.services["checkout"].pod.termination_grace == 45.0


def test_probes_of_every_kind_map_verbatim(app, multi):
    svc = app["services"]["checkout"]
    assert svc["readinessProbe"] == {"httpGet": {"path": "/readyz", "port": "http"}, "initialDelaySeconds": 2,
                                     "periodSeconds": 5, "timeoutSeconds": 2, "successThreshold": 1,
                                     "failureThreshold": 3}
    assert svc["livenessProbe"]["grpc"] == {"port": 9090} and svc["livenessProbe"]["initialDelaySeconds"] == 10
    assert svc["startupProbe"] == {"tcpSocket": {"port": "http"}, "periodSeconds": 2, "failureThreshold": 30}
    assert "probe_path" not in svc["pod"]  # httpGet/grpc go through the server's pool
    payments = multi["services"]["payments"]
    assert payments["livenessProbe"]["exec"]["command"][0] == "/bin/grpc_health_probe"
    assert payments["readinessProbe"] == {"tcpSocket": {"port": 8080}, "periodSeconds": 5}
    assert payments["pod"]["probe_path"] == "dedicated"  # tcpSocket and exec take no worker
    loaded = sim.load(multi).services["payments"]
    assert loaded.livenessProbe.periodSeconds == 20 and loaded.readinessProbe.tcpSocket == {"port": 8080}


def test_hpa_is_copied_verbatim_where_podsim_computes_it(app, multi):
    hpa = app["services"]["checkout"]["hpa"]
    assert hpa["minReplicas"] == 3 and hpa["maxReplicas"] == 20
    assert hpa["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]  # memory left out
    assert hpa["behavior"]["scaleDown"]["policies"] == [{"type": "Percent", "value": 10, "periodSeconds": 60}]
    assert hpa["scaleTargetRef"]["name"] == "checkout"
    web = multi["services"]["web"]
    assert web["hpa"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60  # autoscaling/v1
    assert web["replicas"] == 2  # no spec.replicas: the HPA's minReplicas


def test_serving_container_is_the_annotated_one_else_the_first(multi):
    web = multi["services"]["web"]["pod"]
    assert web["cpu_request"] == 2 and web["gomaxprocs"] == 2   # 'web', not the fluent-bit sidecar
    first = {"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}}
    assert serving_container(first) == (0, "the first container")
    first["spec"]["template"]["metadata"] = {"annotations": {"podsim.io/serving-container": "b"}}
    assert serving_container(first)[0] == 1
    first["spec"]["template"]["metadata"] = {"annotations": {"podsim.io/serving-container": "bb"}}
    with pytest.raises(ValueError, match="names no container; did you mean 'b'"):
        serving_container(first)


@pytest.mark.parametrize("given, written, cores", [
    ("250m", "250m", 0.25), ("1.5", 1.5, 1.5), ("2", 2, 2.0), (2, 2, 2.0), (0.5, 0.5, 0.5),
    ("1500m", "1500m", 1.5),
    ("1e0", 1.0, 1.0), ("100m", "100m", 0.1),
])
def test_cpu_quantities(given, written, cores):
    assert cpu_quantity(given) == (written, cores)


def test_bad_cpu_quantity_exits_2_naming_the_deployment(tmp_path, capsys):
    text = (APP / "deployment.yaml").read_text().replace("cpu: 250m", "cpu: lots")
    (tmp_path / "deployment.yaml").write_text(text)
    code, _, err = cli(capsys, "import", tmp_path)
    assert code == 2
    assert "Deployment checkout: " in err and "expected a quantity such as" in err and "'lots'" in err


def test_service_selector_matches_pod_template_labels():
    assert selects({"app": "web"}, {"app": "web", "tier": "frontend"})
    assert not selects({"app": "web", "tier": "db"}, {"app": "web", "tier": "frontend"})
    assert not selects({}, {"app": "web"})


def test_unsupported_kinds_and_fields_are_listed(imported):
    path, err = imported
    for text in ("not imported: ConfigMap checkout-config", "not imported: Ingress shop",
                 "containers[0].resources.requests.memory", "containers[0].lifecycle",
                 "containers[1] (istio-proxy)", "spec.sessionAffinity", "spec.metrics[1]",
                 "Resource memory: podsim models CPU only", "ignored: 7 fields",
                 "5 placeholders to fill"):
        assert text in err, text
    head = path.read_text().split("\nname:")[0]  # the comment block at the top of the scenario
    for text in ("ConfigMap checkout-config", "Ingress shop", "resources.limits.memory", "istio-proxy",
                 "spec.sessionAffinity", "Resource memory", "containers[0].ports"):
        assert text in head, text


def test_warnings_for_a_service_that_selects_nothing_and_a_recreate_strategy(capsys):
    code, out, err = cli(capsys, "import", MULTI)
    assert code == 0
    assert "warning: Service legacy-db" in err and "matches no Deployment" in err
    assert "Recreate: only rolling updates are modeled" in err
    assert out.startswith("# Imported by `podsim import")  # stdout: the scenario itself
    assert "# rollouts:\n#   - {service: web, at: 10m, maxSurge: 25%, maxUnavailable: 25%}" in out
    assert "PAYMENTS_URL=http://payments:8080/v1 -> payments" in out  # a call-graph hint


def test_hpa_that_targets_nothing_is_a_warning(tmp_path, capsys):
    (tmp_path / "d.yaml").write_text((APP / "deployment.yaml").read_text())
    hpa = yaml.safe_load((APP / "hpa.yaml").read_text())
    hpa["spec"]["scaleTargetRef"]["name"] = "chekout"
    (tmp_path / "h.yml").write_text(yaml.safe_dump(hpa))
    code, out, err = cli(capsys, "import", tmp_path)
    assert code == 0
    assert "HorizontalPodAutoscaler checkout" in err and "Deployment/chekout is not an imported Deployment" in err
    assert "hpa:" not in out


# ----------------------------------------------------------------------------- bad input
def test_missing_path_exits_2_with_did_you_mean(capsys, tmp_path):
    code, _, err = cli(capsys, "import", DATA / "ap")
    assert code == 2 and "no such file or directory; did you mean" in err and "app" in err


def test_bad_yaml_exits_2_with_file_and_line(tmp_path, capsys):
    bad = tmp_path / "deploy.yaml"
    bad.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n spec: {}\n")
    code, _, err = cli(capsys, "import", tmp_path)
    assert code == 2
    assert f"{bad}:5:2: YAML syntax error" in err


def test_helm_template_is_explained(tmp_path, capsys):
    (tmp_path / "t.yaml").write_text("kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  x: [\n")
    code, _, err = cli(capsys, "import", tmp_path / "t.yaml")
    assert code == 2 and "helm template" in err


def test_no_deployment_exits_2(capsys):
    code, _, err = cli(capsys, "import", APP / "service.yaml")
    assert code == 2
    assert "no Deployment found (found: Service checkout)" in err


def test_out_is_not_overwritten_without_force(imported, capsys):
    path, _ = imported
    path.write_text("mine\n")
    code, _, err = cli(capsys, "import", APP, "--out", path)
    assert code == 2 and "--out: exists; use --force to overwrite it" in err
    assert path.read_text() == "mine\n"
    code, _, _ = cli(capsys, "import", APP, "--out", path, "--force")
    assert code == 0 and path.read_text().startswith("# Imported")


def test_empty_documents_and_lists_are_read(tmp_path):
    deployment = (APP / "deployment.yaml").read_text()
    service = yaml.safe_load((APP / "service.yaml").read_text())
    listing = {"apiVersion": "v1", "kind": "List", "items": [service]}
    (tmp_path / "all.yaml").write_text("---\n" + deployment + "\n---\n# nothing\n---\n" + yaml.safe_dump(listing))
    result = import_manifests(tmp_path)
    assert [i.split(" (")[0] for i in result.imported.imported] == ["Deployment checkout", "Service checkout"]


# ----------------------------------------------------------------------------- placeholders in check
def test_placeholders_replace_the_type_errors_they_cause_and_keep_the_others():
    raw = {"name": "x", "duration": "TODO: how long, e.g. 1m",
           "workload": {"w": {"target": "api", "arrivals": {"rate": 5}}},
           "services": {"api": {"pod": {"work": "TODO: CPU time per request, e.g. 5ms", "cpu": "lots"}}}}
    with pytest.raises(ScenarioError) as caught:
        sim.load(raw)
    paths = [p.path for p in caught.value.problems]
    assert paths == ["duration", "services.api.pod.work", "services.api.pod.cpu"]
    assert not find_placeholders({"a": ["x", {"b": "not TODO"}]})
    assert merge_placeholders([], ["p"]) == ["p"]


def test_set_replaces_a_placeholder(imported, capsys):
    path, _ = imported
    text = path.read_text().replace('"TODO: downstream calls, e.g. []"', "[]")
    path.write_text(text)
    code, _, err = cli(capsys, "check", path, "--set", "duration=1m", "--set", "workload.traffic.arrivals.rate=5",
                       "--set", "services.checkout.pod.work=2ms", "--set", "services.checkout.pod.startup=1s")
    assert code == 0, err


HPA_ONLY_UNSUPPORTED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  template:
    spec:
      containers: [{name: worker, resources: {limits: {cpu: 500m}}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: worker}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
  maxReplicas: 5
  metrics:
    - type: External
      external:
        metric: {name: sqs_queue_depth}
        target: {type: AverageValue, averageValue: "30"}
    - type: ContainerResource
      containerResource: {name: cpu, container: istio-proxy, target: {type: Utilization, averageUtilization: 80}}
"""


def test_hpa_without_a_metric_podsim_computes_gets_a_metrics_placeholder(tmp_path):
    (tmp_path / "worker.yaml").write_text(HPA_ONLY_UNSUPPORTED)
    result = import_manifests(tmp_path / "worker.yaml")
    notes = [str(n) for n in result.imported.notes]
    assert any("External metric 'sqs_queue_depth'" in n for n in notes)
    assert any("ContainerResource cpu of container 'istio-proxy'" in n for n in notes)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(result.text)
    assert "services.worker.hpa.metrics" in [p.path for p in _problems(scenario)]  # not CPU 80 % silently
    scenario.write_text(fill(result.text))
    loaded = sim.load(scenario).services["worker"]
    assert loaded.hpa.metrics[0].resource.target.averageUtilization == 70
    assert loaded.pod.cpu_limit == 0.5 and loaded.pod.cpu == 2 and loaded.pod.effective_gomaxprocs == 2


def test_container_resource_of_the_serving_container_is_a_resource_metric(tmp_path):
    text = HPA_ONLY_UNSUPPORTED.replace("container: istio-proxy", "container: worker")
    (tmp_path / "worker.yaml").write_text(text)
    hpa = yaml.safe_load(fill(import_manifests(tmp_path / "worker.yaml").text))["services"]["worker"]["hpa"]
    assert hpa["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]

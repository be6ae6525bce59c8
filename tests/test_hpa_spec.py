"""The ``hpa`` block is validated and defaulted once, at load (sim.spec.hpa).

Bad input -- each rule of Kubernetes' pkg/apis/autoscaling/validation
(validateMetricTarget, validate*Source, validateScalingRules,
validateScalingPolicy) and the simulator's own limits (metric names) -- makes
``podsim check`` exit 2 with one ``path: problem (got VALUE)`` line naming the
field, never a traceback. Good input comes out with autoscaling/v2's defaults
(pkg/apis/autoscaling/v2/defaults.go) and every quantity a float.
"""
from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import sim
from sim.cli import main
from sim.policies.hpa.behavior import Normalizer
from sim.spec.hpa import DOWNSCALE_STABILIZATION_S, HPABehavior, HPAScalingPolicy
from sim.units import parse_quantity

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\s*(?P<path>\S[^:]*): (?P<message>.+?)(?: \(got (?P<value>.+)\))?$")
HPA = "services.web.hpa"
CPU70 = {"type": "Resource",
         "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
RPS10 = {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"},
                                  "target": {"type": "AverageValue", "averageValue": 10}}}


def scenario(hpa: dict) -> dict:
    return {"name": "hpa-spec", "duration": 60,
            "workload": {"users": {"target": "web", "arrivals": {"rate": 5}}},
            "services": {"web": {"pod": {"work": "10ms"}, "hpa": hpa},
                         "db": {"pod": {"work": "1ms"}}}}


def hpa(**fields) -> dict:
    spec = {"minReplicas": 1, "maxReplicas": 5, "metrics": [copy.deepcopy(CPU70)]}
    spec.update(fields)
    return spec


def behavior(direction: str, **rules) -> dict:
    return hpa(behavior={direction: rules})


def pods_metric(target: dict, name: str = "requests_per_second") -> dict:
    return hpa(metrics=[{"type": "Pods", "pods": {"metric": {"name": name}, "target": target}}])


def object_metric(target: dict) -> dict:
    return hpa(metrics=[{"type": "Object", "object": {
        "metric": {"name": "requests_per_second"},
        "describedObject": {"kind": "Service", "name": "db"}, "target": target}}])


def external_metric(name: str, target: dict) -> dict:
    return hpa(metrics=[{"type": "External", "external": {"metric": {"name": name},
                                                          "target": target}}])


def resource_target(target: dict) -> dict:
    return hpa(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": target}}])


def policy(**fields) -> dict:
    return {"type": "Pods", "value": 1, "periodSeconds": 15, **fields}


# (id, hpa block, path of the problem relative to services.web.hpa, words of the message)
BAD = [
    ("unknown behavior key", hpa(behavior={"sideways": 1}), "behavior.sideways", "unknown key"),
    ("behavior not a mapping", hpa(behavior=5), "behavior", "mapping"),
    ("average value not a quantity", pods_metric({"type": "AverageValue", "averageValue": "lots"}),
     "metrics.0.pods.target.averageValue", "quantity"),
    ("average value with a unit Kubernetes lacks",
     pods_metric({"type": "AverageValue", "averageValue": "10kb"}),
     "metrics.0.pods.target.averageValue", "quantity"),
    ("average value zero", pods_metric({"type": "AverageValue", "averageValue": 0}),
     "metrics.0.pods.target.averageValue", "> 0"),
    ("average value negative", pods_metric({"type": "AverageValue", "averageValue": "-500m"}),
     "metrics.0.pods.target.averageValue", "> 0"),
    ("object value not a quantity", object_metric({"type": "Value", "value": "many"}),
     "metrics.0.object.target.value", "quantity"),
    ("utilization zero", resource_target({"type": "Utilization", "averageUtilization": 0}),
     "metrics.0.resource.target.averageUtilization", "> 0"),
    ("target field missing for its type", resource_target({"type": "AverageValue"}),
     "metrics.0.resource.target", "needs averageValue"),
    ("two target fields", resource_target({"type": "Utilization", "averageUtilization": 50,
                                           "averageValue": "500m"}),
     "metrics.0.resource.target", "takes only averageUtilization"),
    ("resource metric with a Value target", resource_target({"type": "Value", "value": 1}),
     "metrics.0.resource.target", "Utilization or AverageValue"),
    ("pods metric with a Utilization target",
     pods_metric({"type": "Utilization", "averageUtilization": 50}),
     "metrics.0.pods.target", "AverageValue"),
    ("external metric with a Utilization target",
     external_metric("users.requests_per_second", {"type": "Utilization",
                                                   "averageUtilization": 50}),
     "metrics.0.external.target", "Value or AverageValue"),
    ("unknown pod metric", pods_metric({"type": "AverageValue", "averageValue": 1}, "latency"),
     "metrics.0.pods.metric.name", "requests_per_second"),
    ("external metric of no workload rate",
     external_metric("users.latency", {"type": "Value", "value": 1}),
     "metrics.0.external.metric.name", "requests_per_second"),
    ("metric type without its block", hpa(metrics=[{"type": "Pods"}]), "metrics.0",
     "needs a 'pods' block"),
    ("select policy unknown", behavior("scaleUp", selectPolicy="Fastest"),
     "behavior.scaleUp.selectPolicy", "Max"),
    ("window above an hour", behavior("scaleDown", stabilizationWindowSeconds=3601),
     "behavior.scaleDown.stabilizationWindowSeconds", "<= 3600"),
    ("window negative", behavior("scaleUp", stabilizationWindowSeconds=-1),
     "behavior.scaleUp.stabilizationWindowSeconds", ">= 0"),
    ("window not a whole number", behavior("scaleUp", stabilizationWindowSeconds=1.5),
     "behavior.scaleUp.stabilizationWindowSeconds", "whole number"),
    ("window misspelt", behavior("scaleUp", stabilisationWindowSeconds=10),
     "behavior.scaleUp.stabilisationWindowSeconds", "did you mean 'stabilizationWindowSeconds'"),
    ("no policy", behavior("scaleUp", policies=[]), "behavior.scaleUp.policies", "at least 1"),
    ("policies not a list", behavior("scaleUp", policies="fast"), "behavior.scaleUp.policies",
     "list"),
    ("policy type unknown", behavior("scaleUp", policies=[policy(type="Nodes")]),
     "behavior.scaleUp.policies.0.type", "Pods"),
    ("policy value zero", behavior("scaleDown", policies=[policy(value=0)]),
     "behavior.scaleDown.policies.0.value", "> 0"),
    ("policy period zero", behavior("scaleDown", policies=[policy(periodSeconds=0)]),
     "behavior.scaleDown.policies.0.periodSeconds", "> 0"),
    ("policy period above 30 minutes", behavior("scaleDown", policies=[policy(periodSeconds=1801)]),
     "behavior.scaleDown.policies.0.periodSeconds", "<= 1800"),
    ("policy period missing", behavior("scaleDown", policies=[{"type": "Pods", "value": 1}]),
     "behavior.scaleDown.policies.0.periodSeconds", "required"),
    ("second policy bad", behavior("scaleUp", policies=[policy(), policy(value=-2)]),
     "behavior.scaleUp.policies.1.value", "> 0"),
    ("tolerance negative", behavior("scaleUp", tolerance=-0.1), "behavior.scaleUp.tolerance",
     ">= 0"),
    ("tolerance not a quantity", behavior("scaleDown", tolerance="low"),
     "behavior.scaleDown.tolerance", "quantity"),
    ("scale target ref with an unknown key", hpa(scaleTargetRef={"name": "web", "knd": "x"}),
     "scaleTargetRef.knd", "unknown key"),
]


def _check(capsys, tmp_path, hpa_block: dict) -> tuple[int, str, str]:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario(hpa_block)))
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("hpa_block, path, words", [case[1:] for case in BAD],
                         ids=[case[0] for case in BAD])
def test_bad_hpa_input_exits_2_naming_the_field(capsys, tmp_path, hpa_block, path, words):
    code, out, err = _check(capsys, tmp_path, hpa_block)
    assert code == 2, (out, err)
    assert "Traceback" not in err + out and "internal error" not in err + out
    lines = [line.strip() for line in err.splitlines()[1:] if line.strip()]
    assert len(lines) == 1, lines
    match = LINE.match(lines[0])
    assert match, lines[0]
    assert match.group("path") == f"{HPA}.{path}"
    assert words in match.group("message"), lines[0]


def test_the_two_inputs_of_the_issue_fail_in_a_subprocess_without_traceback(tmp_path):
    """Issue 8, finding 1: these passed ``podsim check`` and crashed the run."""
    path = tmp_path / "scenario.yaml"
    bad = pods_metric({"type": "AverageValue", "averageValue": "lots"})
    bad["behavior"] = {"sideways": 1}
    path.write_text(yaml.safe_dump(scenario(bad)))
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "check", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{HPA}.behavior.sideways: unknown key" in proc.stderr
    assert f"{HPA}.metrics.0.pods.target.averageValue: expected a quantity" in proc.stderr
    assert "(got 'lots')" in proc.stderr


def test_bad_hpa_override_is_reported_like_a_file_problem():
    with pytest.raises(sim.ScenarioError) as info:
        sim.load(scenario(hpa(behavior={})),
                 overrides={f"{HPA}.behavior.scaleUp.selectPolicy": "Fastest"})
    assert [p.path for p in info.value.problems] == [f"{HPA}.behavior.scaleUp.selectPolicy"]


# ----------------------------------------------------------------------------- defaults
def load_hpa(block: dict):
    return sim.load(scenario(block)).services["web"].hpa


def test_empty_behavior_takes_autoscaling_v2_defaults():
    """GenerateHPAScaleUpRules / GenerateHPAScaleDownRules on a nil rule set."""
    spec = load_hpa(hpa(behavior={}))
    up, down = spec.behavior.scaleUp, spec.behavior.scaleDown
    assert up.stabilizationWindowSeconds == 0
    assert up.selectPolicy == "Max"
    assert up.policies == [HPAScalingPolicy(type="Pods", value=4, periodSeconds=15),
                           HPAScalingPolicy(type="Percent", value=100, periodSeconds=15)]
    assert down.selectPolicy == "Max"
    assert down.policies == [HPAScalingPolicy(type="Percent", value=100, periodSeconds=15)]
    assert up.tolerance is None and down.tolerance is None
    # the scale-down window is left to the controller's flag (300 s by default)
    assert down.stabilizationWindowSeconds is None
    assert spec.downscale_stabilization == DOWNSCALE_STABILIZATION_S == 300.0
    normalizer = Normalizer(spec.minReplicas, spec.maxReplicas, spec.behavior,
                            spec.downscale_stabilization)
    assert normalizer.scale_down_window_s == 300


def test_a_partial_rule_set_keeps_the_other_defaults():
    """copyHPAScalingRules: only the fields given replace the defaults."""
    spec = load_hpa(behavior("scaleUp", selectPolicy="Min"))
    assert spec.behavior.scaleUp.selectPolicy == "Min"
    assert [p.value for p in spec.behavior.scaleUp.policies] == [4, 100]
    assert spec.behavior.scaleDown == HPABehavior().scaleDown


def test_null_fields_take_their_defaults_as_in_kubernetes():
    spec = load_hpa(hpa(behavior={"scaleUp": {"policies": None, "stabilizationWindowSeconds": None},
                                  "scaleDown": None}))
    assert spec.behavior == HPABehavior()


def test_no_behavior_is_the_legacy_path_and_no_metrics_is_cpu_80():
    spec = load_hpa({"maxReplicas": 3})
    assert spec.behavior is None
    assert spec.minReplicas == 1
    (metric,) = spec.metrics
    assert metric.type == "Resource" and metric.resource.name == "cpu"
    assert (metric.resource.target.type, metric.resource.target.averageUtilization) == (
        "Utilization", 80)
    assert load_hpa({"maxReplicas": 3, "metrics": []}).metrics == spec.metrics


@pytest.mark.parametrize("text, value", [
    ("500m", 0.5), ("10", 10.0), (10, 10.0), ("1k", 1000.0), ("1.5k", 1500.0),
    ("2Gi", 2.0 * 2 ** 30), ("1Mi", 2.0 ** 20), ("1e3", 1000.0), ("250u", 250e-6),
])
def test_quantities_are_floats_after_loading(text, value):
    spec = load_hpa(pods_metric({"type": "AverageValue", "averageValue": text}))
    assert spec.metrics[0].pods.target.averageValue == pytest.approx(value, rel=1e-12)
    spec = load_hpa(object_metric({"type": "Value", "value": text}))
    assert spec.metrics[0].object.target.value == pytest.approx(value, rel=1e-12)


def test_scale_tolerances_are_quantities():
    spec = load_hpa(hpa(behavior={"scaleUp": {"tolerance": "50m"}, "scaleDown": {"tolerance": 0}}))
    assert spec.behavior.scaleUp.tolerance == pytest.approx(0.05)
    assert spec.behavior.scaleDown.tolerance == 0.0


def test_the_resolved_scenario_loads_back_unchanged():
    raw = scenario(hpa(metrics=[CPU70, RPS10], behavior={"scaleUp": {"tolerance": "50m"}},
                       scaleTargetRef={"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": "web"}))
    loaded = sim.load(raw)
    again = sim.load(loaded.to_dict())
    assert again == loaded
    # an override of the controller flag still reaches the unset scale-down window
    changed = sim.load(loaded, overrides={f"{HPA}.downscale_stabilization": "60s"})
    web = changed.services["web"].hpa
    assert web.behavior.scaleDown.stabilizationWindowSeconds is None
    assert Normalizer(1, 5, web.behavior, web.downscale_stabilization).scale_down_window_s == 60


@pytest.mark.parametrize("text, value", [
    ("100n", 1e-7), ("1E", 1e18), ("1Ei", 2.0 ** 60), ("5E-1", 0.5), ("+.5", 0.5), (" 2k ", 2000.0),
])
def test_parse_quantity_follows_the_kubernetes_grammar(text, value):
    assert parse_quantity(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["lots", "1 k", "1kb", "", "m", "1e", "1e999", True, float("nan")])
def test_parse_quantity_rejects_what_kubernetes_rejects(text):
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity(text)

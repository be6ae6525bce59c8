"""The Python API: ``sim.load``, ``sim.run``, ``sim.sweep``, the Result and the
pure policies, with signatures and first docstring paragraphs from
:mod:`inspect` (nothing is copied).

:data:`API` names what is public; everything listed must import (the
generator fails otherwise) and have a docstring (:func:`undocumented`).
"""
from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from .markdown import first_paragraph, table

API: list[tuple[str, tuple[str, ...]]] = [
    ("sim", ("load", "run", "sweep", "Scenario", "ScenarioError", "Problem")),
    ("sim.result", ("Result",)),
    ("sim.policies.hpa", ("PodSample", "Tolerances", "resource_replicas", "plain_metric_replicas",
                          "object_metric_replicas", "external_metric_replicas",
                          "combine_metric_proposals", "metrics_abort_sync", "Normalizer",
                          "Decision", "Recommendation", "ScaleEvent")),
    ("sim.policies.breaker", ("CircuitBreaker",)),
    ("sim.policies.backoff", ("NoBackoff", "ConstantBackoff", "ExponentialBackoff", "make_backoff")),
    ("sim.policies.budgets", ("RetryBudget", "EnvoyRetryBudget", "TokenBucketRetryThrottle",
                              "AwsRetryQuota", "RetryRatioBudget", "make_budget")),
    ("sim.policies.load_balancer", ("RoundRobin", "RandomChoice", "LeastRequest", "make_load_balancer")),
    ("sim.policies.cfs", ("quota_s", "CfsBandwidth")),
    ("sim.policies.throttle", ("AdaptiveThrottle",)),
    ("sim.policies.outlier", ("OutlierDetector",)),
    ("sim.policies.bulkhead", ("SemaphoreBulkhead", "ThreadPoolBulkhead")),
    ("sim.policies.probes", ("ProbeConfig", "ProbeResultTracker", "ProbeSchedule", "CrashLoopBackOff")),
    ("sim.policies.replicaset", ("rank_pods_for_deletion", "pods_to_delete", "resolve_fenceposts",
                                 "new_rs_scale_up_target", "old_rs_scale_down")),
    ("sim.policies.scheduling", ("choose_node",)),
    ("sim.policies.cluster_autoscaler", ("ClusterAutoscalerPolicy",)),
    ("sim.theory", ()),  # empty: its __all__
]
"""(module, public names); an empty tuple means the module's ``__all__``."""

RESULT_ATTRIBUTES = {
    "scenario": "the validated `Scenario` that ran (`.to_dict()`: as written to scenario.yaml)",
    "summary": "the `summary.json` of the run as a dict (section 3)",
    "requests": "`requests.parquet` as a DataFrame (section 2)",
    "calls": "`calls.parquet` as a DataFrame (section 2)",
    "timeseries": "`timeseries.parquet` as a DataFrame (section 2)",
    "events": "`events.parquet` as a DataFrame (section 2)",
}
"""The data a :class:`sim.result.Result` holds (set on itself or built on first
use, without docstrings of their own); its methods are read from the class."""

_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
_FORWARD_REF = re.compile(r"ForwardRef\('([^']*)'\)")


def names(module: str, listed: tuple[str, ...]) -> tuple[str, ...]:
    return listed or tuple(importlib.import_module(module).__all__)


def signature(obj: Any) -> str:
    """``(args) -> ret`` as :func:`inspect.signature` spells it, memory
    addresses dropped (the document must not change from run to run). A
    pydantic model takes its fields as keywords (section 5)."""
    from pydantic import BaseModel
    if inspect.isclass(obj) and issubclass(obj, BaseModel):
        return "(**fields)"
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""
    text = _FORWARD_REF.sub(r"'\1'", text)  # a NamedTuple's string annotations
    return _ADDRESS.sub("", text)  # a sentinel default: ``<object object>``


def own_doc(obj: Any) -> str | None:
    """The docstring ``obj`` itself has (a class does not inherit its base's here)."""
    return obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__


def _members(cls: type) -> list[tuple[str, str, str]]:
    """(name, signature, first paragraph) of the public members ``cls`` defines itself."""
    rows = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property) or type(value).__name__ == "cached_property":
            rows.append((name, "", first_paragraph(getattr(value, "__doc__", None))))
        elif inspect.isfunction(value):
            sig = signature(value).replace("(self, ", "(").replace("(self)", "()").replace("(cls, ", "(")
            rows.append((name, sig, first_paragraph(value.__doc__)))
    return rows


def undocumented() -> list[str]:
    """Public names of :data:`API` without a docstring."""
    missing = []
    for module, listed in API:
        mod = importlib.import_module(module)
        for name in names(module, listed):
            if not own_doc(getattr(mod, name)):
                missing.append(f"{module}.{name}")
    return missing


def _entry(module: str, name: str, obj: Any) -> list[str]:
    kind = "class" if inspect.isclass(obj) else "function"
    head = f"#### `{module}.{name}{signature(obj)}`"
    lines = [head, f"*{kind}* — {first_paragraph(own_doc(obj))}"]
    if inspect.isclass(obj):
        rows = [(f"`{n}{s}`", d) for n, s, d in _members(obj)]
        if module == "sim.result" and name == "Result":
            rows = [(f"`{n}`", d) for n, d in RESULT_ATTRIBUTES.items()] + [
                row for row in rows if row[0].strip("`") not in RESULT_ATTRIBUTES]
        if rows:
            lines.append(table(["member", "what"], rows))
    return lines


def section() -> str:
    """Section 6: the Python API."""
    parts = ["## 6. Python API",
             "```python\nimport sim\nscenario = sim.load(\"models/reference.yaml\", "
             "overrides={\"services.users.replicas\": 4})\nresult = sim.run(scenario, seed=3)"
             "   # result.summary, .requests, .calls, .timeseries, .events\n"
             "table = sim.sweep(\"experiments/mmc-servers.yaml\", out=\"out/mmc\")   # one row per run\n```",
             "The policies are plain classes and functions with no SimPy inside: times are "
             "arguments (`now_s`), randomness comes in as uniforms."]
    for module, listed in API:
        mod = importlib.import_module(module)
        parts.append(f"### `{module}`")
        if module != "sim":
            parts.append(first_paragraph(inspect.getdoc(mod)))
        for name in names(module, listed):
            parts.append("\n\n".join(_entry(module, name, getattr(mod, name))))
    return "\n\n".join(parts)

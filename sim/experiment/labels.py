"""Human labels for what an experiment varies and measures, with units.

A metric is shown in a display unit (seconds as ms, ratios as %), a factor
by what it controls (``services.api.hpa...averageUtilization`` is "api HPA CPU
target (%)"), an arm by its name. The experiment file's ``labels:`` mapping
(keyed by arm, factor or metric name) replaces any default text; units are kept.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

STATS = {"mean": "mean", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "p999": "p99.9",
         "max": "max", "min": "min", "final": "final"}
NAMED = {
    "latency_s": "latency (ok requests)", "latency_all_s": "latency (all requests)",
    "success_ratio": "success ratio", "goodput_rps": "goodput", "offered_rps": "offered load",
    "attempts_per_request": "attempts per request", "hops_per_request": "hops per request",
    "pod_seconds": "pod-seconds", "good_ratio": "SLO good ratio",
    "error_budget_burn": "error-budget burn", "cpu_utilization": "CPU utilization",
    "waited_ratio": "share that waited", "queue_wait_s": "queue wait", "bad": "SLO-bad requests",
}
SECTIONS = {"requests", "slo", "latency_s", "latency_all_s"}
TIGHT_UNITS = ("%", "×")       # written without a space: 95%, 1.2×


def number(value: float, digits: int = 3) -> str:
    """A number for reading: ``digits`` significant digits, thousands separated, '-' for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    x = float(value)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    text = f"{x:.{digits}g}"
    return f"{float(text):,.0f}" if "e" in text and abs(x) >= 1 else text


@dataclass(frozen=True)
class MetricDisplay:
    """How a metric is shown: ``label``, display ``unit`` and ``scale`` (display = value * scale)."""

    name: str
    label: str
    unit: str
    scale: float = 1.0
    nonnegative: bool = True
    ratio: bool = False

    @property
    def axis(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def value(self, x: float, digits: int = 3) -> str:
        """``x`` in display units, with the unit."""
        text = number(x * self.scale if x is not None else x, digits)
        if text == "-" or not self.unit:
            return text
        return f"{text}{self.unit}" if self.unit in TIGHT_UNITS else f"{text} {self.unit}"

    def delta(self, d: float, digits: int = 2) -> str:
        """A difference ``d`` in display units, signed (ratios in percentage points)."""
        if d is None or not math.isfinite(d):
            return "-"
        scaled = d * self.scale
        text = number(scaled, digits)
        text = text if text.startswith("-") or scaled == 0 else "+" + text
        if self.ratio:
            return f"{text} pts"
        if not self.unit:
            return text
        return f"{text}{self.unit}" if self.unit in TIGHT_UNITS else f"{text} {self.unit}"

    def interval(self, low: float, high: float, digits: int = 2) -> str:
        """``[low, high]`` in display units (bounds of a difference: signed)."""
        return f"[{self.delta(low, digits)}, {self.delta(high, digits)}]"


def _metric_default(name: str) -> MetricDisplay:
    parts = name.split(".")
    where = ""
    if parts[0] == "services" and len(parts) >= 3:
        where, parts = parts[1] + ": ", parts[2:]
    elif parts[0] == "windows" and len(parts) >= 3:      # window names may hold dots: after.fault.0
        cut = next((i for i in range(2, len(parts)) if parts[i] in NAMED or parts[i] in SECTIONS), 2)
        inner = _metric_default(".".join(parts[cut:]))
        return MetricDisplay(name, f"{inner.label} in window {'.'.join(parts[1:cut])}", inner.unit,
                             inner.scale, inner.nonnegative, inner.ratio)
    if parts[0] == "topics" and len(parts) >= 5 and parts[2] == "groups":   # topics.T.groups.G.x
        where, parts = f"{parts[3]} on {parts[1]}: ", parts[4:]
        if parts[0] in ("lag_max", "delivered", "acked", "redelivered", "failed"):
            label = {"lag_max": "max lag"}.get(parts[0], parts[0])
            return MetricDisplay(name, where + label, "msgs")
        if parts[0] in ("end_to_end_s", "wait_s"):
            stat = STATS.get(parts[-1]) if len(parts) > 1 else None
            base = "end-to-end latency" if parts[0] == "end_to_end_s" else "wait before delivery"
            return MetricDisplay(name, f"{where}{stat + ' ' if stat else ''}{base}", "ms", 1000.0)
    if parts[0] == "topics" and len(parts) == 3:                              # topics.T.x
        return MetricDisplay(name, f"{parts[1]}: {parts[2].replace('_', ' ')}", "msgs")
    if parts[0] == "slo" and len(parts) >= 2:
        parts = parts[1:]
    if parts[0] == "requests" and len(parts) == 2:
        return MetricDisplay(name, f"{where}requests {parts[1]}", "requests")
    head, stat = parts[0], STATS.get(parts[-1]) if len(parts) > 1 else None
    base = NAMED.get(head, head.replace("_", " "))
    label = f"{where}{stat + ' ' if stat else ''}{base}"
    if head.endswith("_ratio") or head == "cpu_utilization":
        return MetricDisplay(name, label, "%", 100.0, True, True)
    if head == "pod_seconds":
        return MetricDisplay(name, label if where else "pod-seconds (all services)", "pod-s")
    if head.endswith("_s"):
        return MetricDisplay(name, label, "ms", 1000.0)
    if head.endswith("_rps"):
        return MetricDisplay(name, label, "req/s")
    if head == "error_budget_burn":
        return MetricDisplay(name, label, "×")
    if head == "replicas":
        return MetricDisplay(name, f"{where}{stat + ' ' if stat else ''}replicas", "pods")
    return MetricDisplay(name, label, "")


_FACTOR_PATTERNS = [
    (r"^services\.([^.]+)\.hpa\.metrics\.\d+\.resource\.target\.averageUtilization$", "{0} HPA CPU target", "%"),
    (r"^services\.([^.]+)\.hpa\.minReplicas$", "{0} HPA min replicas", "pods"),
    (r"^services\.([^.]+)\.hpa\.maxReplicas$", "{0} HPA max replicas", "pods"),
    (r"^services\.([^.]+)\.hpa\.behavior\.scaleDown\.stabilizationWindowSeconds$",
     "{0} scale-down window", "s"),
    (r"^services\.([^.]+)\.replicas$", "{0} replicas", "pods"),
    (r"^services\.([^.]+)\.pod\.cpu$", "{0} CPU per pod", "cores"),
    (r"^services\.([^.]+)\.pod\.workers$", "{0} workers per pod", ""),
    (r"^services\.([^.]+)\.pod\.queue$", "{0} queue per pod", ""),
    (r"^workload\.([^.]+)\.arrivals\.rate$", "{0} arrival rate", "req/s"),
    (r"^workload\.([^.]+)\.client\.timeout$", "{0} client timeout", ""),
    (r"^workload\.([^.]+)\.client\.retry\.max_attempts$", "{0} client attempts", ""),
]


def factor_default(path: str) -> tuple[str, str]:
    """``(label, unit)`` of a factor path (a readable form of the path by default)."""
    for pattern, label, unit in _FACTOR_PATTERNS:
        match = re.match(pattern, path)
        if match:
            return label.format(*match.groups()), unit
    parts = [p for p in path.split(".") if not p.isdigit()]
    if parts and parts[0] in ("services", "workload") and len(parts) > 2:
        parts = [parts[1]] + parts[2:][-2:]
    else:
        parts = parts[-2:]
    return " ".join(p.replace("_", " ") for p in parts), ""


class Labels:
    """Display text for one experiment (``labels:`` first, then the defaults)."""

    def __init__(self, overrides: Optional[Mapping[str, str]] = None,
                 factor_paths: Optional[Mapping[str, tuple[str, ...]]] = None):
        self.overrides = dict(overrides or {})
        self.factor_paths = dict(factor_paths or {})
        # a coupled factor's first path (its plot dimension) stands for the factor
        self.coupled = {paths[0]: name for name, paths in self.factor_paths.items() if len(paths) > 1}

    @classmethod
    def of(cls, exp) -> "Labels":
        """The labels of a loaded experiment (or defaults for None)."""
        if exp is None:
            return cls()
        paths = {f.name: f.paths for f in exp.factors}
        paths.update({p: (p,) for p in exp.sampled_paths})
        return cls(exp.spec.labels, paths)

    def metric(self, name: str) -> MetricDisplay:
        shown = _metric_default(name)
        if name in self.overrides:
            shown = MetricDisplay(name, self.overrides[name], shown.unit, shown.scale, shown.nonnegative,
                                  shown.ratio)
        return shown

    def arm(self, name: str) -> str:
        return self.overrides.get(name, name)

    def _factor(self, name: str) -> tuple[str, str]:
        name = self.coupled.get(name, name)
        paths = self.factor_paths.get(name, (name,))
        label, unit = factor_default(paths[0])
        if len(paths) > 1:
            label, unit = name, ""
        for key in (name, paths[0]):
            if key in self.overrides:
                return self.overrides[key], unit
        return label, unit

    def factor(self, name: str) -> str:
        """The factor's label with its unit, e.g. ``go-service HPA CPU target (%)``."""
        label, unit = self._factor(name)
        return f"{label} ({unit})" if unit else label

    def factor_name(self, name: str) -> str:
        """The factor's label without the unit."""
        return self._factor(name)[0]

    def level(self, name: str, value: Any) -> str:
        """A level of a factor with its unit, e.g. ``70%``; a coupled level joined with ' / '."""
        unit = self._factor(name)[1]
        if isinstance(value, (list, tuple)):
            return " / ".join(_plain(v) for v in value)
        text = _plain(value)
        if not unit or text == "null":
            return text
        return f"{text}%" if unit == "%" else f"{text} {unit}"


def _plain(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)

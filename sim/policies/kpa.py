"""The Knative Pod Autoscaler (KPA) decider, as pure Python arithmetic.

One :class:`Autoscaler` per revision; the caller ticks it every
``tick_interval_s`` (2 s, ``multiscaler.go`` ``tickInterval``) with the
revision-wide averages it observed over the stable and panic windows, and gets
back a :class:`ScaleResult`. No metric collection, no clock of its own, no
SimPy.

Sources imitated (knative/serving@98e5ef90):

* ``pkg/autoscaler/scaling/autoscaler.go`` -- ``New``, ``newAutoscaler``
  (start in panic mode when created over one ready pod), ``Update``,
  ``Scale`` (rate limits, activation scale, panic bookkeeping, the
  scale-down delay window, excess burst capacity);
* ``pkg/autoscaler/scaling/multiscaler.go`` -- ``DeciderSpec``,
  ``ScaleResult``, ``invalidSR``, ``tickInterval``;
* ``pkg/autoscaler/aggregation/max/{timewindow,window}.go`` -- the
  ``max.TimeWindow`` of the scale-down delay (:class:`MaxTimeWindow`);
* ``pkg/autoscaler/config/config.go`` -- ``defaultConfig``, ``validate``;
* ``pkg/reconciler/autoscaling/resources/target.go`` --
  ``ResolveMetricTarget`` (:func:`resolve_metric_target`);
* ``pkg/reconciler/autoscaling/resources/metric.go`` -- ``MakeMetric``'s panic
  window (:attr:`KpaConfig.panic_window_s`);
* ``pkg/reconciler/autoscaling/kpa/resources/decider.go`` -- ``MakeDecider``,
  ``GetInitialScale`` (:func:`make_decider_spec`);
* ``pkg/reconciler/autoscaling/kpa/scaler.go`` -- ``scale``'s bounds,
  ``applyBounds`` (:func:`apply_bounds`); ``kpa.go`` -- the SKS mode switch
  and ``computeNumActivators`` (:func:`activator_in_path`,
  :func:`num_activators`);
* ``pkg/apis/autoscaling/register.go``, ``annotation_validation.go`` and
  ``v1alpha1/pa_lifecycle.go`` -- annotation keys, aliases and ranges
  (:meth:`KpaConfig.from_annotations`).

Worked example -- defaults, ``containerConcurrency`` 0, one ready pod:
target = 100 x 0.7 = 70. Stable average 150, panic average 150:
``ceil(150 / 70) = 3`` pods for both; 3 / 1 >= 2.0, so the autoscaler panics
and asks 3 (``maxScaleUp`` = ceil(1000 x 1) does not bind); excess burst
capacity = floor(1 x 100 - 211 - 150) = -261 < 0, so the activator stays in
the request path.

Not modelled here: the metric windows themselves (the caller's averages),
scale-to-zero grace / pod retention (``scaler.go`` ``handleScaleToZero``;
the durations are carried in :class:`KpaConfig`), the poke that ticks a
scaled-to-zero revision early (``MultiScaler.Poke``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Mapping, Optional

from ..units import parse_duration

# config.go defaultConfig
DEFAULT_TARGET_UTILIZATION = 0.7
DEFAULT_CONTAINER_CONCURRENCY_TARGET = 100.0
DEFAULT_RPS_TARGET = 200.0
DEFAULT_TARGET_BURST_CAPACITY = 211.0
DEFAULT_STABLE_WINDOW_S = 60.0
DEFAULT_PANIC_WINDOW_PERCENTAGE = 10.0
DEFAULT_PANIC_THRESHOLD_PERCENTAGE = 200.0
DEFAULT_MAX_SCALE_UP_RATE = 1000.0
DEFAULT_MAX_SCALE_DOWN_RATE = 2.0
DEFAULT_SCALE_TO_ZERO_GRACE_PERIOD_S = 30.0
DEFAULT_ACTIVATOR_CAPACITY = 100.0
TICK_INTERVAL_S = 2.0                  # multiscaler.go tickInterval
BUCKET_SIZE_S = 1.0                    # config.go BucketSize (minimum panic window)

# pkg/apis/autoscaling/register.go
ANNOTATION_PREFIX = "autoscaling.knative.dev/"
CONCURRENCY, RPS = "concurrency", "rps"
TARGET_MIN = 0.01
WINDOW_MIN_S, WINDOW_MAX_S = 6.0, 3600.0
PANIC_WINDOW_PERCENTAGE_MIN, PANIC_WINDOW_PERCENTAGE_MAX = 1.0, 100.0
PANIC_THRESHOLD_PERCENTAGE_MIN, PANIC_THRESHOLD_PERCENTAGE_MAX = 110.0, 1000.0
MIN_ACTIVATORS = 2                     # kpa.go minActivators
SCALE_UNKNOWN = -1                     # kpa/scaler.go scaleUnknown


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _whole_seconds(name: str, value_s: float) -> None:
    if round(value_s) != value_s:
        raise ValueError(f"{name} must be specified with at most second precision, got {value_s!r}")


def _int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


# --- configuration (config.go, annotations) ------------------------------------
@dataclass(frozen=True, slots=True)
class KpaConfig:
    """One revision's autoscaling knobs: ``config-autoscaler`` defaults
    (``config.go`` ``defaultConfig``) with the revision's annotations applied.

    ``target_utilization`` is a fraction in (0, 1]; ``target`` is the
    ``autoscaling.knative.dev/target`` annotation (None: unset);
    ``max_scale`` 0 means unbounded; ``target_burst_capacity`` 0 means none
    and -1 unlimited (activator always in the path); ``activation_scale`` 0 or
    1 means off (Knative leaves it 0 when the annotation is absent).

    Validated as ``config.go`` ``validate`` does: stable window in [6 s, 1 h]
    in whole seconds, panic window percentage in [1, 100], both rates > 1,
    scale-down delay >= 0 in whole seconds, grace > 0, target utilization x
    default >= 0.01. The panic threshold is only checked > 0 here (the
    configmap value is not range-checked; the annotation is, see
    :meth:`from_annotations`). Knative's configmap has two utilization knobs,
    ``container-concurrency-target-percentage`` (concurrency) and a fixed 0.7
    for RPS; the ``target-utilization-percentage`` annotation overrides both,
    which is the one knob kept here.

    Used by :class:`Autoscaler`: metric, target, target utilization, the
    defaults, TBC, stable window, panic threshold, rates, scale-down delay,
    activation scale, tick. Carried for the caller (reconciler-level):
    ``min_scale``, ``max_scale``, ``initial_scale`` (:func:`apply_bounds`),
    ``activator_capacity`` (:func:`num_activators`), the panic window (the
    metric collector's), scale-to-zero grace and pod retention.
    """

    metric: str = CONCURRENCY
    target: Optional[float] = None
    target_utilization: float = DEFAULT_TARGET_UTILIZATION
    container_concurrency_target_default: float = DEFAULT_CONTAINER_CONCURRENCY_TARGET
    rps_target_default: float = DEFAULT_RPS_TARGET
    target_burst_capacity: float = DEFAULT_TARGET_BURST_CAPACITY
    stable_window_s: float = DEFAULT_STABLE_WINDOW_S
    panic_window_percentage: float = DEFAULT_PANIC_WINDOW_PERCENTAGE
    panic_threshold_percentage: float = DEFAULT_PANIC_THRESHOLD_PERCENTAGE
    max_scale_up_rate: float = DEFAULT_MAX_SCALE_UP_RATE
    max_scale_down_rate: float = DEFAULT_MAX_SCALE_DOWN_RATE
    scale_to_zero_grace_period_s: float = DEFAULT_SCALE_TO_ZERO_GRACE_PERIOD_S
    scale_to_zero_pod_retention_period_s: float = 0.0
    scale_down_delay_s: float = 0.0
    initial_scale: int = 1
    allow_zero_initial_scale: bool = False
    min_scale: int = 0
    max_scale: int = 0
    activation_scale: int = 1
    activator_capacity: float = DEFAULT_ACTIVATOR_CAPACITY
    tick_interval_s: float = TICK_INTERVAL_S

    def __post_init__(self) -> None:
        if self.metric not in (CONCURRENCY, RPS):
            raise ValueError(f"metric must be {CONCURRENCY!r} or {RPS!r}, got {self.metric!r}")
        if self.target is not None and _number("target", self.target) < TARGET_MIN:
            raise ValueError(f"target must be at least {TARGET_MIN}, got {self.target!r}")
        tu = _number("target_utilization", self.target_utilization)
        if not 0 < tu <= 1:
            raise ValueError(f"target_utilization must be in (0, 1], got {tu!r}")
        if tu * _number("container_concurrency_target_default",
                        self.container_concurrency_target_default) < TARGET_MIN:
            raise ValueError("target_utilization x container_concurrency_target_default "
                             f"must be at least {TARGET_MIN}")
        if _number("rps_target_default", self.rps_target_default) < TARGET_MIN:
            raise ValueError(f"rps_target_default must be at least {TARGET_MIN}")
        tbc = _number("target_burst_capacity", self.target_burst_capacity)
        if tbc < 0 and tbc != -1:
            raise ValueError(f"target_burst_capacity must be >= 0 or -1 (unlimited), got {tbc!r}")
        sw = _number("stable_window_s", self.stable_window_s)
        if not WINDOW_MIN_S <= sw <= WINDOW_MAX_S:
            raise ValueError(f"stable_window_s must be in [{WINDOW_MIN_S}, {WINDOW_MAX_S}], "
                             f"got {sw!r}")
        _whole_seconds("stable_window_s", sw)
        pwp = _number("panic_window_percentage", self.panic_window_percentage)
        if not PANIC_WINDOW_PERCENTAGE_MIN <= pwp <= PANIC_WINDOW_PERCENTAGE_MAX:
            raise ValueError(f"panic_window_percentage must be in [1, 100], got {pwp!r}")
        if _number("panic_threshold_percentage", self.panic_threshold_percentage) <= 0:
            raise ValueError("panic_threshold_percentage must be > 0")
        for name in ("max_scale_up_rate", "max_scale_down_rate"):
            if _number(name, getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be greater than 1.0, got {getattr(self, name)!r}")
        if _number("scale_to_zero_grace_period_s", self.scale_to_zero_grace_period_s) <= 0:
            raise ValueError("scale_to_zero_grace_period_s must be positive")
        if _number("scale_to_zero_pod_retention_period_s",
                   self.scale_to_zero_pod_retention_period_s) < 0:
            raise ValueError("scale_to_zero_pod_retention_period_s cannot be negative")
        sdd = _number("scale_down_delay_s", self.scale_down_delay_s)
        if sdd < 0:
            raise ValueError(f"scale_down_delay_s cannot be negative, got {sdd!r}")
        _whole_seconds("scale_down_delay_s", sdd)
        _int("initial_scale", self.initial_scale, 0 if self.allow_zero_initial_scale else 1)
        _int("min_scale", self.min_scale, 0)
        _int("max_scale", self.max_scale, 0)
        if 0 < self.max_scale < self.min_scale:
            raise ValueError(f"min_scale ({self.min_scale}) must not exceed "
                             f"max_scale ({self.max_scale})")
        _int("activation_scale", self.activation_scale, 0)
        if _number("activator_capacity", self.activator_capacity) < 1:
            raise ValueError("activator_capacity must be at least 1")
        tick = _number("tick_interval_s", self.tick_interval_s)
        if tick < 1:
            raise ValueError(f"tick_interval_s must be at least 1, got {tick!r}")
        _whole_seconds("tick_interval_s", tick)  # max.TimeWindow indexes whole seconds

    @property
    def panic_window_s(self) -> float:
        """``MakeMetric``: stable window x percentage / 100, rounded to the
        second (Go ``Duration.Round``: halves away from zero), at least
        ``BucketSize`` (1 s). Default 60 s x 10 % = 6 s."""
        raw = self.stable_window_s * self.panic_window_percentage / 100.0
        return max(BUCKET_SIZE_S, float(math.floor(raw + 0.5)))

    @property
    def panic_threshold(self) -> float:
        """``MakeDecider``: the percentage as a factor (200 % -> 2.0)."""
        return self.panic_threshold_percentage / 100.0

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, object],
                         defaults: Optional["KpaConfig"] = None) -> "KpaConfig":
        """``defaults`` (Knative's when None) with a revision's annotations applied.

        Keys may carry the ``autoscaling.knative.dev/`` prefix or not; the
        legacy camelCase aliases of ``register.go`` (``minScale``,
        ``panicWindowPercentage``, ...) are read too, the kebab-case key
        winning (``kmap.KeyPriority``). Keys under another prefix are ignored;
        ``class`` must be KPA's; ``metric-aggregation-algorithm`` is accepted
        and ignored (it shapes the caller's averages); any other key raises.

        Values may be strings (as in Kubernetes) or numbers. Durations are Go
        strings (``"60s"``, ``"1m30s"``) or seconds. Ranges are the webhook's
        (``annotation_validation.go``): target >= 0.01; utilization
        percentage in [1, 100] (divided by 100); window in [6 s, 1 h], whole
        seconds; panic window percentage in [1, 100]; panic threshold
        percentage in [110, 1000]; scale-down delay and pod retention in
        [0, 1 h]; min/max/initial scale ints >= 0 with max 0 or >= min;
        activation scale an int >= 2 within [min, max]; target burst capacity
        >= 0 or -1. Invalid values raise ``ValueError`` (Knative's webhook
        rejects them).
        """
        base = defaults if defaults is not None else cls()
        values = _annotation_values(annotations)
        changes: dict[str, object] = {}
        for key, raw in values.items():
            field, parse = _ANNOTATIONS[key]
            value = parse(ANNOTATION_PREFIX + key, raw)
            if field is not None:
                changes[field] = value
        if "initial_scale" in changes and changes["initial_scale"] == 0 \
                and not base.allow_zero_initial_scale:
            raise ValueError("initial-scale=0 not allowed by cluster (allow_zero_initial_scale)")
        config = replace(base, **changes)
        if "activation_scale" in changes:
            act = config.activation_scale
            if config.min_scale > act:
                raise ValueError(f"min-scale={config.min_scale} is greater than "
                                 f"activation-scale={act}")
            if 0 < config.max_scale < act:
                raise ValueError(f"max-scale={config.max_scale} is less than "
                                 f"activation-scale={act}")
            if act < 2:
                raise ValueError(f"activation-scale={act} must be greater than 1")
        return config


def _annotation_values(annotations: Mapping[str, object]) -> dict[str, object]:
    """Canonical key -> raw value; a canonical key beats its legacy alias."""
    found: dict[str, tuple[int, object]] = {}
    for full_key, raw in annotations.items():
        key = full_key
        if "/" in full_key:
            prefix, _, key = full_key.rpartition("/")
            if prefix + "/" != ANNOTATION_PREFIX:
                continue
        if key in _ANNOTATIONS:
            canonical, rank = key, 0
        elif key in _ALIASES:
            canonical, rank = _ALIASES[key], 1
        else:
            raise ValueError(f"unknown KPA annotation {full_key!r}")
        if canonical not in found or rank < found[canonical][0]:
            found[canonical] = (rank, raw)
    return {key: raw for key, (_, raw) in found.items()}


def _text(raw: object) -> str:
    return raw.strip() if isinstance(raw, str) else str(raw)


def _float_in(low: float, high: float):
    def parse(key: str, raw: object) -> float:
        if isinstance(raw, bool):
            raise ValueError(f"{key}: invalid value {raw!r}")
        try:
            value = float(_text(raw))
        except ValueError:
            raise ValueError(f"{key}: invalid value {raw!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{key}: {raw!r} is outside [{low}, {high}]")
        return value
    return parse


_INT_RE = re.compile(r"[+-]?[0-9]+")  # strconv.ParseInt(s, 10, 32)


def _int_ge0(key: str, raw: object) -> int:
    text = _text(raw)
    if isinstance(raw, bool) or not _INT_RE.fullmatch(text):
        raise ValueError(f"{key}: invalid value {raw!r} (an integer)")
    value = int(text)
    if value < 0:
        raise ValueError(f"{key}: {raw!r} must be at least 0")
    return value


def _duration_in(low_s: float, high_s: float, whole: bool):
    def parse(key: str, raw: object) -> float:
        try:
            value = parse_duration(raw)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc} (got {raw!r})") from None
        if not low_s <= value <= high_s:
            raise ValueError(f"{key}: {raw!r} is outside [{low_s:g}s, {high_s:g}s]")
        if whole:
            _whole_seconds(key, value)
        return value
    return parse


def _metric(key: str, raw: object) -> str:
    if raw not in (CONCURRENCY, RPS):
        raise ValueError(f"{key}: KPA scales on {CONCURRENCY!r} or {RPS!r}, got {raw!r}")
    return str(raw)


def _utilization(key: str, raw: object) -> float:
    return _float_in(1.0, 100.0)(key, raw) / 100.0


def _tbc(key: str, raw: object) -> float:
    value = _float_in(-math.inf, math.inf)(key, raw)
    if value < 0 and value != -1:
        raise ValueError(f"{key}: {raw!r} must be >= 0 or -1 (unlimited)")
    return value


def _kpa_class(key: str, raw: object) -> None:
    if raw != "kpa.autoscaling.knative.dev":
        raise ValueError(f"{key}: this module models the KPA class only, got {raw!r}")


def _ignored(key: str, raw: object) -> None:
    return None


_ANNOTATIONS = {
    "target": ("target", _float_in(TARGET_MIN, math.inf)),
    "target-utilization-percentage": ("target_utilization", _utilization),
    "metric": ("metric", _metric),
    "window": ("stable_window_s", _duration_in(WINDOW_MIN_S, WINDOW_MAX_S, True)),
    "panic-window-percentage": ("panic_window_percentage",
                                _float_in(PANIC_WINDOW_PERCENTAGE_MIN,
                                          PANIC_WINDOW_PERCENTAGE_MAX)),
    "panic-threshold-percentage": ("panic_threshold_percentage",
                                   _float_in(PANIC_THRESHOLD_PERCENTAGE_MIN,
                                             PANIC_THRESHOLD_PERCENTAGE_MAX)),
    "scale-down-delay": ("scale_down_delay_s", _duration_in(0.0, WINDOW_MAX_S, True)),
    "scale-to-zero-pod-retention-period": ("scale_to_zero_pod_retention_period_s",
                                           _duration_in(0.0, WINDOW_MAX_S, False)),
    "min-scale": ("min_scale", _int_ge0),
    "max-scale": ("max_scale", _int_ge0),
    "initial-scale": ("initial_scale", _int_ge0),
    "activation-scale": ("activation_scale", _int_ge0),
    "target-burst-capacity": ("target_burst_capacity", _tbc),
    "class": (None, _kpa_class),
    "metric-aggregation-algorithm": (None, _ignored),
}
_ALIASES = {
    "initialScale": "initial-scale", "maxScale": "max-scale", "minScale": "min-scale",
    "metricAggregationAlgorithm": "metric-aggregation-algorithm",
    "panicThresholdPercentage": "panic-threshold-percentage",
    "panicWindowPercentage": "panic-window-percentage", "scaleDownDelay": "scale-down-delay",
    "scaleToZeroPodRetentionPeriod": "scale-to-zero-pod-retention-period",
    "targetBurstCapacity": "target-burst-capacity",
    "targetUtilizationPercentage": "target-utilization-percentage",
}


# --- target and decider spec (target.go, decider.go) ---------------------------
def resolve_metric_target(config: KpaConfig, container_concurrency: int = 0) -> tuple[float, float]:
    """``ResolveMetricTarget``: ``(target, total)`` per pod.

    * rps: ``total = rps_target_default`` (200);
    * concurrency: ``total = container_concurrency``, or
      ``container_concurrency_target_default`` (100) when it is 0;
    * the ``target`` annotation replaces ``total``; for concurrency with a
      non-zero ``container_concurrency`` it is capped at it;
    * ``target = max(0.01, total x target_utilization)``.

    ``total`` is what a pod can hold (EBC's capacity); ``target`` is what the
    autoscaler aims for. Defaults: concurrency (70, 100); rps (140, 200).
    """
    cc = _int("container_concurrency", container_concurrency, 0)
    if config.metric == RPS:
        total = config.rps_target_default
    else:
        total = float(cc) if cc else config.container_concurrency_target_default
    if config.target is not None:
        total = config.target
        if config.metric == CONCURRENCY and cc:
            total = min(config.target, float(cc))
    return max(TARGET_MIN, total * config.target_utilization), total


@dataclass(frozen=True, slots=True)
class DeciderSpec:
    """``scaling.DeciderSpec``: what ``Scale`` reads, resolved from the config.

    ``reachable`` is not here: :meth:`Autoscaler.scale` takes it per tick.
    """

    target_value: float
    total_value: float
    target_burst_capacity: float
    panic_threshold: float
    stable_window_s: float
    max_scale_up_rate: float = DEFAULT_MAX_SCALE_UP_RATE
    max_scale_down_rate: float = DEFAULT_MAX_SCALE_DOWN_RATE
    scale_down_delay_s: float = 0.0
    activation_scale: int = 0
    scaling_metric: str = CONCURRENCY
    activator_capacity: float = DEFAULT_ACTIVATOR_CAPACITY
    initial_scale: int = 1

    def __post_init__(self) -> None:
        if _number("target_value", self.target_value) <= 0:
            raise ValueError("target_value must be > 0")
        _number("total_value", self.total_value)
        _number("target_burst_capacity", self.target_burst_capacity)
        _number("panic_threshold", self.panic_threshold)
        _number("stable_window_s", self.stable_window_s)
        for name in ("max_scale_up_rate", "max_scale_down_rate"):
            if _number(name, getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be > 0")
        if _number("scale_down_delay_s", self.scale_down_delay_s) < 0:
            raise ValueError("scale_down_delay_s cannot be negative")
        _int("activation_scale", self.activation_scale, 0)


def make_decider_spec(config: KpaConfig, container_concurrency: int = 0) -> DeciderSpec:
    """``MakeDecider``: the config resolved for ``Scale`` (target and total by
    :func:`resolve_metric_target`, panic threshold as a factor)."""
    target, total = resolve_metric_target(config, container_concurrency)
    return DeciderSpec(
        target_value=target, total_value=total,
        target_burst_capacity=config.target_burst_capacity,
        panic_threshold=config.panic_threshold, stable_window_s=config.stable_window_s,
        max_scale_up_rate=config.max_scale_up_rate,
        max_scale_down_rate=config.max_scale_down_rate,
        scale_down_delay_s=config.scale_down_delay_s,
        activation_scale=config.activation_scale, scaling_metric=config.metric,
        activator_capacity=config.activator_capacity, initial_scale=config.initial_scale)


# --- the scale-down delay window (aggregation/max) ------------------------------
class MaxTimeWindow:
    """``max.TimeWindow``: the maximum value recorded over the last
    ``ceil(duration / granularity)`` buckets.

    A value recorded at ``now_s`` lands in bucket
    ``index = floor(now_s) div int(granularity_s)`` (``int(now.Unix()) /
    int(granularity.Seconds())``, Go's truncating division). :meth:`record`
    drops every kept entry not greater than the new value, then every entry
    with ``index - entry.index >= buckets``, then merges a same-bucket entry
    (keeping the larger) and appends. Kept entries are strictly descending in
    value and ascending in index, so :meth:`current` is the first. Eviction
    happens only in :meth:`record`. With a 5 min delay and 2 s ticks: 150
    buckets; a value recorded at 2 s (bucket 1) still counts at 300 s
    (bucket 150) and is gone at 302 s (bucket 151).
    """

    __slots__ = ("buckets", "granularity_s", "_entries")

    def __init__(self, duration_s: float, granularity_s: float = TICK_INTERVAL_S):
        if _number("granularity_s", granularity_s) < 1:
            raise ValueError("granularity_s must be at least 1 (whole seconds)")
        if _number("duration_s", duration_s) <= 0:
            raise ValueError("duration_s must be > 0")
        self.buckets = math.ceil(duration_s / granularity_s)
        self.granularity_s = granularity_s
        self._entries: list[tuple[int, int]] = []  # (index, value)

    def index(self, now_s: float) -> int:
        """The bucket of ``now_s`` (Go integer division truncates toward 0)."""
        secs, step = math.floor(now_s), int(self.granularity_s)
        quotient = abs(secs) // step
        return quotient if secs >= 0 else -quotient

    def record(self, now_s: float, value: int) -> None:
        """``window.Record`` at the bucket of ``now_s``."""
        index, entries = self.index(now_s), self._entries
        while entries and not value < entries[-1][1]:
            entries.pop()
        drop = 0
        while drop < len(entries) and index - entries[drop][0] >= self.buckets:
            drop += 1
        del entries[:drop]
        if entries and entries[-1][0] == index:
            value = max(value, entries.pop()[1])
        entries.append((index, value))

    def current(self) -> int:
        """``window.Current``: the kept maximum (0 before any record)."""
        return self._entries[0][1] if self._entries else 0


# --- the decider (autoscaler.go) -------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScaleResult:
    """``ScaleResult``. An invalid result (no data, pod count unknown) is
    ``(0, 0, False)``, Go's ``invalidSR``; the multiscaler ignores it and
    keeps the last desired scale (-1, :data:`SCALE_UNKNOWN`, until a first
    valid tick)."""

    desired_pod_count: int
    excess_burst_capacity: int
    scale_valid: bool


INVALID_SCALE_RESULT = ScaleResult(0, 0, False)


def excess_burst_capacity(spec: DeciderSpec, ready_pods: int, observed_panic: float) -> int:
    """``Scale``'s EBC: 0 if TBC is 0; -1 if TBC is -1 (any negative);
    else ``floor(ready_pods x total - TBC - observed_panic)``, with the raw
    ready count (0 pods stays 0 here, unlike the rate limits)."""
    tbc = spec.target_burst_capacity
    if tbc == 0:
        return 0
    if tbc < 0:
        return -1
    return int(math.floor(ready_pods * spec.total_value - tbc - observed_panic))


class Autoscaler:
    """``autoscaler``: one revision's decider and its panic / delay state.

    State, as the Go struct keeps it: ``panic_time_s`` (None = zero time: not
    panicking), ``max_panic_pods``, ``delay_window`` (a
    :class:`MaxTimeWindow` when the spec's scale-down delay was > 0 at
    creation, else None; :meth:`update` does not rebuild it, as Go's
    ``Update`` does not).

    Created with ``ready_pods_at_creation > 1`` it starts in panic mode
    (``panic_time_s = created_s``), and ``max_panic_pods`` is always the ready
    count at creation (pass 0 for Go's pod-counter error): it holds the current
    scale until a stable window of data has accumulated.

    :meth:`scale` is ``Scale`` for one tick, with ``ready = max(1,
    ready_pods)``:

    * ``max_up = ceil(max_scale_up_rate x ready)``; ``max_down =
      floor(ready / max_scale_down_rate)`` if reachable, else 0;
    * ``dspc = ceil(stable / target)``, ``dppc = ceil(panic / target)``;
      stable and panic desired = ``int(min(max(d, max_down), max_up))``;
    * activation scale ``a > 1``: a desired count below ``a`` is raised to
      ``a`` when its ``d > 0``;
    * over = ``dppc / ready >= panic_threshold``: over starts or extends panic
      (``panic_time_s = now_s``); not over and ``panic_time_s + stable_window
      < now_s`` (strict) ends it and zeroes ``max_panic_pods``;
    * in panic the result is ``max_panic_pods = max(max_panic_pods,
      stable desired, panic desired)`` -- it never decreases in panic; else the
      stable desired;
    * reachable with a delay window: the result is recorded and replaced by
      the window's maximum (scale-down delay); unreachable skips the window
      (neither recorded nor applied);
    * EBC by :func:`excess_burst_capacity`.

    Min/max scale are not applied here (see :func:`apply_bounds`). Times are
    seconds on the simulation clock; Go uses the wall clock.
    """

    __slots__ = ("spec", "panic_time_s", "max_panic_pods", "delay_window")

    def __init__(self, config: KpaConfig, container_concurrency: int = 0,
                 created_s: float = 0.0, ready_pods_at_creation: int = 1):
        self._start(make_decider_spec(config, container_concurrency), config.tick_interval_s,
                    created_s, ready_pods_at_creation)

    @classmethod
    def from_spec(cls, spec: DeciderSpec, created_s: float = 0.0,
                  ready_pods_at_creation: int = 1,
                  tick_interval_s: float = TICK_INTERVAL_S) -> "Autoscaler":
        """``New`` on an already resolved :class:`DeciderSpec`."""
        self = cls.__new__(cls)
        self._start(spec, tick_interval_s, created_s, ready_pods_at_creation)
        return self

    def _start(self, spec: DeciderSpec, tick_interval_s: float, created_s: float,
               ready_pods_at_creation: int) -> None:
        _number("created_s", created_s)
        ready = _int("ready_pods_at_creation", ready_pods_at_creation, 0)
        self.spec = spec
        self.delay_window: Optional[MaxTimeWindow] = (
            MaxTimeWindow(spec.scale_down_delay_s, tick_interval_s)
            if spec.scale_down_delay_s > 0 else None)
        self.panic_time_s: Optional[float] = float(created_s) if ready > 1 else None
        self.max_panic_pods = ready

    @property
    def in_panic(self) -> bool:
        """Whether the last tick (or creation) left the decider in panic mode."""
        return self.panic_time_s is not None

    def update(self, config: KpaConfig, container_concurrency: int = 0) -> None:
        """``Update``: a new spec from now on; panic state and the delay
        window (created by ``New`` only) are kept."""
        self.spec = make_decider_spec(config, container_concurrency)

    def update_spec(self, spec: DeciderSpec) -> None:
        """``Update`` with an already resolved spec."""
        self.spec = spec

    def scale(self, now_s: float, observed_stable: Optional[float],
              observed_panic: Optional[float], ready_pods: Optional[int],
              reachable: bool = True) -> ScaleResult:
        """``Scale`` at ``now_s`` on the caller's window averages.

        ``observed_stable`` / ``observed_panic`` None mean no data
        (``ErrNoData``) and ``ready_pods`` None a pod-count error: both return
        :data:`INVALID_SCALE_RESULT` and leave the state untouched. See the
        class docstring for the arithmetic.
        """
        if observed_stable is None or observed_panic is None or ready_pods is None:
            return INVALID_SCALE_RESULT
        now_s = _number("now_s", now_s)
        stable = _number("observed_stable", observed_stable)
        panic = _number("observed_panic", observed_panic)
        if stable < 0 or panic < 0:
            raise ValueError("observed averages must be >= 0")
        original_ready = _int("ready_pods", ready_pods, 0)
        spec = self.spec
        ready = float(max(1, original_ready))

        max_scale_up = math.ceil(spec.max_scale_up_rate * ready)
        max_scale_down = math.floor(ready / spec.max_scale_down_rate) if reachable else 0
        dspc = math.ceil(stable / spec.target_value)
        dppc = math.ceil(panic / spec.target_value)
        desired_stable = int(min(max(dspc, max_scale_down), max_scale_up))
        desired_panic = int(min(max(dppc, max_scale_down), max_scale_up))
        if spec.activation_scale > 1:
            if dspc > 0 and spec.activation_scale > desired_stable:
                desired_stable = spec.activation_scale
            if dppc > 0 and spec.activation_scale > desired_panic:
                desired_panic = spec.activation_scale

        over_threshold = dppc / ready >= spec.panic_threshold
        if over_threshold:  # begin, or extend, panicking
            self.panic_time_s = now_s
        elif self.panic_time_s is not None and self.panic_time_s + spec.stable_window_s < now_s:
            self.panic_time_s = None  # the surge has made its way into the stable metric
            self.max_panic_pods = 0

        desired = desired_stable
        if self.panic_time_s is not None:
            desired = max(desired, desired_panic)
            self.max_panic_pods = max(self.max_panic_pods, desired)
            desired = self.max_panic_pods

        if reachable and self.delay_window is not None:
            self.delay_window.record(now_s, desired)
            desired = self.delay_window.current()

        return ScaleResult(desired, excess_burst_capacity(spec, original_ready, panic), True)


# --- reconciler-side helpers (kpa/scaler.go, kpa.go) -----------------------------
def apply_bounds(config: KpaConfig, desired_scale: int, reachable: bool = True,
                 scale_target_initialized: bool = True) -> int:
    """The bounds ``scaler.go`` ``scale`` puts on the decider's count.

    A negative count (:data:`SCALE_UNKNOWN`) passes unchanged (Knative skips
    unless activating). Min scale counts only while reachable
    (``ScaleBounds``); before the scale target is first initialized, a
    reachable revision with ``initial_scale > 1`` uses ``max(min,
    initial_scale)``; then ``applyBounds``: ``max(desired, min)``, capped at
    ``max_scale`` unless 0. Scale-to-zero grace / retention
    (``handleScaleToZero``) are not applied.
    """
    if desired_scale < 0:
        return desired_scale
    low = config.min_scale if reachable else 0
    if config.initial_scale > 1 and not scale_target_initialized and reachable:
        low = max(config.initial_scale, low)
    if desired_scale < low:
        return low
    if config.max_scale != 0 and desired_scale > config.max_scale:
        return config.max_scale
    return desired_scale


def activator_in_path(desired_scale: int, excess_burst_capacity: int) -> bool:
    """``kpa.go`` ``ReconcileKind``: the SKS serves directly (activator out)
    iff ``desired > 0 and EBC >= 0``; otherwise it proxies through the
    activator."""
    return not (desired_scale > 0 and excess_burst_capacity >= 0)


def num_activators(ready_pods: int, spec: DeciderSpec) -> int:
    """``computeNumActivators``: 2 if TBC is 0; else ``max(2, ceil((ready x
    total + max(TBC, 0)) / activator_capacity))`` (TBC -1 adds nothing)."""
    if spec.target_burst_capacity == 0:
        return MIN_ACTIVATORS
    capacity = ready_pods * spec.total_value
    if spec.target_burst_capacity > 0:
        capacity += spec.target_burst_capacity
    return int(max(MIN_ACTIVATORS, math.ceil(capacity / spec.activator_capacity)))

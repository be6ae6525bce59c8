"""The scenario: a cluster of services, the traffic that reaches it, the
control loops that react and the faults that hit it."""
from __future__ import annotations

import re
from typing import Any, Optional

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from .base import NonNegDuration, PosDuration, Spec
from .control import ClusterSpec, RolloutSpec
from .distributions import LatencyDist, constant
from .external import ExternalSpec
from .faults import FaultSpec
from .measure import RecordSpec, SloSpec, WindowSpec
from .service import ServiceSpec
from .topics import TopicSpec
from .functions import FunctionSpec
from .prices import PricesSpec
from .workload import Workload

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
MAX_SAMPLES = 1_000_000
"""Rows of the time series per service and run, at most (duration / sample_interval)."""


class NetworkSpec(Spec):
    """One-way latency of each hop (a call may override it with ``latency``)."""

    latency: LatencyDist = constant(0.0)


class Scenario(Spec):
    """A validated scenario, the root of the format: services, workloads,
    faults, cluster, rollouts, SLO and windows (every key: docs/reference.md)."""

    name: str = Field(min_length=1)
    description: Optional[str] = None
    duration: PosDuration
    warmup: NonNegDuration = 0.0
    seed: int = Field(0, ge=0)
    sample_interval: PosDuration = 5.0
    network: NetworkSpec = NetworkSpec()
    workload: dict[str, Workload] = Field(min_length=1)
    services: dict[str, ServiceSpec] = Field(min_length=1)
    external: dict[str, ExternalSpec] = Field(default_factory=dict)
    topics: dict[str, TopicSpec] = Field(default_factory=dict)
    functions: dict[str, FunctionSpec] = Field(default_factory=dict)
    prices: PricesSpec = PricesSpec()
    faults: list[FaultSpec] = Field(default_factory=list)
    cluster: Optional[ClusterSpec] = None
    rollouts: list[RolloutSpec] = Field(default_factory=list)
    slo: SloSpec = SloSpec()
    windows: dict[str, WindowSpec] = Field(default_factory=dict)
    record: RecordSpec = RecordSpec()

    @model_validator(mode="after")
    def _names(self):
        bad = [n for n in [*self.services, *self.workload] if not NAME_RE.match(n)]
        if bad:
            raise ValueError(f"names must be letters, digits, '-' or '_' (bad: {bad})")
        clash = sorted(set(self.services) & set(self.workload))
        if clash:
            raise ValueError(f"a workload and a service share the name(s) {clash}")
        return self

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, topics: dict, info: ValidationInfo) -> dict:
        # dead-letter references are checked in sim.spec.references
        return _free_names(topics, info, ("services", "workload", "external"), "a topic")

    @field_validator("functions")
    @classmethod
    def _function_names(cls, functions: dict, info: ValidationInfo) -> dict:
        return _free_names(functions, info, ("services", "workload", "external", "topics"), "a function")

    def consumer_groups(self) -> list[tuple[str, str]]:
        """``(topic, group)`` of every consumer group, once each, in file order
        (a group's code in the ``messages`` table is its index here)."""
        groups: dict[tuple[str, str], None] = {}
        for name, service in self.services.items():
            if service.consumes is not None:
                groups[(service.consumes.topic, service.consumes.group or name)] = None
        return list(groups)

    @field_validator("external")
    @classmethod
    def _external_names(cls, external: dict, info: ValidationInfo) -> dict:
        # a field validator (after services and workload): the problem is reported at ``external``
        return _free_names(external, info, ("services", "workload"), "an external dependency")

    @field_validator("warmup")
    @classmethod
    def _window(cls, warmup: float, info: ValidationInfo) -> float:
        # A field validator (``duration`` is validated first), so the problem is
        # reported at ``warmup`` with its value, alongside any other problem.
        duration = info.data.get("duration")
        if duration is not None and warmup >= duration:
            raise ValueError(f"must be shorter than duration ({duration:g} s)")
        return warmup

    @field_validator("sample_interval")
    @classmethod
    def _few_enough_samples(cls, interval: float, info: ValidationInfo) -> float:
        # Found by the fuzzer: ``sample_interval: 1e-9`` made a 10 s run sample forever.
        duration = info.data.get("duration")
        if duration is not None and duration / interval > MAX_SAMPLES:
            raise ValueError(f"too short for the duration: at most {MAX_SAMPLES:,} samples a run "
                             f"(duration / sample_interval; use >= {duration / MAX_SAMPLES:.3g} s)")
        return interval

    @field_validator("windows")
    @classmethod
    def _windows_fit(cls, windows: dict[str, WindowSpec], info: ValidationInfo) -> dict[str, WindowSpec]:
        bad = [n for n in windows if not NAME_RE.match(n)]
        if bad:
            raise ValueError(f"window names must be letters, digits, '-' or '_' (bad: {bad})")
        duration = info.data.get("duration")
        late = {n: w.end_s for n, w in windows.items() if duration is not None and w.end_s > duration}
        if late:
            raise ValueError(f"windows must end by the run's duration ({duration:g} s); "
                             f"{', '.join(f'{n} ends at {t:g} s' for n, t in late.items())}")
        return windows

    def call_site_names(self) -> list[str]:
        """The ``name`` of every named call, in file order (``call_sites.NAME``)."""
        names = []
        for service in self.services.values():
            for step in service.all_calls():
                for call in (step.parallel if hasattr(step, "parallel") else [step]):
                    if call.name is not None:
                        names.append(call.name)
        return names

    def endpoint_names(self) -> list[str]:
        """Every endpoint name of the services, once each, in file order: an
        endpoint's code in the ``calls`` table is its index here."""
        names: dict[str, None] = {}
        for service in self.services.values():
            names.update(dict.fromkeys(service.endpoints))
        return list(names)

    @property
    def window_s(self) -> float:
        """Length of the measured window [warmup, duration]."""
        return self.duration - self.warmup

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario (defaults filled, units in seconds and cores).

        A ``None`` is left out only where it is the field's default (leaving it
        out loads back the same); elsewhere it means something and is kept
        (``queue: null`` is an unbounded queue; the default is 128).
        """
        return _drop_default_nones(self, self.model_dump(mode="json", by_alias=True))


def _free_names(named: dict, info: ValidationInfo, others: tuple[str, ...], what: str) -> dict:
    """``named``'s keys are well formed and used by none of the fields ``others``
    (validated before it): problems reported at the field itself."""
    bad = [n for n in named if not NAME_RE.match(n)]
    if bad:
        raise ValueError(f"names must be letters, digits, '-' or '_' (bad: {bad})")
    taken = set().union(*(info.data.get(field) or {} for field in others))
    clash = sorted(set(named) & taken)
    if clash:
        kinds = " or ".join(field.removesuffix("s") for field in others)
        raise ValueError(f"{what} may not share a name with a {kinds}: {', '.join(map(repr, clash))}")
    return named


def _drop_default_nones(model: BaseModel, data: dict) -> dict:
    """Remove from ``data`` (``model`` dumped by alias) the None values of fields
    whose default is None, recursing into nested models, lists and mappings."""
    for name, info in type(model).model_fields.items():
        key = info.serialization_alias or info.alias or name
        if key not in data:
            continue
        value = getattr(model, name)
        if value is None:
            if info.default is None:
                del data[key]
        elif isinstance(value, BaseModel):
            _drop_default_nones(value, data[key])
        elif isinstance(value, (list, tuple)):
            for item, dumped in zip(value, data[key]):
                if isinstance(item, BaseModel):
                    _drop_default_nones(item, dumped)
        elif isinstance(value, dict):
            for k, item in value.items():
                if isinstance(item, BaseModel):
                    _drop_default_nones(item, data[key][k])
    return data

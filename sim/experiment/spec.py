"""Experiment files: what to compare, over which conditions, how many times.

An experiment names a scenario and crosses three things:

- **arms**: named override sets compared head to head (``{name: {dotted.path: value}}``);
- **design points**: a full grid over ``factors`` (plain or *coupled*) crossed
  with an optional sampled ``design`` (``random`` or ``latin_hypercube``);
- **replications** ``0..R-1``: replication r of every arm and point uses the same
  seed and replication number, hence the same random streams (common random numbers).

Validation is as strict as for scenarios: unknown keys, bad types, unknown
paths and values the scenario would reject are all reported at once, as
``path: problem (got VALUE)``, before anything runs. See ``docs/experiments.md``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Problem, ScenarioError
from ..record.keys import closest, metric_names
from ..spec.loader import read_yaml, validate
from ..spec.overrides import apply_overrides_collecting
from ..spec.problems import problems_from
from ..spec.scenario import Scenario

ARM_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
DEFAULT_ARM = "default"
COUPLE_SEP = "|"
IDENTITY = ("run_id", "arm", "point", "replication", "seed")
RESERVED_COLUMNS = set(IDENTITY) | {"status", "error", "wall_s"}
# A metric is a flattened summary.json key of the base scenario (one source of
# truth: sim.record.keys.metric_names) or a column of the run's record.
RECORD_METRICS = ("wall_s",)
MAXIMIZE_BY_DEFAULT = {"goodput_rps", "success_ratio", "ok", "good", "good_ratio"}
ANALYSIS_ONLY = ("replications", "description", "metrics", "baseline", "confidence", "precision",
                 "service", "labels", "reference")
Source = Union[str, os.PathLike, Mapping[str, Any]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RangeSpec(_Model):
    """One sampled dimension: ``[low, high]`` or ``{low, high, log, integer}``."""

    low: float
    high: float
    log: bool = False
    integer: bool = False


def _range(value):
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return {"low": value[0], "high": value[1]}
    return value


class DesignSpec(_Model):
    """A sampled design: ``n`` points in the box ``ranges`` (seeded)."""

    type: Literal["random", "latin_hypercube"]
    n: int = Field(ge=1, le=100_000)
    ranges: dict[str, Any] = Field(min_length=1)
    seed: Optional[int] = Field(None, ge=0)


class ExperimentSpec(_Model):
    """The experiment file as written (see the module docstring)."""

    name: str = Field(min_length=1)
    description: Optional[str] = None
    scenario: Union[str, dict[str, Any]]
    replications: int = Field(5, ge=1, le=100_000)
    seed: int = Field(1, ge=0)
    common_random_numbers: bool = True
    overrides: dict[str, Any] = Field(default_factory=dict)
    arms: dict[str, dict[str, Any]] = Field(default_factory=dict)
    baseline: Optional[str] = None
    factors: dict[str, Union[list[Any], dict[str, list[Any]]]] = Field(default_factory=dict)
    design: Optional[DesignSpec] = None
    metrics: list[Union[str, dict[str, Literal["minimize", "maximize"]]]] = Field(
        default_factory=lambda: ["latency_s.p99", "goodput_rps", "success_ratio"], min_length=1)
    confidence: float = Field(0.95, gt=0, lt=1)
    precision: float = Field(0.05, gt=0, lt=1)
    service: Optional[str] = None
    labels: dict[str, str] = Field(default_factory=dict)       # display names of arms, factors, metrics
    reference: dict[str, Any] = Field(default_factory=dict)    # factor -> the level others are compared with


@dataclass(frozen=True)
class Factor:
    """One grid factor: ``paths`` vary together through ``levels`` (tuples)."""

    name: str
    paths: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...]

    @property
    def coupled(self) -> bool:
        return len(self.paths) > 1


@dataclass(frozen=True)
class Metric:
    name: str
    direction: Literal["minimize", "maximize"]

    @property
    def sign(self) -> int:
        """+1 if smaller is better, -1 if larger is better (sort key multiplier)."""
        return 1 if self.direction == "minimize" else -1


@dataclass
class Experiment:
    """A loaded, validated experiment (what :func:`expand` and the sweep use)."""

    spec: ExperimentSpec
    source: Optional[str]
    scenario_raw: dict
    scenario_dir: str
    scenario_source: Optional[str]
    base: Scenario
    arms: dict[str, dict[str, Any]]
    factors: list[Factor]
    sampled_paths: list[str]
    points: list[dict[str, Any]]
    metrics: list[Metric]
    replications: int
    scenarios: dict[tuple[str, int], Scenario] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def baseline(self) -> Optional[str]:
        return self.spec.baseline

    @property
    def factor_columns(self) -> list[str]:
        """One column per varied path: grid factors first, then sampled ranges."""
        return [p for f in self.factors for p in f.paths] + list(self.sampled_paths)

    @property
    def dimensions(self) -> list[str]:
        """One column per independent dimension of the design (a coupled factor
        counts once, by its first path): the axes of plots."""
        return [f.paths[0] for f in self.factors] + list(self.sampled_paths)

    @property
    def entry_service(self) -> str:
        """The service shown in time series: ``service:`` or the first workload's target."""
        if self.spec.service:
            return self.spec.service
        target = next(iter(self.base.workload.values())).target_service
        if target in self.base.topics:  # an event source: its first consumer
            return next((n for n, s in self.base.services.items()
                         if s.consumes is not None and s.consumes.topic == target), target)
        return target

    def overrides_for(self, arm: str, point: int) -> list[tuple[str, Any]]:
        """Overrides of one run, applied in this order: experiment, arm, design point."""
        return (list(self.spec.overrides.items()) + list(self.arms[arm].items())
                + list(self.points[point].items()))

    def seed_for(self, arm: str, point: int) -> int:
        """The run seed: the experiment's under common random numbers, else one per arm/point."""
        if self.spec.common_random_numbers:
            return self.spec.seed
        words = _words(f"{self.spec.seed}/{arm}/{point}")
        return (words[0] << 32 | words[1]) & 0x7FFF_FFFF_FFFF_FFFF

    def scenario_for(self, arm: str, point: int) -> Scenario:
        """The resolved scenario of (arm, point) (validated once, cached)."""
        key = (arm, point)
        if key not in self.scenarios:
            raw, problems = apply_overrides_collecting(self.scenario_raw, self.overrides_for(arm, point))
            if problems:
                raise ScenarioError(problems, source=self.source)
            self.scenarios[key] = validate(raw, base_dir=self.scenario_dir, source=self.scenario_source)
        return self.scenarios[key]

    def identity(self) -> dict:
        """What makes two experiments the same: everything that changes a run's
        result. Replications may grow, and what only changes the analysis
        (metrics, baseline, confidence, ...) may change, on resume."""
        spec = self.spec.model_dump(mode="json")
        for key in ANALYSIS_ONLY:
            spec.pop(key, None)
        return {"experiment": spec, "base_scenario": self.base.to_dict()}


def _words(text: str) -> list[int]:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


def canonical(value: Any) -> str:
    """A stable text form of a value (keys sorted) for caching and comparing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


# ---------------------------------------------------------------- loading

def _read(source: Source) -> tuple[dict, Optional[str], Path]:
    if isinstance(source, Mapping):
        return dict(source), None, Path.cwd()
    path = Path(source)
    return read_yaml(path, what="experiment"), str(source), path.resolve().parent


def _parse_factors(spec: ExperimentSpec, problems: list[Problem]) -> list[Factor]:
    factors = []
    for key, value in spec.factors.items():
        where = f"factors.{key}"
        if isinstance(value, dict):
            if not value:
                problems.append(Problem(where, "a coupled factor needs at least one path"))
                continue
            lengths = {p: len(v) for p, v in value.items()}
            if len(set(lengths.values())) != 1:
                problems.append(Problem(where, "the lists of a coupled factor must have the same length",
                                        lengths))
                continue
            paths = tuple(value)
            levels = tuple(zip(*value.values()))
        elif COUPLE_SEP in key:
            paths = tuple(p.strip() for p in key.split(COUPLE_SEP))
            bad = [i for i, lv in enumerate(value)
                   if not isinstance(lv, (list, tuple)) or len(lv) != len(paths)]
            if bad:
                problems.append(Problem(f"{where}.{bad[0]}", f"each level of a coupled factor is a "
                                        f"list of {len(paths)} values, one per path", value[bad[0]]))
                continue
            levels = tuple(tuple(lv) for lv in value)
        else:
            paths, levels = (key,), tuple((v,) for v in value)
        if not levels:
            problems.append(Problem(where, "needs at least 1 value", value))
            continue
        seen: dict[str, int] = {}
        for i, level in enumerate(levels):
            text = canonical(list(level))
            if text in seen:
                problems.append(Problem(f"{where}.{i}", f"repeats level {seen[text]}", list(level)))
            seen.setdefault(text, i)
        factors.append(Factor(key, paths, levels))
    return factors


def _parse_ranges(design: DesignSpec, problems: list[Problem]) -> dict[str, RangeSpec]:
    ranges = {}
    for path, value in design.ranges.items():
        where = f"design.ranges.{path}"
        try:
            rng = RangeSpec.model_validate(_range(value))
        except ValidationError as exc:
            problems += problems_from(exc, RangeSpec, prefix=where)
            continue
        if not (math.isfinite(rng.low) and math.isfinite(rng.high)) or rng.low >= rng.high:
            problems.append(Problem(where, "needs finite low < high", [rng.low, rng.high]))
        elif rng.log and rng.low <= 0:
            problems.append(Problem(where, "a log range needs low > 0", rng.low))
        elif rng.integer and (rng.low != int(rng.low) or rng.high != int(rng.high)):
            problems.append(Problem(where, "an integer range needs whole bounds", [rng.low, rng.high]))
        else:
            ranges[path] = rng
    return ranges


def sample_design(design: DesignSpec, ranges: Mapping[str, RangeSpec], seed: int) -> list[dict[str, Any]]:
    """The sampled points of ``design`` (pure; reproducible from the seed).

    ``random``: independent uniforms. ``latin_hypercube``: each dimension is cut
    into ``n`` equal strata and every stratum holds exactly one point, strata
    paired at random across dimensions. ``log`` samples uniformly in log space;
    ``integer`` draws whole numbers in ``[low, high]``. Floats keep 6 significant digits.
    """
    root = design.seed if design.seed is not None else seed
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([root, *_words("design")])))
    n, paths = design.n, list(ranges)
    u = np.empty((n, len(paths)))
    for j in range(len(paths)):
        if design.type == "random":
            u[:, j] = gen.random(n)
        else:
            u[:, j] = (gen.permutation(n) + gen.random(n)) / n
    points: list[dict[str, Any]] = [{} for _ in range(n)]
    for j, path in enumerate(paths):
        r = ranges[path]
        if r.integer:
            lo, hi = int(r.low), int(r.high)
            values = [int(v) for v in np.minimum(lo + np.floor(u[:, j] * (hi - lo + 1)), hi)]
        elif r.log:
            values = np.exp(np.log(r.low) + u[:, j] * (np.log(r.high) - np.log(r.low)))
            values = [float(f"{v:.6g}") for v in values]
        else:
            values = [float(f"{v:.6g}") for v in r.low + u[:, j] * (r.high - r.low)]
        for i, v in enumerate(values):
            points[i][path] = v
    return points


def design_points(factors: list[Factor], sampled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The design points: the factor grid (first factor slowest, last fastest),
    each crossed with every sampled point (in sample order)."""
    grid = [dict(pair for factor, level in zip(factors, combo) for pair in zip(factor.paths, level))
            for combo in itertools.product(*(f.levels for f in factors))]
    return [{**g, **s} for g in grid for s in (sampled or [{}])]


def _metric_problem(name: str, known: list[str], services) -> str:
    """Why ``name`` is not a metric of this scenario, with the closest names."""
    parts = name.split(".")
    if parts[0] == "services" and len(parts) >= 2 and parts[1] not in services:
        return (f"expected services.NAME.KEY with a service of the scenario "
                f"(known: {', '.join(services)})")
    near = closest(name, known)
    hint = f"; did you mean {' or '.join(repr(k) for k in near)}?" if near else ""
    return f"not a summary.json key of this scenario{hint}"


def _parse_metrics(spec: ExperimentSpec, base: Scenario, problems: list[Problem]) -> list[Metric]:
    """The experiment's metrics, each checked against the key set a run of the
    base scenario (the scenario with the experiment's ``overrides``) writes to
    ``summary.json`` (:func:`sim.record.keys.metric_names`): arms and design
    points change values, not which keys exist. Every bad name is reported."""
    known = metric_names(base) + list(RECORD_METRICS)
    known_set = set(known)
    metrics, seen = [], set()
    for i, item in enumerate(spec.metrics):
        if isinstance(item, dict):
            if len(item) != 1:
                problems.append(Problem(f"metrics.{i}", "write one metric per item: {name: minimize|maximize}",
                                        item))
                continue
            name, direction = next(iter(item.items()))
        else:
            name = item
            direction = "maximize" if name.split(".")[-1] in MAXIMIZE_BY_DEFAULT else "minimize"
        if name not in known_set:
            problems.append(Problem(f"metrics.{i}", _metric_problem(name, known, base.services), name))
            continue
        if name in seen:
            problems.append(Problem(f"metrics.{i}", "listed twice", name))
            continue
        seen.add(name)
        metrics.append(Metric(name, direction))
    return metrics


def _check_paths(spec: ExperimentSpec, factors: list[Factor], sampled: list[str],
                 problems: list[Problem]) -> None:
    owner: dict[str, str] = {}
    for factor in factors:
        for path in factor.paths:
            if path in owner:
                problems.append(Problem(f"factors.{factor.name}", f"path {path!r} also varies in {owner[path]}"))
            owner[path] = f"factors.{factor.name}"
    for path in sampled:
        if path in owner:
            problems.append(Problem(f"design.ranges.{path}", f"path also varies in {owner[path]}"))
        owner[path] = f"design.ranges.{path}"
    for path in owner:
        if path in RESERVED_COLUMNS:
            problems.append(Problem(owner[path], f"{path!r} cannot vary in an experiment (the run sets it)"))
    for arm, overrides in spec.arms.items():
        if not ARM_NAME_RE.match(arm):
            problems.append(Problem(f"arms.{arm}", "arm names are letters, digits and . _ + -", arm))
        for path in overrides:
            if path in owner:
                problems.append(Problem(f"arms.{arm}.{path}", f"path also varies in {owner[path]}; "
                                        "an arm and a factor may not set the same path"))
    if spec.baseline is not None and spec.baseline not in (spec.arms or {DEFAULT_ARM: {}}):
        problems.append(Problem("baseline", f"no arm named so (arms: {', '.join(spec.arms) or 'none'})",
                                spec.baseline))


def _attribute(problem: Problem, sources: list[tuple[str, str]], context: str) -> Problem:
    """Re-locate a scenario problem at the experiment entry that caused it."""
    best = None
    for path, where in sources:
        if (problem.path == path or problem.path.startswith(path + ".")
                or path.startswith(problem.path + ".")):
            if best is None or len(path) > len(best[0]):
                best = (path, where)
    if best is None:
        return Problem(problem.path, f"{problem.message} [{context}]", problem.value)
    path, where = best
    suffix = problem.path[len(path):] if problem.path.startswith(path) else ""
    return Problem(f"{where}{suffix}", problem.message, problem.value)


def _sources(exp: Experiment, arm: str, point: int) -> list[tuple[str, str]]:
    sources = [(p, f"overrides.{p}") for p in exp.spec.overrides]
    sources += [(p, f"arms.{arm}.{p}") for p in exp.arms[arm]]
    by_path = {p: f"factors.{f.name}" + (f".{p}" if isinstance(exp.spec.factors[f.name], dict) else "")
               for f in exp.factors for p in f.paths}
    by_path.update({p: f"design.ranges.{p}" for p in exp.sampled_paths})
    sources += [(p, by_path[p]) for p in exp.points[point]]
    return sources


def _point_text(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "no factors"


def validate_runs(exp: Experiment, limit: int = 50) -> None:
    """Resolve and validate the scenario of every (arm, design point), each once.

    Raises :class:`ScenarioError` with every distinct problem, each located at
    the experiment entry (``arms.X.path``, ``factors.path``, ...) that caused it.
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    cache: dict[str, Union[Scenario, list[Problem]]] = {}
    for arm in exp.arms:
        for point in range(len(exp.points)):
            overrides = exp.overrides_for(arm, point)
            key = canonical(overrides)
            if key not in cache:
                raw, earlier = apply_overrides_collecting(exp.scenario_raw, overrides)
                try:
                    cache[key] = validate(raw, base_dir=exp.scenario_dir, earlier=earlier)
                except ScenarioError as exc:
                    cache[key] = exc.problems
            outcome = cache[key]
            if isinstance(outcome, Scenario):
                exp.scenarios[(arm, point)] = outcome
                continue
            context = f"arm {arm}, point {point}: {_point_text(exp.points[point])}"
            for problem in outcome:
                located = _attribute(problem, _sources(exp, arm, point), context)
                if str(located) not in seen:
                    seen.add(str(located))
                    problems.append(located)
    if problems:
        if len(problems) > limit:
            extra = len(problems) - limit
            problems = problems[:limit] + [Problem("...", f"and {extra} more problem(s)")]
        raise ScenarioError(problems, source=exp.source)


def _check_labels_and_references(spec: ExperimentSpec, factors: list[Factor], sampled: list[str],
                                  metrics: list[Metric], problems: list[Problem]) -> None:
    """``labels`` keys must name an arm, a factor (or one of its paths), a sampled
    range or a metric; ``reference`` keys a grid factor and values one of its levels
    (a coupled factor's level as the list of its values)."""
    known = set(spec.arms or {DEFAULT_ARM: {}}) | {f.name for f in factors} | set(sampled)
    known |= {p for f in factors for p in f.paths} | {m.name for m in metrics}
    for key in spec.labels:
        if key not in known:
            problems.append(Problem(f"labels.{key}", "names no arm, factor or metric of this experiment"))
    by_name = {f.name: f for f in factors}
    for key, level in spec.reference.items():
        factor = by_name.get(key)
        if factor is None:
            problems.append(Problem(f"reference.{key}", "not a grid factor (known: "
                                    f"{', '.join(by_name) or 'none'})"))
            continue
        wanted = canonical(list(level) if factor.coupled and isinstance(level, (list, tuple)) else [level])
        if wanted not in {canonical(list(lv)) for lv in factor.levels}:
            problems.append(Problem(f"reference.{key}", "not one of the factor's levels "
                                    f"({', '.join(str(list(lv) if factor.coupled else lv[0]) for lv in factor.levels)})",
                                    level))


def load_experiment(source: Union[Source, Experiment], *, replications: Optional[int] = None,
                    check_runs: bool = True) -> Experiment:
    """Load an experiment from a YAML path or a mapping and validate it whole.

    ``scenario:`` is a path relative to the experiment file (to the working
    directory for a mapping) or an inline scenario mapping. With ``check_runs``
    (the default) the resolved scenario of every arm and design point is
    validated before this returns. Raises :class:`~sim.errors.ScenarioError`
    listing every problem.
    """
    if isinstance(source, Experiment):
        if replications is not None and replications != source.replications:
            return dataclasses.replace(source, replications=int(replications))
        return source
    raw, name, root = _read(source)
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(problems_from(exc, ExperimentSpec), source=name) from None
    problems: list[Problem] = []
    factors = _parse_factors(spec, problems)
    ranges = _parse_ranges(spec.design, problems) if spec.design else {}
    _check_paths(spec, factors, list(ranges), problems)
    if replications is not None and replications < 1:
        problems.append(Problem("replications", "must be >= 1", replications))
    if isinstance(spec.scenario, str):
        scenario_path = Path(spec.scenario)
        if not scenario_path.is_absolute():
            scenario_path = Path(os.path.normpath(root / scenario_path))
        try:
            scenario_raw = read_yaml(scenario_path)
        except ScenarioError as exc:
            raise ScenarioError(problems + [Problem("scenario", p.message, spec.scenario)
                                            for p in exc.problems], source=name) from None
        scenario_dir, scenario_source = str(scenario_path.resolve().parent), str(scenario_path)
    else:
        scenario_raw, scenario_dir, scenario_source = dict(spec.scenario), str(root), None
    base_raw, earlier = apply_overrides_collecting(scenario_raw, spec.overrides)
    try:
        base = validate(base_raw, base_dir=scenario_dir, earlier=earlier)
    except ScenarioError as exc:
        sources = [(k, f"overrides.{k}") for k in spec.overrides]
        located = [_attribute(p, sources, "") if any(
            p.path == k or p.path.startswith(k + ".") or k.startswith(p.path + ".")
            for k, _ in sources) else Problem(f"scenario: {p.path}", p.message, p.value)
            for p in exc.problems]
        raise ScenarioError(problems + located, source=name) from None
    metrics = _parse_metrics(spec, base, problems)
    _check_labels_and_references(spec, factors, list(ranges), metrics, problems)
    if spec.service is not None and spec.service not in base.services:
        problems.append(Problem("service", f"no such service (known: {', '.join(base.services)})",
                                spec.service))
    if problems:
        raise ScenarioError(problems, source=name)
    sampled = sample_design(spec.design, ranges, spec.seed) if spec.design else []
    exp = Experiment(
        spec=spec, source=name, scenario_raw=scenario_raw, scenario_dir=scenario_dir,
        scenario_source=scenario_source, base=base,
        arms={k: dict(v) for k, v in spec.arms.items()} or {DEFAULT_ARM: {}},
        factors=factors, sampled_paths=list(ranges), points=design_points(factors, sampled),
        metrics=metrics, replications=int(replications or spec.replications))
    if check_runs:
        validate_runs(exp)
    return exp

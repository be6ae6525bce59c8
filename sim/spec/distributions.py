"""Probability distributions of durations (work, io, startup, think time, latency).

Each distribution knows its mean and variance (for tests against queueing
theory and for analytic columns) and its quantile function. The engine samples
by inversion, ``x = quantile(u)`` with ``u`` uniform from a named stream: two
arms that differ only in a distribution's parameters then see *coupled*
samples (the i-th draw moves monotonically with the parameter), which is what
makes common random numbers effective.

YAML forms: a bare duration is a constant; otherwise a mapping with ``dist``.
"""
from __future__ import annotations

import abc
import csv
import math
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import numpy as np
from pydantic import (AfterValidator, BeforeValidator, Discriminator, Field, PrivateAttr, Tag,
                      ValidationInfo, model_validator)
from scipy import special

from .base import (LATENCY_WARN_S, TIMEOUT_WARN_S, BareSecondsAbove, Duration, NonNegDuration,
                   PosDuration, Spec)

_Z99 = 2.3263478740408408  # standard normal 0.99 quantile
TAG_PREFIX = "dist:"


class _Dist(Spec):
    """Base: ``weight`` is only meaningful inside a mixture."""

    weight: Optional[float] = Field(None, gt=0)

    @abc.abstractmethod
    def mean(self) -> float:
        """Expected value (seconds)."""

    @abc.abstractmethod
    def variance(self) -> float:
        """Variance (seconds squared)."""

    @abc.abstractmethod
    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at ``u`` (uniforms in [0, 1)), vectorized."""

    def scv(self) -> float:
        """Squared coefficient of variation, Var/mean^2 (0 for a constant)."""
        m = self.mean()
        return self.variance() / (m * m) if m > 0 else 0.0


class Constant(_Dist):
    dist: Literal["constant"] = "constant"
    value: NonNegDuration

    def mean(self) -> float:
        return self.value

    def variance(self) -> float:
        return 0.0

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value)


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean_s: PosDuration = Field(alias="mean")

    def mean(self) -> float:
        return self.mean_s

    def variance(self) -> float:
        return self.mean_s ** 2

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return -self.mean_s * np.log1p(-u)


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: NonNegDuration
    high: NonNegDuration

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def mean(self) -> float:
        return (self.low + self.high) / 2

    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def quantile(self, u: np.ndarray) -> np.ndarray:
        return self.low + u * (self.high - self.low)


class LogNormal(_Dist):
    """Lognormal given by ``{mean, cv}`` or by ``{median, p99}``."""

    dist: Literal["lognormal"]
    mean_s: Optional[PosDuration] = Field(None, alias="mean")
    cv: Optional[float] = Field(None, gt=0, le=100)
    median: Optional[PosDuration] = None
    p99: Optional[PosDuration] = None

    @model_validator(mode="after")
    def _one_parameterization(self):
        by_mean = self.mean_s is not None and self.cv is not None
        by_median = self.median is not None and self.p99 is not None
        mixed = (self.mean_s is not None or self.cv is not None) and \
                (self.median is not None or self.p99 is not None)
        if mixed or not (by_mean or by_median):
            raise ValueError("give either {mean, cv} or {median, p99}")
        if by_median and self.p99 <= self.median:
            raise ValueError(f"p99 ({self.p99}) must be greater than median ({self.median})")
        return self

    @property
    def mu_sigma(self) -> tuple[float, float]:
        """Parameters of the underlying normal."""
        if self.mean_s is not None:
            sigma2 = math.log1p(self.cv ** 2)
            return math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2)
        mu = math.log(self.median)
        return mu, (math.log(self.p99) - mu) / _Z99

    def mean(self) -> float:
        mu, sigma = self.mu_sigma
        return math.exp(mu + sigma * sigma / 2)

    def variance(self) -> float:
        mu, sigma = self.mu_sigma
        return math.expm1(sigma * sigma) * math.exp(2 * mu + sigma * sigma)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        mu, sigma = self.mu_sigma
        return np.exp(mu + sigma * special.ndtri(u))


class Gamma(_Dist):
    """Gamma ``{mean, cv}``; ``cv`` at most 10: beyond, nearly every sample is
    0 and the few others are huge, so samples no longer show the mean asked for."""

    dist: Literal["gamma"]
    mean_s: PosDuration = Field(alias="mean")
    cv: float = Field(gt=0, le=10)

    def mean(self) -> float:
        return self.mean_s

    def variance(self) -> float:
        return (self.mean_s * self.cv) ** 2

    def quantile(self, u: np.ndarray) -> np.ndarray:
        shape = 1.0 / self.cv ** 2
        return special.gammaincinv(shape, u) * self.mean_s / shape


class Normal(_Dist):
    """Normal ``{mean, sd}`` truncated at 0 (durations cannot be negative)."""

    dist: Literal["normal"]
    mean_s: Duration = Field(alias="mean")
    sd: PosDuration

    def _tail(self) -> tuple[float, float]:
        alpha = -self.mean_s / self.sd
        return alpha, float(special.ndtr(alpha))

    def mean(self) -> float:
        alpha, cdf = self._tail()
        hazard = math.exp(-alpha * alpha / 2) / math.sqrt(2 * math.pi) / (1 - cdf)
        return self.mean_s + self.sd * hazard

    def variance(self) -> float:
        alpha, cdf = self._tail()
        hazard = math.exp(-alpha * alpha / 2) / math.sqrt(2 * math.pi) / (1 - cdf)
        return self.sd ** 2 * (1 + alpha * hazard - hazard * hazard)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        _, cdf = self._tail()
        return np.maximum(0.0, self.mean_s + self.sd * special.ndtri(cdf + u * (1 - cdf)))


def _read_values(path: Path, column: Any) -> list[float]:
    """Read one column of non-negative seconds from a CSV file (header optional)."""
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    if not rows:
        raise ValueError(f"{path} holds no values")
    header = None
    try:
        float(rows[0][0] if column is None or isinstance(column, int) else "x")
    except ValueError:
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    index = 0
    if isinstance(column, str):
        if header is None or column not in header:
            raise ValueError(f"{path} has no column {column!r} (header: {header})")
        index = header.index(column)
    elif isinstance(column, int):
        index = column
    try:
        values = [float(row[index]) for row in rows]
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{path}: every row needs a number in column {column or 0} ({exc})") from None
    if not values or min(values) < 0 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{path}: values must be finite and >= 0")
    return values


class Empirical(_Dist):
    """Resampling of observed values, given inline or as a CSV file (seconds)."""

    dist: Literal["empirical"]
    values: Optional[list[NonNegDuration]] = Field(None, min_length=1)
    file: Optional[str] = None
    column: Optional[Union[int, str]] = None
    _sorted: np.ndarray = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo):
        if (self.values is None) == (self.file is None):
            raise ValueError("give exactly one of values or file")
        values = self.values
        if self.file is not None:
            base = Path((info.context or {}).get("base_dir", "."))
            path = Path(self.file) if Path(self.file).is_absolute() else base / self.file
            try:
                values = _read_values(path, self.column)
            except OSError as exc:
                raise ValueError(f"cannot read {self.file}: {exc.strerror or exc}") from None
            object.__setattr__(self, "file", str(path.resolve()))  # resolved scenario loads anywhere
        self._sorted = np.sort(np.asarray(values, dtype=float))
        return self

    def __eq__(self, other: object) -> bool:
        # pydantic compares private attributes with ==, which numpy arrays
        # cannot answer with one bool: compare the fields and the data instead.
        if not isinstance(other, Empirical):
            return NotImplemented
        return self.__dict__ == other.__dict__ and np.array_equal(self._sorted, other._sorted)

    __hash__ = None  # holds lists: unhashable, as before

    def mean(self) -> float:
        return float(self._sorted.mean())

    def variance(self) -> float:
        return float(self._sorted.var())

    def quantile(self, u: np.ndarray) -> np.ndarray:
        n = len(self._sorted)
        return self._sorted[np.minimum((np.asarray(u) * n).astype(np.int64), n - 1)]


class Mixture(_Dist):
    """A weighted mixture, e.g. bimodal service times (cache hit / miss).

    One uniform picks the component and, rescaled, the value inside it, so
    sampling stays monotone within each component.
    """

    dist: Literal["mixture"]
    components: list["ComponentDist"] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self):
        missing = [i for i, c in enumerate(self.components) if c.weight is None]
        if missing:
            raise ValueError(f"every component needs a weight > 0 (missing in {missing})")
        if not math.isfinite(sum(c.weight for c in self.components)):
            raise ValueError("parameters out of range: the weights must add up to a finite number")
        return self

    def _probabilities(self) -> np.ndarray:
        weights = np.array([c.weight for c in self.components], dtype=float)
        return weights / weights.sum()

    def mean(self) -> float:
        return float(sum(p * c.mean() for p, c in zip(self._probabilities(), self.components)))

    def variance(self) -> float:
        second = sum(p * (c.variance() + c.mean() ** 2)
                     for p, c in zip(self._probabilities(), self.components))
        return float(second - self.mean() ** 2)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        edges = np.concatenate([[0.0], np.cumsum(self._probabilities())])
        edges[-1] = 1.0
        which = np.clip(np.searchsorted(edges, u, side="right") - 1, 0, len(self.components) - 1)
        out = np.empty_like(u)
        for j, component in enumerate(self.components):
            mask = which == j
            if mask.any():
                inner = (u[mask] - edges[j]) / (edges[j + 1] - edges[j])
                out[mask] = component.quantile(np.clip(inner, 0.0, np.nextafter(1.0, 0.0)))
        return out


DIST_TYPES = {cls.model_fields["dist"].default if cls is Constant else
              cls.model_fields["dist"].annotation.__args__[0]: cls
              for cls in (Constant, Exponential, Uniform, LogNormal, Gamma, Normal,
                          Empirical, Mixture)}


def _bare_to_constant(value: Any) -> Any:
    """A bare duration (number or '20ms') is a constant distribution."""
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


def dist(value: Any) -> Optional[str]:  # named for pydantic's "missing its 'dist' key"
    name = value.get("dist") if isinstance(value, dict) else getattr(value, "dist", None)
    return f"{TAG_PREFIX}{name}" if isinstance(name, str) else None


def _no_weight(dist: _Dist) -> _Dist:
    if dist.weight is not None:
        raise ValueError("weight is only allowed inside a mixture's components")
    return dist


_PROBES_U = np.array([0.0, 0.5, 1.0 - 1e-9])


def _finite(dist: _Dist) -> _Dist:
    """Refuse parameters whose mean or samples overflow (``mean: 1e308``,
    ``{median: 1ns, p99: 1e300}``): the engine must never draw inf or nan."""
    try:
        mean = dist.mean()
        samples = dist.quantile(_PROBES_U)
    except (ArithmeticError, ValueError):
        mean, samples = math.inf, _PROBES_U
    if not (math.isfinite(mean) and np.isfinite(samples).all()):
        raise ValueError("parameters out of range: the distribution's mean or its samples "
                         "are not finite numbers")
    return dist


_Union = Annotated[
    Union[tuple(Annotated[cls, Tag(f"{TAG_PREFIX}{name}")] for name, cls in DIST_TYPES.items())],
    Discriminator(dist),
]
ComponentDist = Annotated[_Union, BeforeValidator(_bare_to_constant)]
Dist = Annotated[_Union, BeforeValidator(_bare_to_constant), AfterValidator(_no_weight),
                 AfterValidator(_finite)]
"""A distribution field: a bare duration or a ``{dist: ...}`` mapping."""
LatencyDist = Annotated[Dist, BareSecondsAbove(LATENCY_WARN_S, "one-way network latency")]
"""A hop's latency; bare numbers above a second are warned about (sim.spec.bare_numbers)."""
AddedLatencyDist = Annotated[Dist, BareSecondsAbove(TIMEOUT_WARN_S, "added latency")]
"""A latency fault's extra delay; bare numbers above a minute are warned about."""

Mixture.model_rebuild()


def is_zero(dist) -> bool:
    """Whether ``dist`` is the constant 0 (a step it describes can be left out)."""
    return isinstance(dist, Constant) and dist.value == 0.0


def constant(value_s: float) -> Constant:
    """A constant distribution built in code (defaults, tests)."""
    return Constant(dist="constant", value=value_s)

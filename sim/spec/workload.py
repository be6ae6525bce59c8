"""Traffic sources: open loop (Poisson or deterministic arrivals at a constant
rate, a piecewise profile with optional linear ramps, or a trace file) and
closed loop (a fixed population of users with think time)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal, Optional

import numpy as np
from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from .base import NonNegDuration, Rate, Spec
from .distributions import Dist
from .policy import CallPolicy


class ProfilePoint(Spec):
    at: NonNegDuration
    rate: Rate


def _read_trace(path: Path) -> tuple[str, np.ndarray]:
    """Read a trace: two columns ``t,rate`` (a rate profile) or one timestamp a row."""
    with path.open(newline="") as handle:
        rows = [[c.strip() for c in row] for row in csv.reader(handle)
                if row and any(c.strip() for c in row)]
    if rows:
        try:
            float(rows[0][0])
        except ValueError:
            rows = rows[1:]
    if not rows:
        raise ValueError(f"{path.name} holds no rows")
    width = len(rows[0])
    if width not in (1, 2) or any(len(r) != width for r in rows):
        raise ValueError(f"{path.name}: expected columns 't,rate' or one timestamp a row")
    data = np.array([[float(c) for c in r] for r in rows], dtype=float)
    if not np.isfinite(data).all() or (data < 0).any():
        raise ValueError(f"{path.name}: values must be finite and >= 0")
    if np.any(np.diff(data[:, 0]) < 0):
        raise ValueError(f"{path.name}: times must not decrease")
    return ("profile", data) if width == 2 else ("timestamps", data[:, 0])


class Arrivals(Spec):
    """Open-loop arrivals: exactly one of ``rate``, ``profile`` or ``trace``.

    A profile is piecewise constant (``linear: true`` interpolates linearly
    between points); after its last point the last rate holds. A trace of
    ``t,rate`` rows is a profile; a trace of single timestamps is replayed as is.
    ``scale`` multiplies every rate (not replayed timestamps).
    """

    rate: Optional[Rate] = None
    profile: Optional[list[ProfilePoint]] = Field(None, min_length=1)
    trace: Optional[str] = None
    linear: bool = False
    process: Literal["poisson", "deterministic"] = "poisson"
    scale: float = Field(1.0, ge=0)
    _trace_kind: Optional[str] = PrivateAttr(default=None)
    _trace_data: Optional[np.ndarray] = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_source(self, info: ValidationInfo):
        given = [k for k in ("rate", "profile", "trace") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of rate, profile or trace (got {given or 'none'})")
        if self.profile is not None:
            times = [p.at for p in self.profile]
            if times != sorted(times):
                raise ValueError("profile points must be in increasing 'at' order")
        if self.trace is not None:
            base = Path((info.context or {}).get("base_dir", "."))
            path = Path(self.trace) if Path(self.trace).is_absolute() else base / self.trace
            try:
                self._trace_kind, self._trace_data = _read_trace(path)
            except OSError as exc:
                raise ValueError(f"cannot read trace {self.trace}: {exc.strerror or exc}") from None
            object.__setattr__(self, "trace", str(path.resolve()))  # resolved scenario loads anywhere
        return self

    def __eq__(self, other: object) -> bool:
        # the private trace data is a numpy array: compare it with array_equal
        # (pydantic's default == on private attributes raises for arrays).
        if not isinstance(other, Arrivals):
            return NotImplemented
        mine, theirs = self._trace_data, other._trace_data
        same_data = (mine is None and theirs is None) or (
            mine is not None and theirs is not None and np.array_equal(mine, theirs))
        return self.__dict__ == other.__dict__ and self._trace_kind == other._trace_kind and same_data

    __hash__ = None  # holds lists: unhashable, as before

    def rate_points(self) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """(times_s, rates) of the rate function, or None for a timestamp trace."""
        if self.rate is not None:
            return np.array([0.0]), np.array([self.rate * self.scale])
        if self.profile is not None:
            return (np.array([p.at for p in self.profile]),
                    np.array([p.rate for p in self.profile]) * self.scale)
        if self._trace_kind == "profile":
            return self._trace_data[:, 0].copy(), self._trace_data[:, 1] * self.scale
        return None

    def timestamps(self) -> Optional[np.ndarray]:
        return self._trace_data.copy() if self._trace_kind == "timestamps" else None


class Workload(Spec):
    """One traffic source entering the cluster at ``target``: a service, one
    of its endpoints (``service/endpoint``) or an external dependency."""

    target: str
    arrivals: Optional[Arrivals] = None
    users: Optional[int] = Field(None, ge=1)
    think_time: Optional[Dist] = None
    client: CallPolicy = CallPolicy()

    @property
    def target_service(self) -> str:
        """The service (or external) entered, without the endpoint."""
        return self.target.split("/", 1)[0]

    @model_validator(mode="after")
    def _open_or_closed(self):
        if (self.arrivals is None) == (self.users is None):
            raise ValueError("give either arrivals (open loop) or users (closed loop)")
        if self.think_time is not None and self.users is None:
            raise ValueError("think_time goes with users (closed loop)")
        return self

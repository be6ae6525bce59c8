"""What a run's summary measures besides the defaults: the SLO and named windows.

- ``slo: {latency: 500ms, target: 0.999}``: an external request is *good* when
  it ends ``ok`` within ``latency`` of its arrival; everything else that
  arrived (failed, too slow, or still in flight at the end) is *bad*. The
  defaults, 1 s and 0.99, read as "p99 under one second, failures counting
  as slow": an error-budget burn of 1 means the run spends its budget exactly.
- ``windows: {spike: {from: 17m, to: 27m}}``: named intervals ``[from, to)``
  over which every request metric is also reported (``windows.NAME.*``); each
  fault adds ``fault.I`` and ``after.fault.I`` by itself (see
  :mod:`sim.record.windows`).
"""
from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from .base import NonNegDuration, PosDuration, Spec

DEFAULT_SLO_LATENCY_S = 1.0
DEFAULT_SLO_TARGET = 0.99


class SloSpec(Spec):
    """A latency-and-availability objective over external requests."""

    latency: PosDuration = DEFAULT_SLO_LATENCY_S
    target: float = Field(DEFAULT_SLO_TARGET, gt=0, lt=1)

    @field_validator("target", mode="before")
    @classmethod
    def _a_fraction(cls, target):
        if isinstance(target, (int, float)) and not isinstance(target, bool) and 1 < target < 100:
            raise ValueError(f"a fraction below 1, not a percentage (write {target / 100:g} "
                             f"for {target:g} %)")
        return target


class WindowSpec(Spec):
    """A named interval ``[from, to)`` of simulated time."""

    start_s: NonNegDuration = Field(alias="from")
    end_s: PosDuration = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self):
        if self.end_s <= self.start_s:
            raise ValueError(f"'to' ({self.end_s:g} s) must be after 'from' ({self.start_s:g} s)")
        return self

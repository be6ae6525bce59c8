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
- ``record: full | sample | summary`` (or ``{level: sample, one_in: 100}``):
  how much of each run is kept (see :class:`RecordSpec`).
"""
from __future__ import annotations

import difflib
from typing import Literal

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


RECORD_LEVELS = ("full", "sample", "summary")
DEFAULT_SAMPLE_ONE_IN = 100


class RecordSpec(Spec):
    """How much of a run is kept in memory (``record``).

    - ``full`` (the default for ``podsim run``): every request and every
      attempt as a row (``requests`` and ``calls`` tables); memory grows with
      the number of requests (~30 bytes a request, ~66 an attempt).
    - ``summary`` (the default in sweeps): no rows; every ``summary.json`` key
      and every time-series column is computed while the run goes, in memory
      that does not grow with the number of requests. Counts, rates and means
      are exact, the time series is exact, latency and queue-wait percentiles
      come from a DDSketch with 1 % relative error.
    - ``sample``: as ``summary``, plus full rows for a deterministic 1-in-
      ``one_in`` sample of requests (all their attempts; chosen by a hash of
      the request id, so independent of arrival order and load balancing)
      and for every request that did not end ``ok``.

    YAML may say ``record: summary`` or ``record: {level: sample, one_in: 50}``.
    """

    level: Literal["full", "sample", "summary"] = "full"
    one_in: int = Field(DEFAULT_SAMPLE_ONE_IN, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value):
        """``summary``, ``sample:50``: the one parser of the short form (the
        scenario key, ``--record``, ``sim.run(record=)`` and sweeps)."""
        if not isinstance(value, str):
            if isinstance(value, dict) or isinstance(value, RecordSpec):
                return value
            raise ValueError("expected full, sample, summary, sample:N or {level, one_in}")
        level, colon, n = value.partition(":")
        if level not in RECORD_LEVELS:
            close = difflib.get_close_matches(level.lower(), RECORD_LEVELS, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown level {level!r}{hint} (choose from full, sample, summary "
                             "or sample:N)")
        if not colon:
            return {"level": level}
        if level != "sample":
            raise ValueError("only sample takes :N, one request in N kept")
        if not n.strip().isdigit():
            raise ValueError("sample:N needs a whole number N >= 1")
        if int(n) < 1:
            raise ValueError("sample:N needs N >= 1, one request in N kept")
        return {"level": level, "one_in": int(n)}

    @model_validator(mode="after")
    def _one_in_only_when_sampling(self):
        if self.level != "sample" and self.one_in != DEFAULT_SAMPLE_ONE_IN:
            raise ValueError(f"one_in applies to level: sample only (level is {self.level})")
        return self


def record_level(value) -> RecordSpec:
    """``value`` (``"summary"``, ``"sample:50"``, a mapping or a RecordSpec) as a
    RecordSpec; a bad one raises :class:`~sim.errors.ScenarioError` naming
    ``record`` (for ``sim.run(record=...)``, ``--record`` and sweeps)."""
    from pydantic import ValidationError

    from ..errors import ScenarioError
    from .problems import problems_from

    if isinstance(value, RecordSpec):
        return value
    try:
        return RecordSpec.model_validate(value)
    except ValidationError as error:
        raise ScenarioError(problems_from(error, RecordSpec, "record")) from None


def with_record(scenario, value):
    """``scenario`` (a loaded Scenario) recorded at ``value`` (see
    :func:`record_level`) instead of its own ``record``."""
    return scenario.model_copy(update={"record": record_level(value)})

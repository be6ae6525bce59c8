"""Shared building blocks of the scenario spec: strict frozen models and unit types.

Every model forbids unknown keys and is immutable once validated. Units are
parsed once, at load: durations become float seconds and CPU quantities float
cores, so the engine never sees a string.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..units import parse_cpu, parse_duration


@dataclass(frozen=True)
class BareSecondsAbove:
    """Marks a duration field: a bare number above ``limit_s`` earns a warning.

    A bare number is seconds, so ``timeout: 300`` is five minutes; for a
    field that is usually milliseconds that is more likely a forgotten unit
    (see :mod:`sim.spec.bare_numbers`). ``kind`` names the field's family in
    the warning. Metadata only: validation ignores it.
    """

    limit_s: float
    kind: str


class Spec(BaseModel):
    """Base of every scenario block: unknown keys are errors; values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds; YAML may say ``250ms``, ``15s``, ``5m``."""
NonNegDuration = Annotated[Duration, Field(ge=0)]
PosDuration = Annotated[Duration, Field(gt=0)]
Cores = Annotated[float, BeforeValidator(parse_cpu), Field(gt=0)]
"""CPU cores; YAML may say ``500m`` or ``2``."""
Probability = Annotated[float, Field(ge=0, le=1)]
Rate = Annotated[float, Field(ge=0)]
"""Requests per second."""

TIMEOUT_WARN_S = 60.0
"""A bare timeout, deadline or hedge delay above a minute is probably milliseconds."""
LATENCY_WARN_S = 1.0
"""A bare one-way network latency above a second is probably milliseconds."""
Timeout = Annotated[PosDuration, BareSecondsAbove(TIMEOUT_WARN_S, "timeout")]
"""A timeout-like duration (seconds); a bare number above a minute is warned about."""

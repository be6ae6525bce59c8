"""Shared building blocks of the scenario spec: strict frozen models and unit types.

Every model forbids unknown keys and is immutable once validated. Units are
parsed once, at load: durations become float seconds and CPU quantities float
cores, so the engine never sees a string.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..units import parse_cpu, parse_duration


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

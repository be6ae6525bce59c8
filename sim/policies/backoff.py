"""Retry back-off: how long a caller sleeps before retry number ``retry_index``.

Pure arithmetic. Randomness comes in as ``u``, one uniform number in [0, 1)
drawn by the simulator from its own seeded stream; nothing here touches a
global RNG, a clock or I/O.

Formulas follow Marc Brooker, "Exponential Backoff And Jitter", AWS
Architecture Blog, 2015 (generalised from multiplier 2 to ``multiplier``)::

    expo(n)      = min(cap, base * multiplier**n)        n = retry_index, 0 first
    none         = expo(n)
    full         = U(0, expo(n))
    equal        = expo(n)/2 + U(0, expo(n)/2)
    decorrelated = min(cap, U(base, 3 * previous))        previous starts at base

Every ``delay_s`` satisfies ``0 <= delay_s <= cap_s`` (and ``>= base_s`` for
decorrelated jitter, since ``cap_s >= base_s``).
"""
from __future__ import annotations

import math
from typing import Mapping, Optional

JITTERS = ("none", "full", "equal", "decorrelated")

_DEFAULT_CAP_FACTOR = 10.0
"""A missing ``cap`` is ``10 x base``: Envoy's default max retry interval,
as in :class:`sim.spec.policy.ExponentialBackoffSpec`."""


def _check_u(u: float) -> float:
    if not 0.0 <= u < 1.0:
        raise ValueError(f"u must be in [0, 1), got {u!r}")
    return u


def _check_index(retry_index: int) -> int:
    if isinstance(retry_index, bool) or not isinstance(retry_index, int) or retry_index < 0:
        raise ValueError(f"retry_index must be an int >= 0, got {retry_index!r}")
    return retry_index


def _finite_non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return float(value)


def _uniform_mean_capped(low: float, high: float, cap: float) -> float:
    """E[min(cap, X)] for X ~ U(low, high), low <= high."""
    if cap >= high:
        return (low + high) / 2.0
    if cap <= low:
        return cap
    below = (cap * cap - low * low) / 2.0
    above = cap * (high - cap)
    return (below + above) / (high - low)


class NoBackoff:
    """Retry at once: every delay is 0."""

    def delay_s(self, retry_index: int, u: float, previous_s: Optional[float] = None) -> float:
        _check_index(retry_index)
        _check_u(u)
        return 0.0

    def mean_s(self, retry_index: int) -> float:
        _check_index(retry_index)
        return 0.0


class ConstantBackoff:
    """Always sleep ``delay_s``; ``u`` is ignored."""

    def __init__(self, delay_s: float):
        self.fixed_delay_s = _finite_non_negative("delay_s", delay_s)

    def delay_s(self, retry_index: int, u: float, previous_s: Optional[float] = None) -> float:
        _check_index(retry_index)
        _check_u(u)
        return self.fixed_delay_s

    def mean_s(self, retry_index: int) -> float:
        _check_index(retry_index)
        return self.fixed_delay_s


class ExponentialBackoff:
    """Capped exponential back-off with one of Brooker's jitters.

    ``previous_s`` is used only by ``jitter="decorrelated"``: pass the sleep
    returned for the previous retry of the same call, or ``None`` for the
    first retry (then ``base_s`` is used, as in the blog's ``sleep = base``).
    """

    def __init__(self, base_s: float, cap_s: float, multiplier: float = 2.0,
                 jitter: str = "none"):
        self.base_s = _finite_non_negative("base_s", base_s)
        self.cap_s = _finite_non_negative("cap_s", cap_s)
        if self.cap_s < self.base_s:
            raise ValueError(f"cap_s ({cap_s}) must be >= base_s ({base_s})")
        multiplier = _finite_non_negative("multiplier", multiplier)
        if multiplier < 1.0:
            raise ValueError(f"multiplier must be >= 1, got {multiplier!r}")
        self.multiplier = multiplier
        if jitter not in JITTERS:
            raise ValueError(f"jitter must be one of {JITTERS}, got {jitter!r}")
        self.jitter = jitter

    def expo_s(self, retry_index: int) -> float:
        """``min(cap, base * multiplier**n)``, overflow-safe."""
        _check_index(retry_index)
        if self.base_s == 0.0:
            return 0.0
        # Compare exponents instead of computing a possibly huge power.
        if self.multiplier > 1.0:
            limit_n = math.log(self.cap_s / self.base_s, self.multiplier)
        else:
            limit_n = math.inf
        if retry_index >= limit_n:
            return self.cap_s
        return min(self.cap_s, self.base_s * self.multiplier ** retry_index)

    def delay_s(self, retry_index: int, u: float, previous_s: Optional[float] = None) -> float:
        _check_u(u)
        if self.jitter == "decorrelated":
            _check_index(retry_index)
            return self._decorrelated_s(u, previous_s)
        expo = self.expo_s(retry_index)
        if self.jitter == "none":
            return expo
        if self.jitter == "full":
            return u * expo
        return expo / 2.0 + u * (expo / 2.0)

    def mean_s(self, retry_index: int, previous_s: Optional[float] = None) -> float:
        """Expected delay; for decorrelated jitter, conditional on ``previous_s``."""
        if self.jitter == "decorrelated":
            _check_index(retry_index)
            high = 3.0 * self._previous(previous_s)
            return _uniform_mean_capped(self.base_s, high, self.cap_s)
        expo = self.expo_s(retry_index)
        if self.jitter == "none":
            return expo
        if self.jitter == "full":
            return expo / 2.0
        return 0.75 * expo

    def _previous(self, previous_s: Optional[float]) -> float:
        if previous_s is None:
            return self.base_s
        previous = _finite_non_negative("previous_s", previous_s)
        if previous < self.base_s:
            raise ValueError(f"previous_s ({previous_s}) is below base_s ({self.base_s}); "
                             "decorrelated sleeps never are")
        return previous

    def _decorrelated_s(self, u: float, previous_s: Optional[float]) -> float:
        high = 3.0 * self._previous(previous_s)
        return min(self.cap_s, self.base_s + u * (high - self.base_s))


Backoff = NoBackoff | ConstantBackoff | ExponentialBackoff

_KEYS = {
    "none": {"type"},
    "constant": {"type", "delay"},
    "exponential": {"type", "base", "cap", "multiplier", "jitter"},
}


def make_backoff(spec: Mapping[str, object]) -> Backoff:
    """Build a back-off from a scenario ``backoff`` block (durations in seconds).

    Keys: ``type`` (none | constant | exponential; default exponential, as in
    :mod:`sim.spec.policy`), ``delay``; ``base`` (default 0.025), ``cap``
    (default/None: 10 x base), ``multiplier`` (2.0), ``jitter`` ("full").
    Keys that the chosen type does not use are errors.
    """
    kind = spec.get("type", "exponential")
    if kind not in _KEYS:
        raise ValueError(f"backoff type must be one of {tuple(_KEYS)}, got {kind!r}")
    unknown = set(spec) - _KEYS[kind]
    if unknown:
        raise ValueError(f"backoff type {kind!r} does not take {sorted(unknown)}")
    if kind == "none":
        return NoBackoff()
    if kind == "constant":
        if "delay" not in spec:
            raise ValueError("backoff type 'constant' needs delay")
        return ConstantBackoff(spec["delay"])
    base = spec.get("base", 0.025)
    cap = spec.get("cap")
    cap = _DEFAULT_CAP_FACTOR * base if cap is None else cap
    return ExponentialBackoff(base, cap, spec.get("multiplier", 2.0), spec.get("jitter", "full"))

"""Token-bucket rate limiting: Go's ``golang.org/x/time/rate.Limiter``, used through ``Allow``.

A Go HTTP/gRPC middleware calls ``lim.Allow()`` per request and rejects at once
when it returns false; :class:`TokenBucketLimiter` reproduces that arithmetic
(``rate/rate.go`` at golang/time 2b4e439, 2025-09) with times as float seconds
instead of ``time.Time``. Only the parts that ``Allow`` reaches are kept:
``NewLimiter``, ``AllowN(t, 1)`` -> ``reserveN(t, 1, 0)``, ``advance``,
``tokensFromDuration``, ``durationFromTokens`` and ``TokensAt``. Reservations,
``Wait``, ``SetLimit``/``SetBurst`` and ``lastEvent`` (used only by
``Reservation.CancelAt``) are left out.

State: ``tokens`` (a float, may be very slightly negative, see below) and
``last_s``, the time ``tokens`` was last written. Semantics of ``allow(now_s)``:

1. If ``rate_per_s`` is infinite, allow; nothing changes (``reserveN`` returns
   before touching the state; ``burst`` is ignored, even 0).
2. ``advance``: ``elapsed = max(0, now_s - last_s)`` (if ``now_s`` is before
   ``last_s`` Go uses ``last = t``, i.e. no refill, no negative refill);
   ``tokens' = min(burst, tokens + elapsed * rate_per_s)``.
3. ``tokens' -= 1``; if negative, the wait is ``durationFromTokens(-tokens')``,
   ``time.Duration((deficit / rate) * 1e9)``, truncated to whole nanoseconds.
4. Allowed iff ``1 <= burst`` and that wait is 0 ns. So a deficit worth less
   than 1 ns of refill is still allowed (Go behaviour, kept: it also absorbs
   float rounding when arrivals are exactly ``1 / rate_per_s`` apart).
5. On success only: ``tokens = tokens'`` and ``last_s = now_s``, even if
   ``now_s < last_s`` (``last`` *is* moved back then: Go's
   ``TestLimiterJumpBackwards``). On failure the state is left exactly as it
   was (golang/time 2c09566, "the state of the limiter should not be changed
   when the requests failed"; earlier versions moved ``last`` back).

Invariants: ``-rate_per_s * 1e-9 < tokens <= burst``; ``burst == 0`` with a
finite rate never allows; ``rate_per_s == 0`` allows the initial ``burst``
tokens and nothing after (Go's ``TestZeroLimit``). Hence over any arrivals in
``[start_s, start_s + T]`` (time moving forward) at most
``burst + rate_per_s * T + rate_per_s * 1e-9`` are allowed.

Start: Go's ``NewLimiter`` sets ``tokens = burst`` with ``last`` the zero time,
so the bucket is full at its first use; here it is full at ``start_s``.
"""
from __future__ import annotations

import math
import sys

_NS_PER_S = 1e9


def _check_rate(rate_per_s: object) -> float:
    if isinstance(rate_per_s, bool) or not isinstance(rate_per_s, (int, float)) \
            or math.isnan(rate_per_s) or rate_per_s < 0:
        raise ValueError(f"rate_per_s must be a number >= 0 or math.inf, got {rate_per_s!r}")
    if rate_per_s >= sys.float_info.max:  # Go: const Inf = Limit(math.MaxFloat64)
        return math.inf
    return float(rate_per_s)


def _check_burst(burst: object) -> int:
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 0:
        raise ValueError(f"burst must be an int >= 0, got {burst!r}")
    return burst


def _check_time(start_s: object) -> float:
    if isinstance(start_s, bool) or not isinstance(start_s, (int, float)) \
            or not math.isfinite(start_s):
        raise ValueError(f"start_s must be a finite number, got {start_s!r}")
    return float(start_s)


class TokenBucketLimiter:
    """Go's ``rate.Limiter`` (rate ``rate_per_s``, bucket size ``burst``), full at ``start_s``.

    ``allow(now_s)`` is Go's ``Allow``/``AllowN(t, 1)``; ``tokens_at(now_s)``
    is Go's ``TokensAt`` and does not change the limiter. See the module
    docstring for the exact semantics.
    """

    __slots__ = ("rate_per_s", "burst", "_tokens", "_last_s")

    def __init__(self, rate_per_s: float, burst: int, start_s: float = 0.0):
        self.rate_per_s = _check_rate(rate_per_s)
        self.burst = _check_burst(burst)
        self._tokens = float(self.burst)  # NewLimiter: tokens: float64(b)
        self._last_s = _check_time(start_s)

    def tokens_at(self, now_s: float) -> float:
        """Tokens available at ``now_s`` (Go ``TokensAt`` -> ``advance``); read-only."""
        if math.isinf(self.rate_per_s):
            # Go: tokens stay float64(b) (reserveN never spends them under Inf)
            # and advance caps tokens + elapsed * MaxFloat64 at burst.
            return float(self.burst)
        elapsed_s = max(0.0, now_s - self._last_s)  # advance: if t.Before(last) { last = t }
        return min(float(self.burst), self._tokens + elapsed_s * self.rate_per_s)

    def allow(self, now_s: float) -> bool:
        """Take one token at ``now_s`` if there is one; else reject, changing nothing.

        Go ``AllowN(t, 1)`` -> ``reserveN(t, 1, maxFutureReserve=0)``.
        """
        if math.isinf(self.rate_per_s):
            return True  # reserveN: if lim.limit == Inf, ok without touching the state
        tokens = self.tokens_at(now_s) - 1.0
        if self.burst < 1 or self._wait_ns(-tokens) > 0:
            return False  # reserveN updates last/tokens only when ok
        self._tokens = tokens
        self._last_s = now_s  # lim.last = t, even when t is before the old last
        return True

    def _wait_ns(self, deficit_tokens: float) -> int:
        """Go ``durationFromTokens``: whole nanoseconds to refill ``deficit_tokens`` (<= 0 -> 0)."""
        if deficit_tokens <= 0:
            return 0
        if self.rate_per_s <= 0:
            return sys.maxsize  # InfDuration
        wait_ns = (deficit_tokens / self.rate_per_s) * _NS_PER_S
        return sys.maxsize if wait_ns >= sys.maxsize else int(wait_ns)  # time.Duration truncates

    def __repr__(self) -> str:
        return (f"TokenBucketLimiter(rate_per_s={self.rate_per_s!r}, burst={self.burst}, "
                f"tokens={self._tokens!r}, last_s={self._last_s!r})")

"""Client-side adaptive throttling, Google SRE book ch. 21 "Handling Overload".

Each client keeps, over a sliding window (the book: "the last two minutes"):

* ``requests``: requests attempted by the application layer, *including* the
  ones this throttle rejected locally;
* ``accepts``: requests the backend accepted.

A new request is rejected locally with probability (book, Equation 21-1)::

    p = max(0, (requests - k * accepts) / (requests + 1))

so once the backend rejects, the traffic that still reaches it settles near
``k x accepts``. The probability is computed from the history *before* the
request being decided is counted (as grpc-go's ``rls/adaptive`` throttler).
Randomness comes in as ``u`` in [0, 1); the request is rejected iff ``u < p``.

:class:`SlidingWindowCounter` is the bucketed window used here and by the
ratio retry budget in :mod:`sim.policies.budgets`.
"""
from __future__ import annotations

import math
from collections import deque


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class SlidingWindowCounter:
    """Sums of ``series`` counters over the last ``window_s`` seconds, in time buckets.

    Time is cut into buckets ``[i * bucket_s, (i + 1) * bucket_s)``; the window
    is the current bucket and the ``n - 1`` before it, ``n = window_s /
    bucket_s`` (which must be a whole number). A count therefore stays in the
    window for between ``window_s - bucket_s`` and ``window_s`` seconds.
    Memory is O(n) and every operation amortised O(1): buckets leave from
    the left and their counts are subtracted from running totals.
    """

    def __init__(self, window_s: float, bucket_s: float, series: int = 1):
        self.window_s = _positive("window_s", window_s)
        self.bucket_s = _positive("bucket_s", bucket_s)
        buckets = round(self.window_s / self.bucket_s)
        if buckets < 1 or not math.isclose(buckets * self.bucket_s, self.window_s, rel_tol=1e-9):
            raise ValueError(f"window_s ({window_s}) must be a whole number (>= 1) "
                             f"of bucket_s ({bucket_s})")
        if isinstance(series, bool) or not isinstance(series, int) or series < 1:
            raise ValueError(f"series must be an int >= 1, got {series!r}")
        self._n_buckets = buckets
        self._buckets: deque[list[float]] = deque()  # [bucket_index, count_0, count_1, ...]
        self._totals = [0.0] * series

    def add(self, now_s: float, series: int = 0, amount: float = 1.0) -> None:
        index = self._move_to(now_s)
        if not self._buckets or self._buckets[-1][0] < index:
            self._buckets.append([index] + [0.0] * len(self._totals))
        self._buckets[-1][1 + series] += amount
        self._totals[series] += amount

    def totals(self, now_s: float) -> tuple[float, ...]:
        self._move_to(now_s)
        return tuple(self._totals)

    def _move_to(self, now_s: float) -> int:
        index = math.floor(now_s / self.bucket_s)
        while self._buckets and self._buckets[0][0] <= index - self._n_buckets:
            bucket = self._buckets.popleft()
            for i, count in enumerate(bucket[1:]):
                self._totals[i] -= count
        return index


_REQUESTS, _ACCEPTS = 0, 1


class AdaptiveThrottle:
    """SRE-book client-side throttle; ``k`` is the book's K (2 by default)."""

    def __init__(self, k: float = 2.0, window_s: float = 120.0, bucket_s: float = 1.0):
        self.k = _positive("k", k)
        self._window = SlidingWindowCounter(window_s, bucket_s, series=2)

    def counts(self, now_s: float) -> tuple[int, int]:
        """``(requests, accepts)`` in the window ending at ``now_s``."""
        requests, accepts = self._window.totals(now_s)
        return int(requests), int(accepts)

    def reject_probability(self, now_s: float) -> float:
        """Equation 21-1 over the current window (the next request not yet counted)."""
        requests, accepts = self.counts(now_s)
        return max(0.0, (requests - self.k * accepts) / (requests + 1))

    def should_reject(self, now_s: float, u: float) -> bool:
        """Decide a new request (True = reject locally) and count it as a request."""
        if not 0.0 <= u < 1.0:
            raise ValueError(f"u must be in [0, 1), got {u!r}")
        probability = self.reject_probability(now_s)
        self._window.add(now_s, _REQUESTS)
        return u < probability

    def on_accepted(self, now_s: float) -> None:
        """The backend accepted a request (call once per response that was not an
        overload rejection)."""
        self._window.add(now_s, _ACCEPTS)

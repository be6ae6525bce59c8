"""Distributions of a run's values (latencies, queue waits) fed in chunks.

Two kinds with one interface (``add``, ``count``, ``mean``, ``max``,
``quantiles``, ``merge``):

- :class:`ExactValues` keeps every value (``record: full``): its quantiles are
  numpy's (linear interpolation), bit for bit what a table of the values gives.
- :class:`Sketch` keeps a DDSketch (Masson, Rim and Lee, "DDSketch: a fast and
  fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019;
  the ``ddsketch`` package, Datadog's maintained implementation) in memory
  that does not grow with the number of values (``record: summary`` and
  ``sample``). Its quantiles follow numpy's definition (linear between two
  order statistics), each order statistic read off the sketch within
  :data:`RELATIVE_ACCURACY` α, so ``|q̂ - q| <= α q`` where ``q`` is what
  ``numpy.quantile`` gives on the values. Count, sum (so the mean), min and
  max are kept exactly beside it. Sketches of the same
  accuracy merge (replications, windows) with the same guarantee.

Values arrive in numpy chunks. The sketch maps a chunk to bucket keys with
numpy, using the library's own logarithmic mapping (its ``gamma``,
multiplier and offset; :func:`bucket_keys` is tested against
``LogarithmicMapping.key``), and adds each distinct key once with its count:
adding a value costs a few numpy operations amortised over the chunk, not a
Python call.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping

RELATIVE_ACCURACY = 0.01
"""The sketch's stated relative error on any quantile (1 %)."""


def bucket_keys(mapping: LogarithmicMapping, values: np.ndarray) -> np.ndarray:
    """``mapping.key(v)`` for every (positive) value, vectorised:
    ``ceil(log2(v) * multiplier) + offset``, the library's formula."""
    return (np.ceil(np.log2(values) * mapping._multiplier) + mapping._offset).astype(np.int64)


class ExactValues:
    """Every value, kept in the order added; quantiles as ``numpy.quantile``."""

    exact = True

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._values: Optional[np.ndarray] = None

    def add(self, values: np.ndarray) -> None:
        if len(values):
            self._chunks.append(np.asarray(values, dtype=float))
            self._values = None

    @property
    def values(self) -> np.ndarray:
        if self._values is None:
            self._values = (self._chunks[0] if len(self._chunks) == 1 else
                            np.concatenate(self._chunks) if self._chunks else np.empty(0))
        return self._values

    @property
    def count(self) -> int:
        return sum(len(c) for c in self._chunks)

    def mean(self) -> Optional[float]:
        return float(self.values.mean()) if self.count else None

    def max(self) -> Optional[float]:
        return float(self.values.max()) if self.count else None

    def quantiles(self, qs: Sequence[float]) -> list[Optional[float]]:
        if not self.count:
            return [None] * len(qs)
        return [float(v) for v in np.quantile(self.values, list(qs))]

    def merge(self, other: "ExactValues") -> None:
        self.add(other.values)


class Sketch:
    """A DDSketch of the values (relative error :data:`RELATIVE_ACCURACY`),
    with their count, sum and max kept exactly."""

    exact = False

    def __init__(self, relative_accuracy: float = RELATIVE_ACCURACY) -> None:
        self.sketch = DDSketch(relative_accuracy)
        self._mapping = self.sketch._mapping
        self.count = 0
        self._sum = 0.0
        self._max = -math.inf
        self._min = math.inf

    @property
    def relative_accuracy(self) -> float:
        return self._mapping.relative_accuracy

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=float)
        if not len(values):
            return
        if np.any(values < 0) or not np.all(np.isfinite(values)):
            raise ValueError("a sketch takes finite values >= 0 (durations)")
        self.count += len(values)
        self._sum += float(values.sum())
        self._max = max(self._max, float(values.max()))
        self._min = min(self._min, float(values.min()))
        positive = values[values > self._mapping.min_possible]
        zeros = len(values) - len(positive)
        if zeros:
            self.sketch.add(0.0, zeros)
        keys, counts = np.unique(bucket_keys(self._mapping, positive), return_counts=True)
        value_of = self._mapping.value
        for key, n in zip(keys.tolist(), counts.tolist()):
            self.sketch.add(value_of(key), n)  # the bucket's representative maps back to ``key``

    def mean(self) -> Optional[float]:
        return self._sum / self.count if self.count else None

    def max(self) -> Optional[float]:
        return self._max if self.count else None

    def quantiles(self, qs: Sequence[float]) -> list[Optional[float]]:
        """``numpy.quantile``'s definition (linear between the order statistics
        of ranks ⌊q(n-1)⌋ and ⌈q(n-1)⌉), each order statistic read off the
        sketch: so within the relative accuracy of what numpy gives on the
        values themselves."""
        if not self.count:
            return [None] * len(qs)
        out = []
        for q in qs:
            rank = q * (self.count - 1)
            lo = math.floor(rank)
            low = self._at_rank(lo)
            high = self._at_rank(lo + 1) if rank > lo else low
            out.append(low + (rank - lo) * (high - low))
        return out

    def _at_rank(self, rank: int) -> float:
        """The value of the order statistic of ``rank`` (0-based), within the
        accuracy; clipped to the exact min and max."""
        n = self.count
        # DDSketch reads the bucket where the cumulative count exceeds q(n-1):
        # aim half a rank above ``rank`` so float rounding cannot miss it
        q = 0.0 if n == 1 else min(1.0, (rank + 0.5) / (n - 1))
        return min(max(float(self.sketch.get_quantile_value(q)), self._min), self._max)

    def merge(self, other: "Sketch") -> None:
        """Add ``other``'s values (same accuracy; DDSketch merges bucket by bucket)."""
        if other.count:
            self.sketch.merge(other.sketch)
            self.count += other.count
            self._sum += other._sum
            self._max = max(self._max, other._max)
            self._min = min(self._min, other._min)

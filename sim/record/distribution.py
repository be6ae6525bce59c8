"""Distributions of a run's values (latencies, queue waits) fed in chunks.

Two kinds with one interface (``add``, ``count``, ``mean``, ``max``,
``quantiles``, ``merge``):

- :class:`ExactValues` keeps every value (``record: full``): its quantiles are
  numpy's (linear interpolation), bit for bit what a table of the values gives.
- :class:`Sketch` keeps a DDSketch (Masson, Rim and Lee, "DDSketch: a fast and
  fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019;
  the ``ddsketch`` package, Datadog's maintained implementation) in memory
  that does not grow with the number of values (``record: summary`` and
  ``sample``): logarithmic buckets 0.8 % wide (:data:`SKETCH_ACCURACY`) and
  their counts. Its quantiles follow numpy's definition (linear between two
  order statistics); each order statistic is placed inside its bucket by its
  rank among the bucket's values, so ``|q̂ - q| <= 1 % q``
  (:data:`RELATIVE_ACCURACY`) where ``q`` is what ``numpy.quantile`` gives on
  the values, and the estimate moves continuously with the data (replications
  do not collapse onto one bucket's value). Count, sum (so the mean), min and
  max are kept exactly beside it. Sketches merge (replications, windows)
  bucket by bucket with the same guarantee.

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
"""The stated relative error of a sketched quantile (1 %)."""
SKETCH_ACCURACY = 0.004
"""The DDSketch's own accuracy α: buckets ``γ = (1+α)/(1-α)`` wide, so a value
placed inside its bucket is within ``γ - 1`` = 0.8 % of the true one, under
:data:`RELATIVE_ACCURACY` with room for float error."""


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
    """A DDSketch of the values (quantiles within :data:`RELATIVE_ACCURACY`),
    with their count, sum, min and max kept exactly."""

    exact = False

    def __init__(self, relative_accuracy: float = SKETCH_ACCURACY) -> None:
        self.sketch = DDSketch(relative_accuracy)
        self._mapping = self.sketch._mapping
        self.count = 0
        self._sum = 0.0
        self._max = -math.inf
        self._min = math.inf

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
        sketch (:meth:`_at_ranks`): within :data:`RELATIVE_ACCURACY` of what
        numpy gives on the values themselves."""
        if not self.count:
            return [None] * len(qs)
        ranks = [q * (self.count - 1) for q in qs]
        needed = sorted({r for rank in ranks for r in (math.floor(rank), math.ceil(rank))})
        value = dict(zip(needed, self._at_ranks(needed)))
        out = []
        for rank in ranks:
            lo = math.floor(rank)
            low, high = value[lo], value[math.ceil(rank)]
            out.append(low + (rank - lo) * (high - low))
        return out

    def _at_ranks(self, ranks: Sequence[int]) -> list[float]:
        """The order statistics of ``ranks`` (0-based, ascending), each placed
        inside its bucket ``(γ^(k-1), γ^k]`` by its position among the bucket's
        values (log-uniform), and clipped to the exact min and max.

        The bucket bounds a value within ``γ - 1`` (0.8 %); placing it by its
        rank inside the bucket, rather than at the bucket's representative,
        keeps the estimate moving with the data: two replications whose p99
        differ by 0.3 % give p99s that differ by about that, not the same
        bucket twice (which would make a sweep's confidence interval collapse
        to ± 0)."""
        zeros = self.sketch._zero_count
        store, mapping = self.sketch._store, self._mapping
        bins = np.asarray(store.bins, dtype=float)
        cumulative = np.cumsum(bins)
        out = []
        for rank in ranks:
            if rank < zeros:
                out.append(0.0)
                continue
            r = rank - zeros
            i = min(int(np.searchsorted(cumulative, r, side="right")), len(bins) - 1)
            before = cumulative[i - 1] if i else 0.0
            share = (r - before + 0.5) / bins[i] if bins[i] else 0.5
            key = i + store.offset
            lower = mapping._pow_gamma(key - 1 - mapping._offset)
            value = lower * mapping.gamma ** min(max(share, 0.0), 1.0)
            out.append(min(max(value, self._min), self._max))
        return out

    def merge(self, other: "Sketch") -> None:
        """Add ``other``'s values (same accuracy; DDSketch merges bucket by bucket)."""
        if other.count:
            self.sketch.merge(other.sketch)
            self.count += other.count
            self._sum += other._sum
            self._max = max(self._max, other._max)
            self._min = min(self._min, other._min)

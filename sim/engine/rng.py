"""Named random streams: one ``numpy.random.Generator`` per stream name.

A stream is derived from ``(seed, replication, name)`` through
``SeedSequence``, with the name turned into integers by a stable hash
(BLAKE2b, never Python's salted ``hash()``). Adding a stream reseeds nothing
else, and in replication r every arm of an experiment draws the same numbers
from a stream of the same name: common random numbers.

Samples are drawn by inversion in numpy batches and handed out one at a time
through ``itertools`` iterators (``next(sampler)`` costs tens of nanoseconds).
"""
from __future__ import annotations

import hashlib
import itertools
from typing import Iterator

import numpy as np

from ..spec.distributions import Constant

BATCH = 2048


def _name_words(name: str) -> list[int]:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


class Streams:
    """Factory of independent, reproducible generators keyed by name."""

    def __init__(self, seed: int, replication: int = 0):
        self.seed = int(seed)
        self.replication = int(replication)
        self._made: set[str] = set()

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for stream ``name`` (the same every time it is asked for)."""
        self._made.add(name)
        entropy = [self.seed, self.replication, *_name_words(name)]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))

    def uniforms(self, name: str, batch: int = BATCH) -> Iterator[float]:
        """An endless iterator of U[0,1) numbers from stream ``name``."""
        gen = self.generator(name)

        def batches():
            while True:
                yield gen.random(batch).tolist()

        return itertools.chain.from_iterable(batches())

    def sampler(self, dist, name: str, batch: int = BATCH) -> Iterator[float]:
        """An endless iterator of samples of ``dist`` drawn by inversion from stream ``name``."""
        if isinstance(dist, Constant):
            return itertools.repeat(float(dist.value))
        gen = self.generator(name)

        def batches():
            while True:
                yield dist.quantile(gen.random(batch)).tolist()

        return itertools.chain.from_iterable(batches())

    @property
    def names(self) -> list[str]:
        """Names of the streams handed out so far (for the manifest)."""
        return sorted(self._made)

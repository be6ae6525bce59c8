"""Growing typed columns: ``array.array`` buffers turned into numpy at the end.

``array.array`` is a growable, contiguous, typed buffer: appending costs tens
of nanoseconds and 1-8 bytes per value (a list of floats costs 32), and
``numpy.frombuffer`` reads it without a copy. A :class:`ColumnGroup` stores
several same-typed columns interleaved in one buffer so that a row is one
``extend`` call.
"""
from __future__ import annotations

from array import array
from typing import Sequence

import numpy as np


class ColumnGroup:
    """Columns of one type stored row-major in a single growing buffer."""

    __slots__ = ("names", "typecode", "buffer", "width")

    def __init__(self, typecode: str, names: Sequence[str]):
        self.names = tuple(names)
        self.typecode = typecode
        self.width = len(self.names)
        self.buffer = array(typecode)

    def __len__(self) -> int:
        return len(self.buffer) // self.width

    @property
    def nbytes(self) -> int:
        return len(self.buffer) * self.buffer.itemsize

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Each column as its own (copied, contiguous) numpy array."""
        flat = np.frombuffer(self.buffer, dtype=np.dtype(self.typecode)) if len(self.buffer) \
            else np.empty(0, dtype=np.dtype(self.typecode))
        table = flat.reshape(-1, self.width)
        return {name: table[:, i].copy() for i, name in enumerate(self.names)}

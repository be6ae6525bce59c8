"""External requests at ``record: summary`` and ``sample``: handed over in chunks.

The same interface as :class:`sim.record.logs.RequestLog` (``arrive``,
``end``), but a request is a row only once it has ended: ``end`` writes
``(id, arrival, end, status, attempts, workload)`` and every ``chunk_rows``
rows go to the sink and are dropped. Only requests in flight are held
(their arrival time and workload), so memory follows the number in flight,
not the number served. At the end of the run, :meth:`finish` hands over the
rest, requests still in flight as ``unfinished``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..status import UNFINISHED
from .columns import ColumnGroup
from .logs import CallLog


class RequestStream:
    """Requests in flight, and the ended ones not yet handed to the sink."""

    __slots__ = ("_next", "_open", "ints", "times", "_chunk_values", "_sink", "_calls",
                 "_call_codes", "_call_values")

    def __init__(self, chunk_rows: int, sink: Callable[[dict], None], calls: CallLog):
        """Every ``chunk_rows`` ended requests go to ``sink``. ``calls``: the
        call log whose rows are handed over too once it holds ``chunk_rows``
        (checked here, once a request, rather than there, once a row)."""
        self._next = 0
        self._open: dict[int, tuple[float, int]] = {}
        self.ints = ColumnGroup("q", ("request_id", "status", "attempts", "workload"))
        self.times = ColumnGroup("d", ("arrival_s", "end_s"))
        self._chunk_values = 2 * chunk_rows
        self._sink = sink
        self._calls = calls
        self._call_codes = calls.codes.buffer  # two values a row
        self._call_values = 2 * chunk_rows

    def arrive(self, workload: int, now: float) -> int:
        """Register an arrival; return its request id (dense, from 0)."""
        rid = self._next
        self._next = rid + 1
        self._open[rid] = (now, workload)
        return rid

    def end(self, rid: int, now: float, status: int, attempts: int, workload: int) -> float:
        """Register the end of request ``rid``; return its arrival time."""
        arrival = self._open.pop(rid)[0]
        self.ints.buffer.extend((rid, status, attempts if attempts < 65535 else 65535, workload))
        self.times.buffer.extend((arrival, now))
        if len(self.times.buffer) >= self._chunk_values:
            self.hand_over()
        if len(self._call_codes) >= self._call_values:
            self._calls.hand_over()
        return arrival

    def __len__(self) -> int:
        return self._next

    def in_flight_ids(self):
        """The ids of the requests in flight (a live view)."""
        return self._open.keys()

    @property
    def nbytes(self) -> int:
        return self.ints.nbytes + self.times.nbytes

    def hand_over(self) -> None:
        """Give the ended requests to the sink and drop them."""
        if len(self.ints.buffer):
            chunk = self._columns(self.ints.to_numpy(), self.times.to_numpy())
            del self.ints.buffer[:]
            del self.times.buffer[:]
            self._sink(chunk)

    def finish(self) -> None:
        """The run is over: hand over the ended requests, then those in flight
        (``unfinished``: no end, no attempts counted)."""
        self.hand_over()
        if self._open:
            ids = np.fromiter(self._open, dtype=np.int64, count=len(self._open))
            arrival, workload = (np.array(c) for c in zip(*self._open.values()))
            n = len(ids)
            self._sink(self._columns(
                {"request_id": ids, "status": np.full(n, UNFINISHED), "attempts": np.zeros(n),
                 "workload": workload},
                {"arrival_s": arrival.astype(float), "end_s": np.full(n, np.nan)}))
            self._open.clear()

    @staticmethod
    def _columns(ints: dict, times: dict) -> dict[str, np.ndarray]:
        """The columns of :meth:`sim.record.logs.RequestLog.to_numpy`, with its dtypes."""
        return {"request_id": np.asarray(ints["request_id"], dtype=np.int64),
                "arrival_s": times["arrival_s"], "end_s": times["end_s"],
                "workload": np.asarray(ints["workload"], dtype=np.int16),
                "status": np.asarray(ints["status"], dtype=np.int8),
                "attempts": np.asarray(ints["attempts"], dtype=np.uint16)}

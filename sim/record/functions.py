"""What a serverless function did over the measured window: invocations,
cold starts, throttles, instances (time-weighted), latency split warm/cold
and the billed duration (Lambda: per invocation, rounded up to 1 ms, init
included for a cold start). The engine (:mod:`sim.engine.functions`) counts
into a :class:`FunctionTally` owned by the recorder."""
from __future__ import annotations

import math
from array import array
from typing import Callable, Optional

import numpy as np

FLUSH = 1 << 14
"""Latencies buffered before they go into the distributions."""


class FunctionTally:
    """Counts over ``[start_s, end_s)`` (requests by arrival) and the
    time-weighted instance levels over the same window."""

    def __init__(self, start_s: float, end_s: float, distribution: Callable):
        self.start_s, self.end_s = start_s, end_s
        self.invocations = self.cold_starts = self.throttled = 0
        self.latency_warm, self.latency_cold = distribution(), distribution()
        self._warm, self._cold = array("d"), array("d")
        self.billed_s = 0.0
        self.instance_s = self.busy_instance_s = 0.0
        self.instances_max = 0
        self._level = (0.0, 0, 0)   # (since, instances, busy)

    def _in(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s

    def invoked(self, t_s: float) -> None:
        if self._in(t_s):
            self.invocations += 1

    def throttled_at(self, t_s: float) -> None:
        if self._in(t_s):
            self.throttled += 1

    def cold_started(self, t_s: float) -> None:
        if self._in(t_s):
            self.cold_starts += 1

    def served(self, arrived_s: float, latency_s: float, run_s: float, cold_s: Optional[float]) -> None:
        """A request arriving at ``arrived_s`` ended after ``latency_s`` at the
        function (cold start included); it ran ``run_s``; ``cold_s``: the cold
        start it waited for (None: warm)."""
        if not self._in(arrived_s):
            return
        billed = run_s + (cold_s or 0.0)
        self.billed_s += math.ceil(billed * 1000 - 1e-9) / 1000
        (self._warm if cold_s is None else self._cold).append(latency_s)
        if len(self._warm) + len(self._cold) >= FLUSH:
            self.flush()

    def flush(self) -> None:
        for values, dist in ((self._warm, self.latency_warm), (self._cold, self.latency_cold)):
            if len(values):
                dist.add(np.frombuffer(values, dtype=float).copy())
                del values[:]

    def instances_changed(self, t_s: float, instances: int, busy: int) -> None:
        """Levels from ``t_s`` on: the previous level is integrated over its
        overlap with the window (and counts for the maximum if it lasted there)."""
        since, old, old_busy = self._level
        lo, hi = max(since, self.start_s), min(t_s, self.end_s)
        if hi > lo:
            self.instance_s += old * (hi - lo)
            self.busy_instance_s += old_busy * (hi - lo)
            self.instances_max = max(self.instances_max, old)
        self._level = (max(t_s, since), instances, busy)

    def finish(self) -> None:
        """The run is over: integrate to the end, flush the latencies."""
        _since, instances, busy = self._level
        self.instances_changed(self.end_s, instances, busy)
        self.flush()

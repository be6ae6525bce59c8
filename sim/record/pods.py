"""Pod intervals derived from the events log (the single source of truth).

For each pod: when it was created, started, began terminating and was deleted
(``inf`` if it never did). Replicas, pod-seconds and the CPU capacity that
utilization is measured against are all read from these intervals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INF = float("inf")


@dataclass
class PodIntervals:
    pod: np.ndarray
    service: np.ndarray
    name: list[str]
    created_s: np.ndarray
    started_s: np.ndarray
    terminating_s: np.ndarray
    deleted_s: np.ndarray

    @classmethod
    def from_events(cls, events) -> "PodIntervals":
        index: dict[int, int] = {}
        rows: list[list] = []
        for t, service, pod, kind, detail in events.rows():
            if pod < 0:
                continue
            if kind == "pod_created" and pod not in index:
                index[pod] = len(rows)
                rows.append([pod, service, detail, t, INF, INF, INF])
                continue
            row = rows[index[pod]] if pod in index else None
            if row is None:
                continue
            if kind == "pod_started" and row[4] == INF:
                row[4] = t
            elif kind == "pod_terminating" and row[5] == INF:
                row[5] = t
            elif kind == "pod_deleted" and row[6] == INF:
                row[6] = t
        cols = list(zip(*rows)) if rows else [[] for _ in range(7)]
        as_float = lambda c: np.array(c, dtype=float)
        return cls(np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.int64),
                   list(cols[2]), as_float(cols[3]), as_float(cols[4]), as_float(cols[5]),
                   as_float(cols[6]))

    def of_service(self, service: int) -> np.ndarray:
        return self.service == service

    @property
    def live_until_s(self) -> np.ndarray:
        """End of a pod's replica life: terminating or deleted, whichever first."""
        return np.minimum(self.terminating_s, self.deleted_s)


def overlap_s(start: np.ndarray, end: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Length of each [start, end) inside [lo, hi)."""
    return np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0.0, None)


def cumulative_overlap_s(start: np.ndarray, end: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each t in ``times``: total length of the intervals inside [0, t)."""
    if len(start) == 0:
        return np.zeros(len(times))
    t = np.asarray(times, dtype=float)[:, None]
    return np.clip(np.minimum(end[None, :], t) - start[None, :], 0.0, None).sum(axis=1)


def step_levels(start: np.ndarray, end: np.ndarray, lo: float, hi: float) -> dict[str, float]:
    """Time-weighted mean, min, max and final count of intervals alive in [lo, hi]."""
    points = np.concatenate([start, end])
    deltas = np.concatenate([np.ones(len(start)), -np.ones(len(end))])
    order = np.lexsort((deltas, points))  # at equal times, departures before arrivals
    points, deltas = points[order], deltas[order]
    level = np.cumsum(deltas)
    at_lo = level[points <= lo][-1] if np.any(points <= lo) else 0.0
    inside = (points > lo) & (points < hi)
    times = np.concatenate([[lo], points[inside], [hi]])
    levels = np.concatenate([[at_lo], level[inside]])
    widths = np.diff(times)
    span = hi - lo
    final = level[points <= hi][-1] if np.any(points <= hi) else 0.0
    return {"mean": float((levels * widths).sum() / span) if span > 0 else float(at_lo),
            "min": int(levels.min()), "max": int(levels.max()), "final": int(final)}

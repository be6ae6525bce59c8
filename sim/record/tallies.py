"""Running totals of a run's requests and attempts, fed chunk by chunk.

The summary is computed from these, at every recording level: ``record:
full`` feeds them the whole request and call tables once, at the end, with
:class:`~sim.record.distribution.ExactValues`; ``summary`` and ``sample``
feed them each chunk of rows as it fills (and then drop the rows), with
:class:`~sim.record.distribution.Sketch`. Counts and sums add up exactly
across chunks, whatever their order, so every count, rate and mean of the
summary is the same at every level; only percentiles differ, within the
sketch's stated error.

A chunk is a mapping of numpy columns, as :meth:`sim.record.logs.RequestLog.to_numpy`
and :meth:`sim.record.logs.CallLog.to_numpy` give them.

- :class:`RequestTally`: external requests that *arrived* in ``[start_s,
  end_s)`` (one per window), each with its final status. A request is fed
  once, when it has ended or, still in flight at the end of the run, as
  ``unfinished``.
- :class:`ServiceTally`: the attempts *sent* to one service in ``[warmup,
  duration)``, each fed once its row is written (both sides closed).
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional

import numpy as np

from ..status import ABANDONED, BULKHEAD_FULL, FAULT_ERROR, FAULT_OUTAGE, NOT_SERVING, OK, \
    STATUS_NAMES, UNFINISHED

Columns = Mapping[str, np.ndarray]
STATUS_COUNT = len(STATUS_NAMES)


def status_counts(status: np.ndarray) -> np.ndarray:
    """How many of each status code (index = code)."""
    return np.bincount(status.astype(np.int64), minlength=STATUS_COUNT)


class RequestTally:
    """Requests that arrived in ``[start_s, end_s)``: counts by status and by
    workload, attempts, latency of the ok ones and of every finished one, and
    the SLO's good requests (ended ok within ``slo_latency_s``) per workload."""

    def __init__(self, start_s: float, end_s: float, workload_codes: Mapping[str, int],
                 slo_latency_s: float, distribution: Callable):
        self.start_s, self.end_s = start_s, end_s
        self.slo_latency_s = slo_latency_s
        self.workload_codes = dict(workload_codes)
        self.status = np.zeros(STATUS_COUNT, dtype=np.int64)
        self.attempts_sum = 0
        self.finished = 0
        self.latency_ok = distribution()
        self.latency_all = distribution()
        self.by_workload = {name: [0, 0] for name in self.workload_codes}  # [requests, good]

    @property
    def total(self) -> int:
        return int(self.status.sum())

    @property
    def good(self) -> int:
        return sum(good for _requests, good in self.by_workload.values())

    def add(self, req: Columns) -> None:
        """Feed requests (``arrival_s``, ``end_s``, ``status``, ``attempts``,
        ``workload``); those arriving outside the interval are ignored."""
        arrival = req["arrival_s"]
        mask = (arrival >= self.start_s) & (arrival < self.end_s)
        if not mask.any():
            return
        status = req["status"]
        self.status += status_counts(status[mask])
        ok = mask & (status == OK)
        latency_ok = req["end_s"][ok] - arrival[ok]
        self.latency_ok.add(latency_ok)
        done = mask & (status != UNFINISHED)
        self.finished += int(done.sum())
        self.attempts_sum += int(req["attempts"][done].sum())
        self.latency_all.add(req["end_s"][done] - arrival[done])
        with np.errstate(invalid="ignore"):  # unfinished: end_s = NaN, not good
            good = ok & (req["end_s"] - arrival <= self.slo_latency_s)
        workload = req["workload"]
        for name, code in self.workload_codes.items():
            mine = workload == code
            counts = self.by_workload[name]
            counts[0] += int((mask & mine).sum())
            counts[1] += int((good & mine).sum())

    def attempts_mean(self) -> Optional[float]:
        return self.attempts_sum / self.finished if self.finished else None


class EndpointTally:
    """Attempts that reached one endpoint of a service: how many, how many
    ended ok or failed (timeout, rejected, error; the rest were unfinished),
    and the latency of the ok ones (the caller's view)."""

    def __init__(self, distribution: Callable):
        self.arrivals = 0
        self.ok = 0
        self.failed = 0
        self.latency_ok = distribution()

    def add(self, reached: np.ndarray, ok: np.ndarray, failed: np.ndarray,
            latency_ok: np.ndarray) -> None:
        self.arrivals += int(reached.sum())
        self.ok += int(ok.sum())
        self.failed += int(failed.sum())
        self.latency_ok.add(latency_ok)


class ServiceTally:
    """Attempts sent to service (or external) ``index`` in ``[start_s, end_s)``,
    as their callers saw them: statuses, retries, where they waited, how long;
    per endpoint for ``endpoints`` (name -> code in the ``endpoint`` column)."""

    def __init__(self, index: int, start_s: float, end_s: float, distribution: Callable,
                 endpoints: Optional[Mapping[str, int]] = None):
        self.index = index
        self.endpoints = {name: (code, EndpointTally(distribution))
                          for name, code in (endpoints or {}).items()}
        self.start_s, self.end_s = start_s, end_s
        self.attempts = 0
        self.arrivals = 0       # reached the service
        self.at_pod = 0         # reached a pod
        self.busy = 0           # reached a pod and found every worker busy
        self.retries = 0
        self.abandoned = 0
        self.bulkhead_full = 0
        self.status = np.zeros(STATUS_COUNT, dtype=np.int64)
        self.queue_wait = distribution()
        self.latency_ok = distribution()

    def add(self, calls: Columns) -> None:
        """Feed attempt rows (any service; others are ignored)."""
        sent = calls["sent_s"]
        sel = (calls["service"] == self.index) & (sent >= self.start_s) & (sent < self.end_s)
        if not sel.any():
            return
        status, arrived = calls["status"][sel], calls["arrived_s"][sel]
        started, pod = calls["started_s"][sel], calls["pod"][sel]
        reason = calls["reason"][sel]
        reached = ~np.isnan(arrived)
        at_pod = reached & (pod >= 0)
        turned_away = np.isin(reason, (FAULT_ERROR, FAULT_OUTAGE, NOT_SERVING))  # never queued
        busy = at_pod & ((started > arrived) | (np.isnan(started) & ~turned_away))
        self.attempts += int(sel.sum())
        self.arrivals += int(reached.sum())
        self.at_pod += int(at_pod.sum())
        self.busy += int(busy.sum())
        self.retries += int((calls["attempt"][sel] > 1).sum())
        self.abandoned += int((reason == ABANDONED).sum())
        self.bulkhead_full += int((reason == BULKHEAD_FULL).sum())
        self.status += status_counts(status)
        self.queue_wait.add((started - arrived)[~np.isnan(started)])
        ok = status == OK
        latency = calls["ended_s"][sel] - sent[sel]
        self.latency_ok.add(latency[ok])
        if self.endpoints:
            endpoint = calls["endpoint"][sel]
            failed = reached & (status != OK) & (status != UNFINISHED)
            for code, tally in self.endpoints.values():
                mine = endpoint == code
                tally.add(reached & mine, ok & mine, failed & mine, latency[ok & mine])

"""The request columns of the time series, binned as rows are written.

The time series has one row per service at each sample time ``t_k``
(:func:`sample_times_s`); its request columns count what happened since the
previous row: ``arrivals`` (attempts that reached the service, by arrival
time), ``ok`` and ``failed`` (attempts that ended, by end time) and
``latency_p50_s`` / ``latency_p99_s`` of the ok ones. Counts are
``numpy.histogram`` over the edges ``[0, t_1, …, t_n]``; the latency of an
ok attempt that ended at ``t`` falls in the bin ``(t_{k-1}, t_k]``.

Every column is exact at every recording level: counts add up across
chunks; an ok attempt's row is written at the moment it ends (the caller
closes it then), so once a chunk holds an ok row that ended at ``t``, every
bin ending before ``t`` is complete: its percentiles are computed then and
its values dropped (:meth:`SeriesTally.add`). Only the bins still open are
carried, so memory is bounded by one sample interval's traffic, not the run.

The external requests are binned too (:attr:`SeriesTally.offered`, by
arrival, and :attr:`SeriesTally.ended`, by end time and status), for the
timeline's offered load and failures.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..status import OK, STATUS_NAMES, UNFINISHED
from .tallies import Columns


def sample_times_s(interval_s: float, warmup_s: float, horizon_s: float) -> list[float]:
    """The times of the time series' rows: every multiple of ``interval_s``
    and the end of the warm-up (so window totals can be read off exactly),
    then the horizon itself (recorded after the run stops)."""
    times = sorted({*(i * interval_s for i in range(1, int(horizon_s // interval_s) + 1)),
                    warmup_s} - {0.0, horizon_s})
    return [t for t in times if t < horizon_s] + [horizon_s]


def binned_quantiles(times: np.ndarray, values: np.ndarray, edges: np.ndarray):
    """p50 and p99 of ``values`` grouped by the bin ``(edges[k], edges[k+1]]``
    of their ``times`` (NaN for an empty bin)."""
    bins = np.searchsorted(edges, times, side="left") - 1
    p50 = np.full(len(edges) - 1, np.nan)
    p99 = np.full(len(edges) - 1, np.nan)
    if len(times):
        order = np.argsort(bins, kind="stable")
        bins, values = bins[order], values[order]
        splits = np.flatnonzero(np.diff(bins)) + 1
        for group_bins, group in zip(np.split(bins, splits), np.split(values, splits)):
            b = group_bins[0]
            if 0 <= b < len(p50):
                p50[b], p99[b] = np.quantile(group, [0.5, 0.99])
    return p50, p99


class _ServiceBins:
    """One service's request columns, and the ok latencies of its open bins."""

    def __init__(self, bins: int):
        self.arrivals = np.zeros(bins, dtype=np.int64)
        self.ok = np.zeros(bins, dtype=np.int64)
        self.failed = np.zeros(bins, dtype=np.int64)
        self.p50 = np.full(bins, np.nan)
        self.p99 = np.full(bins, np.nan)
        self.open_ended = np.empty(0)    # ok attempts of bins not yet complete
        self.open_latency = np.empty(0)


class SeriesTally:
    """The request columns of every service's time series (exact; see the module)."""

    def __init__(self, service_count: int, times_s: list[float]):
        self.edges = np.array([0.0, *times_s])
        bins = len(times_s)
        self.services = [_ServiceBins(bins) for _ in range(service_count)]
        self.offered = np.zeros(bins, dtype=np.int64)
        self.ended = {name: np.zeros(bins, dtype=np.int64) for name in STATUS_NAMES}
        self._frontier_s = 0.0  # the latest end of an ok attempt fed so far

    def add_calls(self, calls: Columns, *, final: bool = False) -> None:
        """Feed attempt rows; ``final``: the run is over, complete every bin."""
        edges = self.edges
        ended, status = calls["ended_s"], calls["status"]
        finished = ~np.isnan(ended)
        ok_mask = finished & (status == OK)
        if ok_mask.any():
            self._frontier_s = max(self._frontier_s, float(ended[ok_mask].max()))
        latency = ended - calls["sent_s"]
        service = calls["service"]
        for index, bins in enumerate(self.services):
            mine = service == index
            arrived = calls["arrived_s"][mine]
            bins.arrivals += np.histogram(arrived[~np.isnan(arrived)], bins=edges)[0]
            ok = mine & ok_mask
            bins.ok += np.histogram(ended[ok], bins=edges)[0]
            bins.failed += np.histogram(ended[mine & finished & (status != OK)], bins=edges)[0]
            self._quantiles(bins, ended[ok], latency[ok], final)

    def _quantiles(self, bins: _ServiceBins, ended: np.ndarray, latency: np.ndarray,
                   final: bool) -> None:
        """Compute p50/p99 of the bins that are complete; carry the others."""
        ended = np.concatenate([bins.open_ended, ended]) if len(bins.open_ended) else ended
        latency = np.concatenate([bins.open_latency, latency]) if len(bins.open_latency) else latency
        if final:
            done = np.ones(len(ended), dtype=bool)
        else:  # bin (e_k, e_k+1] is complete once an ok attempt ended after e_k+1
            upper = self.edges[np.minimum(np.searchsorted(self.edges, ended, side="left"),
                                          len(self.edges) - 1)]
            done = upper < self._frontier_s
        if done.any():
            p50, p99 = binned_quantiles(ended[done], latency[done], self.edges)
            filled = ~np.isnan(p50)
            bins.p50[filled], bins.p99[filled] = p50[filled], p99[filled]
        bins.open_ended, bins.open_latency = ended[~done], latency[~done]

    def add_requests(self, req: Columns) -> None:
        """Feed external requests: offered by arrival, ended by end time and status."""
        edges = self.edges
        self.offered += np.histogram(req["arrival_s"], bins=edges)[0]
        status = req["status"]
        for code, name in enumerate(STATUS_NAMES):
            if code != UNFINISHED:
                mine = status == code
                if mine.any():
                    self.ended[name] += np.histogram(req["end_s"][mine], bins=edges)[0]

    def columns(self, index: int) -> Mapping[str, np.ndarray]:
        """Service ``index``'s request columns, one value per row."""
        bins = self.services[index]
        return {"arrivals": bins.arrivals, "ok": bins.ok, "failed": bins.failed,
                "latency_p50_s": bins.p50, "latency_p99_s": bins.p99}

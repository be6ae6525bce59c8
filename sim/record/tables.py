"""The run's tables as pandas DataFrames (built once, at the end)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..status import REASON_NAMES, STATUS_NAMES
from .pods import PodIntervals, cumulative_overlap_s


def _categorical(codes: np.ndarray, names) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=list(names))


def _names_or_missing(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """Map ids to names; -1 (none) becomes a missing value."""
    return pd.Categorical.from_codes(np.where(codes < 0, -1, codes).astype(np.int64),
                                     categories=list(names))


def requests_frame(req: dict, workloads: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "request_id": req["request_id"],
        "workload": _categorical(req["workload"], workloads),
        "arrival_s": req["arrival_s"],
        "end_s": req["end_s"],
        "status": _categorical(req["status"], STATUS_NAMES),
        "attempts": req["attempts"].astype(np.int32),
        "latency_s": req["end_s"] - req["arrival_s"],
    })


def calls_frame(calls: dict, names: list[str], pod_names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "request_id": calls["request_id"],
        "caller": _categorical(calls["caller"], names),
        "service": _categorical(calls["service"], names),
        "attempt": calls["attempt"],
        "pod": _names_or_missing(calls["pod"], pod_names),
        "sent_s": calls["sent_s"], "arrived_s": calls["arrived_s"],
        "started_s": calls["started_s"], "done_s": calls["done_s"], "ended_s": calls["ended_s"],
        "status": _categorical(calls["status"], STATUS_NAMES),
        "reason": _categorical(calls["reason"], REASON_NAMES),
    })


def events_frame(events, names: list[str], pod_names: list[str]) -> pd.DataFrame:
    t = np.array(events.t_s, dtype=float)
    service = np.array(events.service, dtype=np.int64)
    pod = np.array(events.pod, dtype=np.int64)
    return pd.DataFrame({
        "t_s": t,
        "service": _names_or_missing(service, names),
        "pod": _names_or_missing(pod, pod_names),
        "kind": pd.Categorical(events.kind),
        "detail": pd.Series(events.detail, dtype=object),
    })



def timeseries_frame(samples: dict, calls: dict, pods: PodIntervals, names: list[str],
                     cpu_request: dict[int, float], service_count: int) -> pd.DataFrame:
    frames = []
    for index in range(service_count):
        rows = samples["service"] == index
        t = samples["t_s"][rows]
        if len(t) == 0:
            continue
        edges = np.concatenate([[0.0], t])
        mine = calls["service"] == index
        arrived = calls["arrived_s"][mine]
        ended, status = calls["ended_s"][mine], calls["status"][mine]
        latency = ended - calls["sent_s"][mine]
        arrivals = np.histogram(arrived[~np.isnan(arrived)], bins=edges)[0]
        finished = ~np.isnan(ended)
        ok_mask = finished & (status == 0)
        ok = np.histogram(ended[ok_mask], bins=edges)[0]
        failed = np.histogram(ended[finished & (status != 0)], bins=edges)[0]
        p50, p99 = _binned_quantiles(ended[ok_mask], latency[ok_mask], edges)
        sel = pods.of_service(index)
        capacity = cumulative_overlap_s(pods.started_s[sel], pods.deleted_s[sel], edges) * cpu_request[index]
        used = np.concatenate([[0.0], samples["cpu_used_s"][rows]])
        with np.errstate(invalid="ignore", divide="ignore"):
            utilization = np.diff(used) / np.diff(capacity)
        frames.append(pd.DataFrame({
            "t_s": t, "service": names[index], "arrivals": arrivals, "ok": ok, "failed": failed,
            "latency_p50_s": p50, "latency_p99_s": p99,
            "replicas": samples["replicas"][rows].astype(int),
            "ready_replicas": samples["ready_replicas"][rows].astype(int),
            "desired_replicas": samples["desired_replicas"][rows].astype(int),
            "cpu_utilization": np.where(np.isfinite(utilization), utilization, np.nan),
            "queue_length": samples["queue_length"][rows].astype(int),
            "in_flight": samples["in_flight"][rows].astype(int),
            "breakers_open": samples["breakers_open"][rows].astype(int),
            "breakers_half_open": samples["breakers_half_open"][rows].astype(int),
            "throttled_periods": np.diff(np.concatenate([[0.0], samples["throttled_periods"][rows]]))
            .round().astype(int),
            "throttled_s": np.diff(np.concatenate([[0.0], samples["throttled_s"][rows]])),
        }))
    if not frames:
        return pd.DataFrame(columns=["t_s", "service"])
    frame = pd.concat(frames, ignore_index=True)
    frame["service"] = pd.Categorical(frame["service"], categories=names[:service_count])
    return frame.sort_values(["t_s", "service"], kind="stable").reset_index(drop=True)


def _binned_quantiles(times: np.ndarray, values: np.ndarray, edges: np.ndarray):
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

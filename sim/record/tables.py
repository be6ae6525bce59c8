"""The run's tables as pandas DataFrames (built once, at the end)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..status import CODE_NAMES, REASON_NAMES, STATUS_NAMES
from .pods import PodIntervals, cumulative_overlap_s
from .series import SeriesTally


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


def calls_frame(calls: dict, names: list[str], pod_names: list[str],
                endpoint_names: list[str] = ()) -> pd.DataFrame:
    """One row per attempt; ``endpoint`` is missing for a service without
    endpoints, ``code`` is the gRPC code family of the outcome."""
    return pd.DataFrame({
        "request_id": calls["request_id"],
        "caller": _categorical(calls["caller"], names),
        "service": _categorical(calls["service"], names),
        "endpoint": _names_or_missing(calls["endpoint"], list(endpoint_names)),
        "attempt": calls["attempt"],
        "pod": _names_or_missing(calls["pod"], pod_names),
        "sent_s": calls["sent_s"], "arrived_s": calls["arrived_s"],
        "started_s": calls["started_s"], "done_s": calls["done_s"], "ended_s": calls["ended_s"],
        "status": _categorical(calls["status"], STATUS_NAMES),
        "reason": _categorical(calls["reason"], REASON_NAMES),
        "code": _categorical(calls["code"], CODE_NAMES),
    })


def messages_frame(rows: dict, names: list[str], pod_names: list[str],
                   groups: list[tuple[str, str]]) -> pd.DataFrame:
    """One row per delivery (see :mod:`sim.record.messages`)."""
    return pd.DataFrame({
        "message_id": rows["message_id"],
        "topic": _categorical(rows["topic"], names),
        "group": _categorical(rows["group"], [g for _t, g in groups]) if len(set(groups)) == len(
            {g for _t, g in groups}) else _categorical(rows["group"], [f"{t}/{g}" for t, g in groups]),
        "partition": rows["partition"].astype(np.int32),
        "delivery": rows["delivery"].astype(np.int32),
        "pod": _names_or_missing(rows["pod"], pod_names),
        "published_s": rows["published_s"], "delivered_s": rows["delivered_s"],
        "ended_s": rows["ended_s"],
        "status": _categorical(rows["status"], STATUS_NAMES),
        "reason": _categorical(rows["reason"], REASON_NAMES),
        "acked": rows["acked"].astype(bool),
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



def timeseries_frame(samples: dict, series: SeriesTally, pods: PodIntervals, names: list[str],
                     cpu_request: dict[int, float], service_count: int) -> pd.DataFrame:
    """One row per service and sample time: the sampled levels, and the request
    columns of :class:`~sim.record.series.SeriesTally` (exact at every level)."""
    frames = []
    for index in range(service_count):
        rows = samples["service"] == index
        t = samples["t_s"][rows]
        if len(t) == 0:
            continue
        edges = np.concatenate([[0.0], t])
        binned = series.columns(index)
        sel = pods.of_service(index)
        capacity = cumulative_overlap_s(pods.started_s[sel], pods.deleted_s[sel], edges) * cpu_request[index]
        used = np.concatenate([[0.0], samples["cpu_used_s"][rows]])
        with np.errstate(invalid="ignore", divide="ignore"):
            utilization = np.diff(used) / np.diff(capacity)
        frames.append(pd.DataFrame({
            "t_s": t, "service": names[index],
            **{name: column[:len(t)] for name, column in binned.items()},
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
            "lag": samples["lag"][rows],
            "oldest_age_s": samples["oldest_age_s"][rows],
            "channel_length": samples["channel_length"][rows],
        }))
    if not frames:
        return pd.DataFrame(columns=["t_s", "service"])
    frame = pd.concat(frames, ignore_index=True)
    frame["service"] = pd.Categorical(frame["service"], categories=names[:service_count])
    return frame.sort_values(["t_s", "service"], kind="stable").reset_index(drop=True)


def request_series_frame(series: SeriesTally) -> pd.DataFrame:
    """External requests per sample interval: offered, and ended by final status."""
    columns = {"t_s": series.edges[1:], "offered": series.offered}
    columns.update({name: counts for name, counts in series.ended.items() if name != "unfinished"})
    return pd.DataFrame(columns)

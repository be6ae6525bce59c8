"""The whole ``summary.json`` of one run, from its logs and its scenario.

This is the one writer of the summary: :func:`sim.runner.run` calls it on the
logs of a finished run and :mod:`sim.record.keys` on the empty logs of a run
that never started, so the key set that experiments validate metric names
against is, by construction, the key set a run writes.

Top-level keys (everything over the measured interval ``[warmup, duration)``,
requests counted by arrival): identity and cost of the run (``scenario``,
``seed``, ``duration_s``, ``warmup_s``, ``wall_s``, ``events``), the request
metrics of :func:`request_metrics`, ``services.NAME.*``
(:func:`sim.record.summary.service_summary`), ``cluster`` (with nodes only),
``pod_seconds`` (total), ``hops_per_request``, ``windows.NAME.*`` (the request
metrics per window of :mod:`sim.record.windows`) and ``memory``.
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from .logs import Recorder
from .outcomes import arrived_in, latency_all_block, slo_block
from .pods import PodIntervals
from .summary import request_summary, service_summary
from .windows import measurement_windows


def raw_columns(recorder: Recorder) -> dict[str, dict[str, np.ndarray]]:
    """The logs the summary and the tables are computed from, as numpy columns."""
    return {"requests": recorder.requests.to_numpy(), "calls": recorder.calls.to_numpy(),
            "samples": recorder.samples.to_numpy()}


def log_bytes(recorder: Recorder) -> dict[str, int]:
    """``summary.memory``: bytes held by the request and call logs."""
    return {"request_bytes": recorder.requests.nbytes, "call_bytes": recorder.calls.nbytes}


def workload_codes(scenario) -> dict[str, int]:
    """Workload name -> its code in the request log (the model numbers services
    first, then workloads, in file order)."""
    first = len(scenario.services)
    return {name: first + i for i, name in enumerate(scenario.workload)}


def request_metrics(req: Mapping[str, np.ndarray], start_s: float, end_s: float, scenario) -> dict:
    """Every request metric over arrivals in ``[start_s, end_s)``: ``requests``
    by status, ``offered_rps``, ``goodput_rps`` (ok per second),
    ``success_ratio``, ``attempts_per_request``, ``latency_s`` (ok only),
    ``latency_all_s`` (every finished request) and ``slo``."""
    block = request_summary(req, start_s, end_s)
    mask = arrived_in(req, start_s, end_s)
    block["latency_all_s"] = latency_all_block(req, mask)
    block["slo"] = slo_block(req, mask, scenario.slo, workload_codes(scenario))
    return block


def windows_summary(req: Mapping[str, np.ndarray], scenario) -> dict:
    """``windows.NAME``: ``from_s``, ``to_s`` (clipped) and the request metrics."""
    return {w.name: {"from_s": w.start_s, "to_s": w.end_s,
                     **request_metrics(req, w.start_s, w.end_s, scenario)}
            for w in measurement_windows(scenario)}


def run_summary(scenario, seed: int, raw: Mapping[str, dict], pods: PodIntervals, events, *,
                wall_s: float, events_processed: int, cluster: Optional[tuple[float, int]],
                memory: Mapping[str, int]) -> dict:
    """The summary of one run.

    ``raw``: the logs as numpy columns (``requests``, ``calls``, ``samples``);
    ``pods``: pod intervals from ``events``; ``cluster``: ``(node_hours,
    nodes_final)`` when the scenario has nodes, else None; ``memory``: bytes
    held by the request and call logs.
    """
    warmup, end = scenario.warmup, scenario.duration
    summary = {"scenario": scenario.name, "seed": seed, "duration_s": scenario.duration,
               "warmup_s": warmup, "wall_s": wall_s, "events": events_processed}
    summary.update(request_metrics(raw["requests"], warmup, end, scenario))
    in_window = summary["requests"]["total"]
    summary["services"] = {
        name: service_summary(index, raw["calls"], raw["samples"], pods, events,
                              spec.pod.cpu_request_cores, warmup, end, in_window)
        for index, (name, spec) in enumerate(scenario.services.items())}
    if cluster is not None:
        node_hours, nodes_final = cluster
        summary["cluster"] = {"node_hours": node_hours, "nodes_final": nodes_final,
                              "cost": node_hours * scenario.cluster.node_cost_per_hour}
    summary["pod_seconds"] = sum(s["pod_seconds"] for s in summary["services"].values())
    attempts = sum(s["attempts"] for s in summary["services"].values())
    summary["hops_per_request"] = attempts / in_window if in_window else None
    summary["windows"] = windows_summary(raw["requests"], scenario)
    summary["memory"] = dict(memory)
    return summary

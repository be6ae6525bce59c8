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
``external.NAME.*`` (dependencies outside the cluster: no pod-seconds),
``call_sites.NAME.duplicates`` (named calls), ``topics.NAME.*`` (messaging),
``pod_seconds`` (total), ``hops_per_request``, ``windows.NAME.*`` (the request
metrics per window of :mod:`sim.record.windows`) and ``memory``.
"""
from __future__ import annotations

from typing import Optional

from .costs import cost_block
from .outcomes import latency_all_block, slo_block
from .pods import PodIntervals
from .recorder import Recorder
from .summary import (channels_block, functions_block, external_summary, request_summary, service_summary,
                      topics_summary)
from .tallies import RequestTally


def request_metrics(tally: RequestTally, scenario) -> dict:
    """Every request metric over the tally's arrivals: ``requests`` by status,
    ``offered_rps``, ``goodput_rps`` (ok per second), ``success_ratio``,
    ``attempts_per_request``, ``latency_s`` (ok only), ``latency_all_s``
    (every finished request) and ``slo``."""
    block = request_summary(tally)
    block["latency_all_s"] = latency_all_block(tally)
    block["slo"] = slo_block(tally, scenario.slo)
    return block


def windows_summary(recorder: Recorder, scenario) -> dict:
    """``windows.NAME``: ``from_s``, ``to_s`` (clipped) and the request metrics."""
    return {name: {"from_s": t.start_s, "to_s": t.end_s, **request_metrics(t, scenario)}
            for name, t in recorder.window_tallies.items()}


def run_summary(scenario, seed: int, recorder: Recorder, pods: PodIntervals, *,
                wall_s: float, events_processed: int,
                cluster: Optional[tuple[float, int]]) -> dict:
    """The summary of one run, from its finished ``recorder``.

    ``pods``: pod intervals from its events; ``cluster``: ``(node_hours,
    nodes_final)`` when the scenario has nodes, else None.
    """
    summary = {"scenario": scenario.name, "seed": seed, "duration_s": scenario.duration,
               "warmup_s": scenario.warmup, "wall_s": wall_s, "events": events_processed}
    summary.update(request_metrics(recorder.run_tally, scenario))
    in_window = summary["requests"]["total"]
    samples = recorder.sample_columns
    warmup, end = scenario.warmup, scenario.duration
    duplicates = recorder.duplicates.count
    summary["services"] = {
        name: service_summary(recorder.service_tallies[index], samples, pods, recorder.events,
                              spec.pod.cpu_request_cores, in_window,
                              duplicates(warmup, end, service=index),
                              channels_block(recorder, name, spec))
        for index, (name, spec) in enumerate(scenario.services.items())}
    summary["external"] = {
        name: external_summary(tally, duplicates(warmup, end, service=tally.index))
        for name, tally in zip(scenario.external, recorder.external_tallies)}
    summary["call_sites"] = {name: {"duplicates": duplicates(warmup, end, site=code)}
                             for code, name in enumerate(scenario.call_site_names())}
    summary["topics"] = topics_summary(scenario, recorder, samples)
    summary["functions"] = {name: functions_block(tally, scenario.functions[name], scenario.window_s)
                            for name, tally in recorder.function_tallies.items()}
    if cluster is not None:
        node_hours, nodes_final = cluster
        summary["cluster"] = {"node_hours": node_hours, "nodes_final": nodes_final,
                              "cost": node_hours * scenario.cluster.node_cost_per_hour}
    summary["pod_seconds"] = sum(s["pod_seconds"] for s in summary["services"].values())
    attempts = sum(s["attempts"] for s in summary["services"].values())
    summary["hops_per_request"] = attempts / in_window if in_window else None
    summary["windows"] = windows_summary(recorder, scenario)
    summary["cost"] = cost_block(scenario, summary)
    summary["memory"] = dict(recorder.kept_bytes)
    return summary

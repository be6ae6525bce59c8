"""Run one scenario: build the model, run it, summarize (``sim.run``)."""
from __future__ import annotations

import time
from typing import Any, Mapping, Optional

from .engine.model import Model
from .engine.rng import Streams
from .record.logs import Recorder
from .record.pods import PodIntervals
from .record.summary import request_summary, service_summary
from .result import Result
from .spec.loader import Source, load


def run(scenario: Source, seed: Optional[int] = None, *, replication: int = 0,
        overrides: Optional[Mapping[str, Any]] = None) -> Result:
    """Simulate ``scenario`` once and return its :class:`~sim.result.Result`.

    ``scenario`` is a YAML path, a mapping or a loaded Scenario; ``seed``
    defaults to the scenario's; ``replication`` selects independent random
    streams under the same seed (experiments use it).
    """
    spec = load(scenario, overrides)
    seed = spec.seed if seed is None else int(seed)
    started = time.perf_counter()
    recorder = Recorder()
    model = Model(spec, Streams(seed, replication), recorder)
    model.start()
    model.run()
    wall_s = time.perf_counter() - started
    return _result(spec, seed, model, recorder, wall_s)


def _result(spec, seed: int, model: Model, recorder: Recorder, wall_s: float) -> Result:
    raw = {"requests": recorder.requests.to_numpy(), "calls": recorder.calls.to_numpy(),
           "samples": recorder.samples.to_numpy()}
    pods = PodIntervals.from_events(recorder.events)
    pod_names = _pod_names(pods)
    cpu_request = {s.index: s.spec.pod.cpu_request_cores for s in model.services.values()}
    summary = {"scenario": spec.name, "seed": seed, "duration_s": spec.duration,
               "warmup_s": spec.warmup, "wall_s": wall_s, "events": model.events_processed}
    summary.update(request_summary(raw["requests"], spec.warmup, spec.duration))
    in_window = summary["requests"]["total"]
    summary["services"] = {
        s.name: service_summary(s.index, raw["calls"], raw["samples"], pods, recorder.events,
                                cpu_request[s.index], spec.warmup, spec.duration, in_window)
        for s in model.services.values()}
    if model.cluster is not None:
        summary["cluster"] = {"node_hours": model.cluster.node_hours(),
                              "nodes_final": len(model.cluster.nodes),
                              "cost": model.cluster.node_hours() * spec.cluster.node_cost_per_hour}
    summary["pod_seconds"] = sum(s["pod_seconds"] for s in summary["services"].values())
    attempts = sum(s["attempts"] for s in summary["services"].values())
    summary["hops_per_request"] = attempts / in_window if in_window else None
    summary["memory"] = {"request_bytes": recorder.requests.nbytes, "call_bytes": recorder.calls.nbytes}
    return Result(spec, summary, raw, model.names, len(model.services), pod_names, pods,
                  recorder.events, cpu_request)


def _pod_names(pods: PodIntervals) -> list[str]:
    names = [""] * (int(pods.pod.max()) + 1 if len(pods.pod) else 0)
    for pod_id, name in zip(pods.pod, pods.name):
        names[pod_id] = name
    return names

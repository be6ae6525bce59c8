"""Run one scenario: build the model, run it, summarize (``sim.run``)."""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional

from .engine.model import Model
from .engine.rng import Streams
from .record.pods import PodIntervals
from .record.recorder import Recorder
from .record.run_summary import run_summary
from .result import Result
from .spec.loader import Source, load
from .spec.measure import with_record


def run(scenario: Source, seed: Optional[int] = None, *, replication: int = 0,
        overrides: Optional[Mapping[str, Any]] = None, record: Optional[str] = None,
        progress: Optional[Callable[[float], None]] = None) -> Result:
    """Simulate ``scenario`` once and return its :class:`~sim.result.Result`.

    ``scenario`` is a YAML path, a mapping or a loaded Scenario; ``seed``
    defaults to the scenario's; ``replication`` selects independent random
    streams under the same seed (experiments use it); ``record``
    (``full``, ``summary``, ``sample`` or ``sample:N``) overrides the
    scenario's ``record``; ``progress(now_s)`` is called now and then with
    the simulated time (it does not change the run).
    """
    spec = load(scenario, overrides)
    if record is not None:
        spec = with_record(spec, record)
    seed = spec.seed if seed is None else int(seed)
    started = time.perf_counter()
    recorder = Recorder(spec)
    model = Model(spec, Streams(seed, replication), recorder)
    model.start()
    model.run(progress=progress)
    recorder.finish()
    wall_s = time.perf_counter() - started
    return _result(spec, seed, model, recorder, wall_s)


def _result(spec, seed: int, model: Model, recorder: Recorder, wall_s: float) -> Result:
    pods = PodIntervals.from_events(recorder.events)
    pod_names = _pod_names(pods)
    cluster = None if model.cluster is None else (model.cluster.node_hours(), len(model.cluster.nodes))
    summary = run_summary(spec, seed, recorder, pods, wall_s=wall_s,
                          events_processed=model.events_processed, cluster=cluster)
    cpu_request = {s.index: s.spec.pod.cpu_request_cores for s in model.services.values()}
    return Result(spec, summary, recorder, model.names, pod_names, pods, cpu_request)


def _pod_names(pods: PodIntervals) -> list[str]:
    names = [""] * (int(pods.pod.max()) + 1 if len(pods.pod) else 0)
    for pod_id, name in zip(pods.pod, pods.name):
        names[pod_id] = name
    return names

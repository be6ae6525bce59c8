"""The metrics pipeline the HPA reads: a metrics-server imitation.

Every metric resolution (:data:`~sim.spec.hpa.METRIC_RESOLUTION_S`, 15 s,
metrics-server's ``--metric-resolution``) each running pod is scraped: its
cumulative CPU seconds and request count. A pod's metric is the rate between
its last two scrapes (so a new pod has no metric until its second scrape, as
with the real metrics-server), stamped with the scrape time and window. The HPA reads the latest sample, which lags by up to one
resolution. Instantaneous Pods metrics (``in_flight``, ``queue_length``) are
read at the scrape too.

Metrics by name (:data:`~sim.spec.hpa.POD_METRIC_NAMES`; Pods metrics,
``type: Pods``, per pod; Object metrics on a Service, ``type: Object``,
totals): ``requests_per_second``, ``in_flight``, ``queue_length``, ``cpu``
(cores). External metrics: ``<workload>.requests_per_second``
(the offered rate of a workload, e.g. a queue's arrival rate).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..spec.hpa import METRIC_RESOLUTION_S
from .pod import RUNNING


@dataclass
class PodMetric:
    """One pod's metrics from one scrape: rates over ``window_s`` (the time
    since its previous scrape, normally the resolution) ending at ``t_s``."""

    t_s: float
    window_s: float
    cpu_cores: float
    requests_per_second: float
    in_flight: float
    queue_length: float

    def value(self, name: str) -> float:
        return self.cpu_cores if name == "cpu" else getattr(self, name)


class MetricsServer:
    """Scrapes pods every ``metric_resolution_s``; keeps the latest metric per pod."""

    def __init__(self, services, workloads, metric_resolution_s: float = METRIC_RESOLUTION_S):
        self.services = services
        self.workloads = workloads
        self.metric_resolution_s = metric_resolution_s
        self._last: dict[int, tuple[float, float, int, int]] = {}
        self._workload_counts: dict[str, tuple[float, int]] = {}
        self.workload_rates: dict[str, float] = {}
        self.external_sources: dict = {}  # metric name -> () -> value, read live (KEDA's adapter)

    def process(self, env):
        while True:
            yield env.timeout(self.metric_resolution_s)
            self.scrape(env.now)

    def scrape(self, now: float) -> None:
        for service in self.services:
            for pod in service.pods:
                self._scrape_pod(pod, now)
        for name, counter in self.workloads.items():
            last = self._workload_counts.get(name)
            count = counter()
            if last is not None and now > last[0]:
                self.workload_rates[name] = (count - last[1]) / (now - last[0])
            self._workload_counts[name] = (now, count)

    def _scrape_pod(self, pod, now: float) -> None:
        if pod.phase != RUNNING:
            self._last.pop(pod.id, None)
            pod.metric = None
            return
        cpu, arrivals = pod.cpu_seconds(), pod.arrivals
        last = self._last.get(pod.id)
        self._last[pod.id] = (now, cpu, arrivals, pod.container)
        if last is None or last[3] != pod.container or now <= last[0]:
            return
        window = now - last[0]
        pod.metric = PodMetric(now, window, (cpu - last[1]) / window,
                               (arrivals - last[2]) / window, float(pod.in_flight),
                               float(len(pod.queue)))

    def external(self, name: str) -> Optional[float]:
        source = self.external_sources.get(name)
        if source is not None:
            return source()
        workload, _, metric = name.partition(".")
        if metric != "requests_per_second":
            return None
        return self.workload_rates.get(workload)

"""Build the simulated cluster from a scenario and run it (build, start, run, finalize)."""
from __future__ import annotations

import itertools
from typing import Optional

import simpy

from ..spec.distributions import Constant
from .arrivals import arrival_times
from .caller import CallSite
from .clock import Clock
from .program import call_step, cpu_step, io_step, parallel_step
from .rng import Streams
from .sampler import sample_now, sampler_process
from .service import Service
from .workload import ClosedLoop, OpenLoop


def _is_zero(dist) -> bool:
    return isinstance(dist, Constant) and dist.value == 0.0


class Model:
    """The simulated cluster of one run: services, call sites, workloads, loops."""

    def __init__(self, scenario, streams: Streams, recorder):
        self.scenario = scenario
        self.streams = streams
        self.recorder = recorder
        self.env = simpy.Environment()
        self.clock = Clock(self.env)
        pod_ids = itertools.count()
        self.services = {name: Service(i, name, spec, self.clock, streams, recorder.events, pod_ids)
                         for i, (name, spec) in enumerate(scenario.services.items())}
        self.names = [*scenario.services, *scenario.workload]
        self.sites: list[CallSite] = []
        for service in self.services.values():
            service.program.__init__(self._steps(service))
        self.workloads = [self._workload(len(scenario.services) + i, name, spec)
                          for i, (name, spec) in enumerate(scenario.workload.items())]

    # ----------------------------------------------------------------- build
    def _latency(self, dist, caller: str, callee: str):
        dist = dist if dist is not None else self.scenario.network.latency
        return None if _is_zero(dist) else self.streams.sampler(dist, f"net/{caller}->{callee}")

    def _site(self, caller_index: int, caller: str, call) -> CallSite:
        target = self.services[call.to]
        site = CallSite(self.clock, caller_index, target,
                        self._latency(getattr(call, "latency", None), caller, call.to),
                        self.recorder.calls, fail_on_error=getattr(call, "on_failure", "fail") == "fail")
        self.sites.append(site)
        return site

    def _steps(self, service: Service) -> list:
        pod = service.spec.pod
        steps = [] if _is_zero(pod.work) else [cpu_step]
        if not _is_zero(pod.io):
            steps.append(io_step(self.clock, self.streams.sampler(pod.io, f"io/{service.name}")))
        for call in service.spec.calls:
            if hasattr(call, "parallel"):
                steps.append(parallel_step([self._site(service.index, service.name, c)
                                            for c in call.parallel]))
            else:
                steps.append(call_step(self._site(service.index, service.name, call)))
        return steps

    def _workload(self, index: int, name: str, spec):
        target = self.services[spec.target]
        site = CallSite(self.clock, index, target, self._latency(None, name, spec.target),
                        self.recorder.calls)
        self.sites.append(site)
        log = self.recorder.requests
        if spec.arrivals is not None:
            times = arrival_times(spec.arrivals, self.streams.generator(f"arrivals/{name}"),
                                  self.scenario.duration)
            return OpenLoop(index, name, self.clock, site, times, log)
        think = self.streams.sampler(spec.think_time or Constant(value=0.0), f"think/{name}")
        return ClosedLoop(index, name, self.clock, site, spec.users, think, log)

    # ------------------------------------------------------------------- run
    def start(self) -> None:
        for service in self.services.values():
            for _ in range(service.spec.replicas):
                service.create_pod()
        for workload in self.workloads:
            workload.start()
        sc = self.scenario
        self.env.process(sampler_process(self.env, list(self.services.values()),
                                         self.recorder.samples, sc.sample_interval, sc.warmup,
                                         sc.duration))

    def run(self, until_s: Optional[float] = None) -> None:
        """Run to the scenario's end (or ``until_s``) and flush what is still open."""
        self.env.run(until=until_s if until_s is not None else self.scenario.duration)
        sample_now(self.env, list(self.services.values()), self.recorder.samples)
        self.recorder.calls.flush_open()

    @property
    def events_processed(self) -> int:
        """Events SimPy has scheduled so far (its event id counter)."""
        return next(self.env._eid)

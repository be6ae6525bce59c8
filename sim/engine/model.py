"""Build the simulated cluster from a scenario and run it.

Lifecycle: build (services, pods' replica sets, call sites with their
policies, workloads), start (initial pods, traffic, control loops, faults),
run (SimPy until the horizon), finalize (last sample, flush open attempts).
"""
from __future__ import annotations

import itertools
from typing import Callable, Optional

import simpy

from ..spec.distributions import Constant
from ..status import BREAKER_EVENTS, NO_POD
from .arrivals import arrival_times
from .caller import Call, CallSite
from .clock import Clock
from .cluster import Cluster
from .faults import FaultInjector
from .hpa import HPAController
from .metrics import MetricsServer
from .prober import ProbeSetup
from .program import ComputeOnly, Program, call_step, cpu_step, io_step, parallel_step
from .replicaset import ReplicaSet
from .call_policy import CallPolicy
from .clients import Clients
from .resilience import ResilientCall
from .rng import Streams
from .rollout import Rollout
from .timeseries import record_levels, timeseries_process
from .service import Service
from .workload import ClosedLoop, OpenLoop



PROGRESS_EVERY_EVENTS = 50_000
"""How often :meth:`Model.run` reports progress (events between two calls)."""


def _run_reporting(env: simpy.Environment, horizon_s: float,
                   progress: Callable[[float], None]) -> None:
    """``env.run(until=horizon_s)``, calling ``progress(env.now)`` every
    :data:`PROGRESS_EVERY_EVENTS` events: the same stop event SimPy's ``run``
    schedules (URGENT, at the horizon), the same steps."""
    stop = simpy.Event(env)
    stop._ok = True
    stop._value = None
    env.schedule(stop, simpy.core.URGENT, horizon_s - env.now)
    stop.callbacks.append(simpy.core.StopSimulation.callback)
    step = env.step
    try:
        while True:
            for _ in range(PROGRESS_EVERY_EVENTS):
                step()
            progress(env.now)
    except simpy.core.StopSimulation:
        progress(horizon_s)
    except simpy.core.EmptySchedule:
        raise RuntimeError("no events left before the horizon") from None


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
        events = recorder.events
        self.cluster = Cluster(scenario.cluster, self.clock, events) if scenario.cluster else None
        pod_ids = itertools.count()
        self.services = {}
        for i, (name, spec) in enumerate(scenario.services.items()):
            service = Service(i, name, spec, self.clock, streams, events)
            service.replicaset = ReplicaSet(service, self.clock, streams, events, pod_ids,
                                            self.cluster, ProbeSetup.from_spec(spec, streams, name))
            self.services[name] = service
        self.names = [*scenario.services, *scenario.workload]
        self.sites: list[CallSite] = []
        for service in self.services.values():
            steps = self._steps(service)  # makes the call sites, so after every service exists
            service.program = ComputeOnly() if steps == [cpu_step] else Program(steps)
        self.workloads = [self._workload(len(scenario.services) + i, name, spec)
                          for i, (name, spec) in enumerate(scenario.workload.items())]
        self.metrics_server: Optional[MetricsServer] = None
        self.hpa_controllers = []
        if any(s.hpa is not None for s in scenario.services.values()):
            counters = {w.name: (lambda w=w: w.issued) for w in self.workloads}
            self.metrics_server = MetricsServer(list(self.services.values()), counters)
            self.hpa_controllers = [HPAController(self.services[name], spec.hpa,
                                                  self.metrics_server, self.clock, events)
                                    for name, spec in scenario.services.items() if spec.hpa]
        self.faults = FaultInjector(scenario.faults, self.services, self.sites, streams,
                                    self.clock, events)

    # ----------------------------------------------------------------- build
    def _latency(self, dist, caller: str, callee: str):
        dist = dist if dist is not None else self.scenario.network.latency
        return None if _is_zero(dist) else self.streams.sampler(dist, f"net/{caller}->{callee}")

    def _site(self, caller_index: int, caller: str, call, target_name: str) -> CallSite:
        target = self.services[target_name]
        policy = None if CallPolicy.is_plain(call) else CallPolicy(call)
        edge = f"{caller}->{target_name}"
        clients = Clients(edge, policy, self._breaker_log(caller, target)) if policy else None
        site = CallSite(self.clock, caller_index, target,
                        self._latency(getattr(call, "latency", None), caller, target_name),
                        self.recorder.calls,
                        fail_on_error=getattr(call, "on_failure", "fail") == "fail",
                        policy=policy, clients=clients,
                        uniforms=self.streams.uniforms(f"policy/{edge}") if policy else None,
                        call_class=ResilientCall if policy else Call)
        site.caller_name = caller
        if policy is not None and policy.breaker_spec is not None:
            target.edges.append(site)
        self.sites.append(site)
        return site

    def _breaker_log(self, caller: str, target: Service):
        events = self.recorder.events

        def log(owner_pod, old: str, new: str, t_s: float) -> None:
            who = owner_pod.name if owner_pod is not None else caller
            events.append(t_s, target.index, owner_pod.id if owner_pod is not None else NO_POD,
                          BREAKER_EVENTS[new], f"caller={who} {old}->{new}")
        return log

    def _steps(self, service: Service) -> list:
        pod = service.spec.pod
        steps = [] if _is_zero(pod.work) else [cpu_step]
        if not _is_zero(pod.io):
            steps.append(io_step(self.clock, self.streams.sampler(pod.io, f"io/{service.name}")))
        for call in service.spec.calls:
            if hasattr(call, "parallel"):
                steps.append(parallel_step([self._site(service.index, service.name, c, c.to)
                                            for c in call.parallel]))
            else:
                steps.append(call_step(self._site(service.index, service.name, call, call.to)))
        return steps

    def _workload(self, index: int, name: str, spec):
        site = self._site(index, name, spec.client, spec.target)
        log = self.recorder.requests
        if spec.arrivals is not None:
            times = arrival_times(spec.arrivals, self.streams.generator(f"arrivals/{name}"),
                                  self.scenario.duration)
            return OpenLoop(index, name, self.clock, site, times, log)
        think = self.streams.sampler(spec.think_time or Constant(value=0.0), f"think/{name}")
        return ClosedLoop(index, name, self.clock, site, spec.users, think, log)

    # ------------------------------------------------------------------- run
    def start(self) -> None:
        env, sc = self.env, self.scenario
        for service in self.services.values():
            service.replicaset.scale_to(service.spec.replicas, "initial")
            if service.outlier is not None:
                env.process(service.outlier_process(env))
        for workload in self.workloads:
            workload.start()
        if self.metrics_server is not None:
            env.process(self.metrics_server.process(env))
            for hpa in self.hpa_controllers:
                env.process(hpa.process(env))
        if self.cluster is not None and self.cluster.autoscaler is not None:
            env.process(self.cluster.autoscaler_process(env, self._evict))
        for spec in sc.rollouts:
            rollout = Rollout(self.services[spec.service].replicaset, spec, self.clock,
                              self.recorder.events)
            self.clock.call_at(spec.at, rollout.begin, None)
        self.faults.start()
        env.process(timeseries_process(env, list(self.services.values()), self.recorder.samples,
                                       self.recorder.sample_times_s))

    def _evict(self, pod) -> None:
        """The cluster autoscaler drains a node: delete the pod; its ReplicaSet replaces it."""
        rs = pod.service.replicaset
        rs.terminate(pod, "evicted: node scale-down")
        rs.scale_to(pod.service.desired_replicas, "replace evicted pod")

    def run(self, progress: Optional[Callable[[float], None]] = None) -> None:
        """Run to the scenario's end and flush the attempts still open.

        ``progress(now_s)``, if given, is called every ``PROGRESS_EVERY_EVENTS``
        events with the simulated time. It only reads: the run's events, their
        order and its results are the same with or without it (SimPy's
        ``run(until)`` is unrolled here with one stop event, as SimPy does).
        """
        horizon = self.scenario.duration
        if progress is None:
            self.env.run(until=horizon)
        else:
            _run_reporting(self.env, horizon, progress)
        record_levels(self.env, list(self.services.values()), self.recorder.samples)
        self.recorder.calls.flush_open()

    @property
    def events_processed(self) -> int:
        """Events SimPy has scheduled so far (its event id counter)."""
        return self.clock.events_scheduled

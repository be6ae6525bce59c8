"""Build the simulated cluster from a scenario and run it.

Lifecycle: build (services, pods' replica sets, call sites with their
policies, workloads), start (initial pods, traffic, control loops, faults),
run (SimPy until the horizon), finalize (last sample, flush open attempts).
"""
from __future__ import annotations

import itertools
from typing import Callable, Optional

import simpy

from ..spec.distributions import Constant, is_zero
from ..status import BREAKER_EVENTS, NO_POD
from .arrivals import arrival_times
from .caller import Call, CallSite
from .clock import Clock
from .cluster import Cluster
from .faults import FaultInjector
from .hpa import HPAController
from .metrics import MetricsServer
from .prober import ProbeSetup
from .channels import Bus
from .consumer import Consumer
from .external import External
from .functions import Function
from .keda import KedaController
from .plans import PlanBuilder, endpoint_picker
from .program import ComputeOnly, Program, cpu_step
from .replicaset import ReplicaSet
from .call_policy import CallPolicy
from .clients import Clients
from .resilience import ResilientCall
from .rng import Streams
from .rollout import Rollout
from .timeseries import record_levels, timeseries_process
from .topics import KafkaTopic, QueueTopic
from .service import Endpoint, Service
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
        first_external = len(scenario.services) + len(scenario.workload)
        self.externals = {name: External(first_external + j, name, spec, self.clock, streams)
                          for j, (name, spec) in enumerate(scenario.external.items())}
        self.topics = self._topics(first_external + len(scenario.external))
        first_function = first_external + len(scenario.external) + len(scenario.topics)
        self.functions = {name: Function(first_function + j, name, spec, self.clock, streams,
                                         recorder.function_tallies[name], float(scenario.warmup))
                          for j, (name, spec) in enumerate(scenario.functions.items())}
        self.names = [*scenario.services, *scenario.workload, *scenario.external, *scenario.topics,
                      *scenario.functions]
        self.endpoint_codes = {name: i for i, name in enumerate(scenario.endpoint_names())}
        self.call_site_codes = {name: i for i, name in enumerate(scenario.call_site_names())}
        self.sites: list[CallSite] = []
        plans = PlanBuilder(self.clock, streams, self._service_site)
        for service in self.services.values():
            self._buses(service, plans)  # before the plans: a publish step needs its channel
        for service in self.services.values():
            self._plan(service, plans)  # makes the call sites, so after every service exists
        for function in self.functions.values():  # never ComputeOnly: an instance reports its ends
            spec = function.spec
            function.program = Program(plans.handler(function, function.name, spec.work, spec.io,
                                                     spec.calls))
        self.workloads = [self._workload(len(scenario.services) + i, name, spec)
                          for i, (name, spec) in enumerate(scenario.workload.items())]
        self.consumers = self._consumers()
        self.metrics_server: Optional[MetricsServer] = None
        self.hpa_controllers = []
        self.keda_controllers = []
        if any(s.hpa is not None or s.keda is not None for s in scenario.services.values()):
            counters = {w.name: (lambda w=w: w.issued) for w in self.workloads}
            self.metrics_server = MetricsServer(list(self.services.values()), counters)
            self.hpa_controllers = [HPAController(self.services[name], spec.hpa,
                                                  self.metrics_server, self.clock, events)
                                    for name, spec in scenario.services.items() if spec.hpa]
            self.keda_controllers = [
                KedaController(self.services[name], spec.keda, self.consumers[name].source,
                               self.metrics_server, self.clock, events)
                for name, spec in scenario.services.items() if spec.keda]
            self.hpa_controllers += [k.hpa for k in self.keda_controllers]
        self.faults = FaultInjector(scenario.faults, self.services, self.sites, streams,
                                    self.clock, events)

    # ----------------------------------------------------------------- build
    def _topics(self, first_index: int) -> dict:
        """The brokers' topics (callees of publishes), dead-letter queues linked."""
        sc, streams = self.scenario, self.streams
        ids = itertools.count()
        topics = {}
        for j, (name, spec) in enumerate(sc.topics.items()):
            args = (first_index + j, name, spec, self.clock, self.recorder.messages, float(sc.warmup))
            if spec.kind == "kafka":
                topic = KafkaTopic(*args, streams.uniforms(f"producer/{name}"))
            else:
                topic = QueueTopic(*args, streams.sampler(spec.delay, f"delay/{name}"))
            topic.next_id = ids
            topics[name] = topic
        for name, spec in sc.topics.items():
            if getattr(spec, "dead_letter", None) is not None:
                topics[name].dead_letter = topics[spec.dead_letter]
        return topics

    def _consumers(self) -> dict:
        """A :class:`.consumer.Consumer` per consuming service, hooked to its pods."""
        codes = {key: i for i, key in enumerate(self.scenario.consumer_groups())}
        consumers = {}
        for name, spec in self.scenario.services.items():
            if spec.consumes is None:
                continue
            topic = self.topics[spec.consumes.topic]
            group = spec.consumes.group or name
            source = topic.group(group) if isinstance(topic, KafkaTopic) else topic
            consumer = Consumer(self.services[name], source, spec.consumes.concurrency,
                                codes[(spec.consumes.topic, group)], self.clock, self.recorder.messages)
            if isinstance(topic, KafkaTopic):
                source.consumer = consumer
            else:
                topic.consumers.append(consumer)
            self.services[name].consumer = consumer
            self.services[name].replicaset.consumer = consumer
            consumers[name] = consumer
        return consumers

    def _latency(self, dist, caller: str, callee: str):
        if dist is None:  # an external's response time is the whole round trip
            dist = Constant(value=0.0) if callee in self.externals else self.scenario.network.latency
        return None if is_zero(dist) else self.streams.sampler(dist, f"net/{caller}->{callee}")

    def _site(self, caller_index: int, caller: str, origin: str, policy, to: str) -> CallSite:
        """The site of one edge: ``caller`` (its requests, or a workload)
        calling ``to`` (``service``, ``service/endpoint`` or an external) with
        ``policy``; ``origin`` names the edge's random streams."""
        target_name, _, endpoint = to.partition("/")
        target = self.services.get(target_name) or self.externals.get(target_name) \
            or self.topics.get(target_name) or self.functions[target_name]
        plain = CallPolicy.is_plain(policy)
        edge = f"{origin}->{target_name}"
        clients = None if plain else Clients(edge, CallPolicy(policy), self._breaker_log(caller, target))
        site = CallSite(self.clock, caller_index, target,
                        self._latency(getattr(policy, "latency", None), origin, target_name),
                        self.recorder.calls,
                        fail_on_error=getattr(policy, "on_failure", "fail") == "fail",
                        policy=None if plain else clients.policy, clients=clients,
                        uniforms=None if plain else self.streams.uniforms(f"policy/{edge}"),
                        call_class=Call if plain else ResilientCall)
        site.caller_name = caller
        site.duplicate = self.recorder.duplicates.append
        if getattr(policy, "name", None) is not None:
            site.label = self.call_site_codes[policy.name]
        if endpoint:
            site.endpoint = self.endpoint_codes[endpoint]
        elif getattr(target, "by_code", None) is not None:  # a service with endpoints
            names = list(target.spec.endpoints)
            site.pick_endpoint = endpoint_picker(
                [self.endpoint_codes[n] for n in names],
                [target.spec.endpoints[n].share for n in names],
                self.streams.uniforms(f"endpoint/{edge}"))
        if not plain and site.policy.breaker_spec is not None:
            target.edges.append(site)
        self.sites.append(site)
        return site

    def _service_site(self, service: Service, origin: str, call) -> CallSite:
        return self._site(service.index, service.name, origin, call, call.destination)

    def _breaker_log(self, caller: str, target: Service):
        events = self.recorder.events

        def log(owner_pod, old: str, new: str, t_s: float) -> None:
            who = owner_pod.name if owner_pod is not None else caller
            events.append(t_s, target.index, owner_pod.id if owner_pod is not None else NO_POD,
                          BREAKER_EVENTS[new], f"caller={who} {old}->{new}")
        return log

    def _buses(self, service: Service, plans: PlanBuilder) -> None:
        """The service's in-process channels (:mod:`.channels`), subscribers' programs built."""
        for name, spec in service.spec.channels.items():
            programs, work = [], []
            for sub, sub_spec in spec.subscribers.items():
                origin = f"{service.name}/{name}/{sub}"
                programs.append(Program(plans.handler(service, origin, sub_spec.work, sub_spec.io,
                                                      sub_spec.calls)))
                work.append(self.streams.sampler(sub_spec.work, f"work/{origin}"))
            service.buses[name] = Bus(name, spec, programs, work,
                                      self.recorder.channel_counts[(service.name, name)],
                                      float(self.scenario.warmup))

    def _plan(self, service: Service, plans: PlanBuilder) -> None:
        """Give ``service`` its program, or one per endpoint (:mod:`.plans`)."""
        spec, name = service.spec, service.name
        before, after = plans.middleware(name, spec.middleware)
        if not spec.endpoints:
            steps = before + plans.handler(service, name, spec.pod.work, spec.pod.io, spec.calls) + after
            service.program = ComputeOnly() if steps == [cpu_step] else Program(steps)
            return
        for ep_name, ep in spec.endpoints.items():
            origin = f"{name}/{ep_name}"
            work = ep.work if ep.work is not None else spec.pod.work
            io = ep.io if ep.io is not None else spec.pod.io
            calls = ep.calls if ep.calls is not None else spec.calls
            steps = before + plans.handler(service, origin, work, io, calls, ep) + after
            program = ComputeOnly() if steps == [cpu_step] else Program(steps)
            service.by_code[self.endpoint_codes[ep_name]] = Endpoint(
                ep_name, self.streams.sampler(work, f"work/{origin}"), program)

    def _workload(self, index: int, name: str, spec):
        site = self._site(index, name, name, spec.client, spec.target)
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
        for function in self.functions.values():
            function.start()
        for workload in self.workloads:
            workload.start()
        if self.metrics_server is not None:
            env.process(self.metrics_server.process(env))
            for hpa in self.hpa_controllers:
                env.process(hpa.process(env))
            for keda in self.keda_controllers:
                env.process(keda.process(env))
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

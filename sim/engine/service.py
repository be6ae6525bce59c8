"""A service: its pods, its Ready endpoints and the load balancer over them.

A request arriving at the service draws its CPU work (stream
``work/<service>``, or ``work/<service>/<endpoint>`` for an endpoint, in
arrival order, so arms of an experiment see the same sizes), is routed by the load balancer to a routable pod (Ready and not
ejected by outlier detection) and accepted, queued or rejected there. With no
routable pod it is rejected at once (Envoy's "no healthy upstream").
"""
from __future__ import annotations

from typing import Optional

from ..policies.load_balancer import make_load_balancer
from ..policies.outlier import OutlierDetector
from ..status import (CANCELLED, DEADLINE, NO_ENDPOINT, POD_EJECTED, POD_READY, POD_UNEJECTED,
                      POD_UNREADY, REJECTED, SHED, TIMEOUT)
from .clock import Clock
from .cpu import CpuSetup
from .pod import TERMINATING, Pod
from .program import Program

NAN = float("nan")


class Service:
    """Pods of one service and the routing of requests to them."""

    # slots: receive and admit_from_queue read several attributes per request
    __slots__ = ("index", "name", "spec", "clock", "env", "events", "pods", "endpoints",
                 "routable", "lb", "_work", "cpu_setup", "program", "desired_replicas",
                 "retired_cpu_s", "max_queue_time_s", "replicaset", "edges", "outlier", "by_code",
                 "consumer", "buses")

    def __init__(self, index: int, name: str, spec, clock: Clock, streams, events):
        self.index = index
        self.name = name
        self.spec = spec
        self.clock = clock
        self.env = clock.env  # ``env._now``: one hop less than ``clock.env`` per request
        self.events = events
        self.pods: list[Pod] = []
        self.endpoints: list[Pod] = []
        self.routable: list[Pod] = self.endpoints
        self.lb = make_load_balancer(spec.load_balancer.type, streams.uniforms(f"lb/{name}"),
                                     spec.load_balancer.choice_count)
        self._work = streams.sampler(spec.pod.work, f"work/{name}")
        self.cpu_setup = CpuSetup.from_spec(spec.pod, streams, name)
        self.program = Program()  # the plan: set by the model once every call site exists
        # with ``endpoints``: endpoint code -> Endpoint (its work and program), set by the
        # model; the caller chose the endpoint (``call.endpoint``) before sending
        self.by_code: Optional[dict[int, "Endpoint"]] = {} if spec.endpoints else None
        self.consumer = None  # a consumer service's Consumer (sim.engine.consumer), set by the model
        self.buses: dict = {}  # channel name -> Bus (sim.engine.channels), set by the model
        self.desired_replicas = spec.replicas
        self.retired_cpu_s = 0.0
        self.max_queue_time_s: Optional[float] = spec.pod.max_queue_time
        self.replicaset = None
        self.edges: list = []  # call sites that call this service (breaker levels)
        self.outlier: Optional[OutlierDetector] = None
        if spec.outlier_detection is not None:
            od = spec.outlier_detection
            self.outlier = OutlierDetector(od.consecutive_5xx, od.interval, od.base_ejection_time,
                                           od.max_ejection_percent,
                                           max(od.max_ejection_time, od.base_ejection_time))
            self.routable = []

    # -------------------------------------------------------------- routing
    def receive(self, att) -> None:
        """An attempt arrives from the network."""
        att.arrived_s = self.env._now
        if self.by_code is None:
            att.work_s = next(self._work)
            att.program = self.program
        else:
            endpoint = self.by_code[att.call.endpoint]
            att.work_s = next(endpoint.work)
            att.program = endpoint.program
        if att.halt:  # its caller gave up while it travelled (propagated)
            att.call.respond(att, TIMEOUT, CANCELLED)
            return
        endpoints = self.routable
        if endpoints:
            pod = self.lb.pick(endpoints) if len(endpoints) > 1 else endpoints[0]
            pod.arrivals += 1
            pod.accept(att)
        else:
            att.call.respond(att, REJECTED, NO_ENDPOINT)

    def admit_from_queue(self, att) -> bool:
        """Whether a queued attempt may start now; if not, answer it.

        Dropped: work whose caller gave up and propagated it (Go: the handler
        sees a cancelled context), work past its propagated deadline, and
        work that queued longer than ``max_queue_time`` (load shedding).
        """
        if att.halt:
            att.call.respond(att, TIMEOUT, CANCELLED)
            return False
        now = self.env._now
        if now >= att.deadline_s:
            att.call.respond(att, TIMEOUT, DEADLINE)
            return False
        limit = self.max_queue_time_s
        if limit is not None and now - att.arrived_s > limit:
            att.call.respond(att, REJECTED, SHED)
            return False
        return True

    # ------------------------------------------------------------ endpoints
    def set_ready(self, pod: Pod, ready: bool) -> None:
        """Add a pod to, or remove it from, the endpoints that receive traffic."""
        if ready == pod.ready:
            return
        pod.ready = ready
        now = self.clock.now
        pod.ready_since_s = now
        if ready:
            self.endpoints.append(pod)
            if self.outlier is not None:
                self.outlier.add_host(pod.id)
            self.events.append(now, self.index, pod.id, POD_READY, "")
        else:
            self.endpoints.remove(pod)
            if self.outlier is not None:
                self.outlier.remove_host(pod.id)
            self.events.append(now, self.index, pod.id, POD_UNREADY, "")
        self._refresh_routable()

    def _refresh_routable(self) -> None:
        if self.outlier is None:
            return
        now = self.clock.now
        self.routable[:] = [p for p in self.endpoints if not self.outlier.is_ejected(p.id, now)]

    def observe_result(self, pod: Pod, ok: bool) -> None:
        """A caller saw an answer from ``pod`` (outlier detection input)."""
        outlier = self.outlier
        if outlier is not None and pod.ready and outlier.on_result(pod.id, self.clock.now, ok):
            self.events.append(self.clock.now, self.index, pod.id, POD_EJECTED,
                               f"consecutive_5xx={outlier.consecutive_5xx}")
            self._refresh_routable()

    def outlier_process(self, env):
        """Envoy's outlier detection interval timer: return ejected hosts."""
        interval = self.outlier.interval_s
        while True:
            yield env.timeout(interval)
            back = self.outlier.tick(env.now)
            for pod_id in back:
                self.events.append(env.now, self.index, pod_id, POD_UNEJECTED, "")
            if back:
                self._refresh_routable()

    # ------------------------------------------------------------- metrics
    def cpu_seconds(self) -> float:
        """CPU core-seconds used by every pod of this service so far."""
        return self.retired_cpu_s + sum(p.cpu_seconds() for p in self.pods)

    def levels(self) -> tuple:
        """The sampled levels, in :data:`~sim.record.logs.SampleLog.FIELDS` order."""
        pods = self.pods
        replicas = sum(1 for p in pods if p.phase != TERMINATING)
        open_, half_open = 0, 0
        for site in self.edges:
            o, h = site.clients.open_breakers()
            open_ += o
            half_open += h
        lag, oldest = (NAN, NAN) if self.consumer is None else self.consumer.backlog(self.env._now)
        held = float(sum(bus.length() for bus in self.buses.values())) if self.buses else NAN
        return (float(replicas), float(len(self.endpoints)), float(self.desired_replicas),
                float(sum(len(p.queue) for p in pods)), float(sum(p.in_flight for p in pods)),
                self.cpu_seconds(), float(sum(1 for p in pods if p.started_s is not None)),
                float(open_), float(half_open), *self.cpu_setup.throttle_totals(), lag, oldest, held)


class Endpoint:
    """One endpoint of a service: its work sampler and its program."""

    __slots__ = ("name", "work", "program")

    def __init__(self, name: str, work, program: Program):
        self.name = name
        self.work = work
        self.program = program

"""A service: its pods, its Ready endpoints and the load balancer over them.

A request arriving at the service draws its CPU work (stream
``work/<service>``, in arrival order, so arms of an experiment see the same
sizes), is routed by the load balancer to a Ready pod and accepted, queued or
rejected there. With no Ready endpoint it is rejected at once (Envoy's
"no healthy upstream").
"""
from __future__ import annotations

import itertools
from typing import Callable, Optional

from ..policies.load_balancer import make_load_balancer
from .clock import Clock
from .pod import Pod
from .program import Program
from .status import NO_ENDPOINT, REJECTED


class Service:
    """Pods of one service and the routing of requests to them."""

    def __init__(self, index: int, name: str, spec, clock: Clock, streams, events,
                 pod_ids: itertools.count):
        self.index = index
        self.name = name
        self.spec = spec
        self.clock = clock
        self.events = events
        self._pod_ids = pod_ids
        self._pod_numbers = itertools.count()
        self.pods: list[Pod] = []
        self.endpoints: list[Pod] = []
        self.lb = make_load_balancer(spec.load_balancer.type, streams.uniforms(f"lb/{name}"),
                                     spec.load_balancer.choice_count)
        self._work = streams.sampler(spec.pod.work, f"work/{name}")
        self._startup = streams.sampler(spec.pod.startup, f"startup/{name}")
        self.program = Program()
        self.desired_replicas = spec.replicas
        self.retired_cpu_s = 0.0
        self.on_pod_ready: Optional[Callable[[Pod], None]] = None

    # -------------------------------------------------------------- routing
    def receive(self, att) -> None:
        """An attempt arrives from the network."""
        att.arrived_s = self.clock.env._now
        att.work_s = next(self._work)
        endpoints = self.endpoints
        if endpoints:
            self.lb.pick(endpoints).accept(att)
        else:
            att.call.respond(att, REJECTED, NO_ENDPOINT)

    def admit_from_queue(self, att) -> bool:
        """Whether a queued attempt may start now (shedding rules hook here)."""
        return True

    # ------------------------------------------------------------ lifecycle
    def create_pod(self) -> Pod:
        """Create a pod; it serves once its startup delay has passed."""
        pod_spec = self.spec.pod
        number = next(self._pod_numbers)
        pod = Pod(next(self._pod_ids), f"{self.name}-{number}", self, self.clock,
                  cpu_cores=pod_spec.cpu, workers=pod_spec.workers, queue_limit=pod_spec.queue)
        self.pods.append(pod)
        self.events.append(self.clock.now, self.index, pod.id, "pod_created", pod.name)
        delay = next(self._startup)
        if delay > 0:
            self.clock.call_in(delay, self._started, pod)
        else:
            self._started(pod)
        return pod

    def _started(self, pod: Pod) -> None:
        self.events.append(self.clock.now, self.index, pod.id, "pod_started", "")
        self.set_ready(pod, True)

    def set_ready(self, pod: Pod, ready: bool) -> None:
        """Add a pod to, or remove it from, the endpoints that receive traffic."""
        if ready and pod not in self.endpoints:
            self.endpoints.append(pod)
            self.events.append(self.clock.now, self.index, pod.id, "pod_ready", "")
        elif not ready and pod in self.endpoints:
            self.endpoints.remove(pod)
            self.events.append(self.clock.now, self.index, pod.id, "pod_unready", "")

    # ------------------------------------------------------------- metrics
    def cpu_seconds(self) -> float:
        """CPU core-seconds used by every pod of this service so far."""
        return self.retired_cpu_s + sum(p.cpu_seconds() for p in self.pods)

    def levels(self) -> tuple:
        """(replicas, ready, desired, queue_length, in_flight, cpu_used_s, running)."""
        pods = self.pods
        return (float(len(pods)), float(len(self.endpoints)), float(self.desired_replicas),
                float(sum(len(p.queue) for p in pods)), float(sum(p.in_flight for p in pods)),
                self.cpu_seconds(), float(len(pods)))

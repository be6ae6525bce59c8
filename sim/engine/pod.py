"""A pod: a worker pool in front of its CPU.

Worker pool (a goroutine pool): a request holds one worker from start to
finish, including while it waits on downstream calls. Beyond ``workers``,
requests wait in a FIFO queue; beyond ``queue_limit`` they are rejected at once.

CPU: one discipline of :mod:`sim.engine.cpu` (Go's scheduler by default, or
processor sharing), optionally under a CFS limit. ``pod.compute`` is the
discipline's ``compute``, bound once, so the hot path pays no indirection.

Per-request overhead (``overhead_cpu``, net/http's connection goroutine): an
attempt accepted by the app (past the ``gate``) first computes its overhead
as its own goroutine in the same CPU, holding neither a worker nor a queue
slot; then it starts, queues or is rejected as usual, or, if its caller gave
up and propagated it meanwhile, is answered ``timeout``/``cancelled``. This
applies to requests and to probes on the ``pool`` path (both are HTTP
requests to the server); ``dedicated`` probes skip it.

Invariants: ``0 <= busy <= workers``; ``in_flight`` counts every attempt the
pod holds (overhead, queued, in service, hung).
"""
from __future__ import annotations

from collections import deque
from typing import Optional

from .clock import Clock
from .cpu import CpuSetup
from .program import cancel_children
from ..status import CANCELLED, ERROR, QUEUE_FULL, REJECTED, TIMEOUT

PENDING, STARTING, RUNNING, TERMINATING, DELETED = range(5)
PHASE_NAMES = ("Pending", "Starting", "Running", "Terminating", "Deleted")


class _AfterOverhead:
    """Continuation of an attempt whose connection overhead is computed."""

    __slots__ = ("pod",)

    def __init__(self, pod: "Pod"):
        self.pod = pod

    def proceed(self, att) -> None:
        self.pod._overhead_done(att)


class Pod:
    """Worker pool + CPU of one pod, and its lifecycle state.

    The lifecycle itself (scheduling, container starts and restarts, probes,
    termination) is driven by :class:`~sim.engine.replicaset.ReplicaSet`;
    the pod only holds its state. ``gate`` is None while the app serves
    normally; otherwise it is a function that may answer an arriving attempt
    first (app not started yet, fault injection) and returns True if it did.
    """

    __slots__ = ("id", "name", "service", "clock", "env", "workers", "queue_limit",
                 "busy", "queue", "running", "cpu", "compute", "_overhead", "_after_overhead",
                 "_pre", "gate", "arrivals", "phase", "ready", "serving", "container", "restarts",
                 "created_s", "started_s", "ready_since_s", "node", "revision", "draining",
                 "on_drained", "faults", "metric", "cpu_request", "bound_s", "hung", "io_slowdown")

    def __init__(self, pod_id: int, name: str, service, clock: Clock, *, cpu_cores: float,
                 workers: int, queue_limit: Optional[int], revision: int = 0,
                 cpu_request: float = 1.0, cpu_setup: Optional[CpuSetup] = None):
        self.id = pod_id
        self.name = name
        self.service = service
        self.clock = clock
        self.env = clock.env  # ``env._now`` read twice per request: one hop less than clock.env
        self.workers = workers
        self.queue_limit = queue_limit
        self.busy = 0
        self.queue: deque = deque()
        self.running: set = set()
        setup = cpu_setup if cpu_setup is not None else CpuSetup("ps")
        self.cpu = setup.build(clock, cpu_cores, clock.env.now)
        self.compute = self.cpu.compute
        self._overhead = setup.overhead
        self._after_overhead = _AfterOverhead(self)
        self._pre: dict = {}  # attempts computing their overhead, in arrival order
        self.gate = None
        self.arrivals = 0
        self.phase = PENDING
        self.ready = False
        self.serving = False
        self.container = 0
        self.restarts = 0
        self.created_s = clock.env.now
        self.started_s = None
        self.ready_since_s = None
        self.node = None
        self.revision = revision
        self.draining = False
        self.on_drained = None
        self.faults: list = []
        self.metric = None
        self.cpu_request = cpu_request
        self.bound_s = None
        self.hung: list = []  # accepted by a hung app, never answered (outage: hang)
        self.io_slowdown = 1.0  # factor on the ``io`` time of steps that start from now (faults)

    # ----------------------------------------------------------- worker pool
    @property
    def in_flight(self) -> int:
        """Requests assigned to this pod: in service, queued, computing their
        overhead, or swallowed by a hung app."""
        return self.busy + len(self.queue) + len(self.hung) + len(self._pre)

    def accept(self, att) -> None:
        """An attempt arrives: compute its overhead (if any), then start it,
        queue it, or reject it (queue full)."""
        att.pod = self
        if self.gate is not None and self.gate(att):
            return
        if self._overhead is not None:
            self._pre[att] = None
            self.compute(att, next(self._overhead), self._after_overhead)
            return
        # _enter_pool inlined: this runs once per request (hot path)
        if self.busy < self.workers:
            self.busy += 1
            self.running.add(att)
            att.started_s = self.env._now
            att.program.start(att)
        elif self.queue_limit is None or len(self.queue) < self.queue_limit:
            self.queue.append(att)
        else:
            att.call.respond(att, REJECTED, QUEUE_FULL)

    def _enter_pool(self, att) -> None:
        """Start ``att`` on a free worker, else queue it, else reject it (503)."""
        if self.busy < self.workers:
            self._start(att)
        elif self.queue_limit is None or len(self.queue) < self.queue_limit:
            self.queue.append(att)
        else:
            att.call.respond(att, REJECTED, QUEUE_FULL)

    def _overhead_done(self, att) -> None:
        del self._pre[att]
        if att.halt:  # its caller gave up and propagated it meanwhile
            att.call.respond(att, TIMEOUT, CANCELLED)
        else:
            self._enter_pool(att)
        self._check_drained()

    def _start(self, att) -> None:
        self.busy += 1
        self.running.add(att)
        att.started_s = self.clock.env._now
        att.program.start(att)

    def finish(self, att, status: int, reason: int) -> None:
        """The attempt's work here is over: free its worker, answer the caller.
        (Inlined in :meth:`.program.ComputeOnly.proceed`: keep the two in step.)"""
        att.done_s = self.env._now
        self.running.discard(att)
        self.busy -= 1
        if self.queue:
            self._dequeue()
        att.call.respond(att, status, reason)
        if self.draining:
            self._check_drained()

    def _check_drained(self) -> None:
        if self.draining and not self.busy and not self.queue and not self.hung \
                and not self._pre:
            self.on_drained(self)

    def _dequeue(self) -> None:
        queue = self.queue
        service = self.service
        admit, limit, now = service.admit_from_queue, service.max_queue_time_s, self.env._now
        while queue and self.busy < self.workers:
            att = queue.popleft()
            # admit's checks in brief: only work it may drop (halted, past its
            # deadline, or any with a max queue time) pays for the call
            if (att.halt or now >= att.deadline_s or limit is not None) and not admit(att):
                continue
            # _start, inlined (about once per queued request)
            self.busy += 1
            self.running.add(att)
            att.started_s = now
            att.program.start(att)

    # ------------------------------------------------------------------- CPU
    @property
    def cpu_cores(self) -> float:
        """Cores the pod's threads may use now."""
        return self.cpu.cores

    @property
    def slowdown(self) -> float:
        """Factor on the CPU work of every step that starts from now (faults;
        the ``io`` steps' factor is ``io_slowdown``)."""
        return self.cpu.slowdown

    @slowdown.setter
    def slowdown(self, factor: float) -> None:
        self.cpu.slowdown = factor

    @property
    def computing(self) -> int:
        """Goroutines (or threads) with CPU work, running or waiting to run."""
        return self.cpu.computing

    def set_cpu(self, cores: float) -> None:
        """Change the cores now (capacity faults); running work re-paces."""
        self.cpu.set_cores(cores)

    def cpu_seconds(self) -> float:
        """CPU core-seconds used so far (brought up to now)."""
        return self.cpu.used_until(self.clock.env._now)

    def throttled(self) -> tuple[int, float]:
        """``(throttled_periods, throttled_s)`` of this pod's CFS limit so far."""
        cfs = self.cpu.cfs
        if cfs is None:
            return 0, 0.0
        self.cpu.used_until(self.clock.env._now)
        return cfs.throttled_periods, cfs.throttled_s

    # ------------------------------------------------------------- killing
    def kill(self, reason: int) -> None:
        """The container dies: every queued, overhead-computing and running
        attempt ends with ``error`` (connection reset) and ``reason``; the CPU
        is emptied."""
        self.cpu.clear()
        queued = list(self.queue) + list(self._pre) + self.hung
        self.queue.clear()
        self._pre.clear()
        self.hung = []
        now = self.clock.env._now
        for att in queued:
            att.halt = True
            att.call.respond(att, ERROR, reason)
        for att in sorted(self.running, key=lambda a: (a.started_s, a.call.request_id, a.no)):
            att.halt = True
            cancel_children(att)
            self.running.discard(att)
            self.busy -= 1
            att.done_s = now
            att.call.respond(att, ERROR, reason)
        self.running.clear()
        self.busy = 0

"""A pod: a worker pool in front of processor-shared CPU.

Worker pool (a goroutine pool): a request holds one worker from start to
finish, including while it waits on downstream calls. Beyond ``workers``,
requests wait in a FIFO queue; beyond ``queue_limit`` they are rejected at once.

CPU (processor sharing): the requests that are computing share ``cpu_cores``;
each gets ``min(1, cpu_cores / computing)`` of a core. Implemented with
virtual time: ``vtime`` is the service each computing request has received
since the pod started; a request needing ``w`` core-seconds finishes when
``vtime`` reaches its tag ``vtime_at_entry + w``. Only the smallest tag
matters, so the pod keeps one pending completion alarm, moved earlier when a
shorter job arrives and re-armed when it fires early (after a slowdown).

Invariants: ``0 <= busy <= workers``; ``computing`` counts live heap entries;
``cpu_used_s`` is the exact integral of ``min(computing, cpu_cores)`` dt.
"""
from __future__ import annotations

from collections import deque
from heapq import heappop, heappush
from typing import Optional

from .clock import Alarm, Clock
from .program import cancel_children
from .status import ERROR, QUEUE_FULL, REJECTED

_EPS_WORK = 1e-9  # core-seconds: tags this close to vtime complete together

PENDING, STARTING, RUNNING, TERMINATING, DELETED = range(5)
PHASE_NAMES = ("Pending", "Starting", "Running", "Terminating", "Deleted")


class Pod:
    """Worker pool + processor-shared CPU of one pod, and its lifecycle state.

    The lifecycle itself (scheduling, container starts and restarts, probes,
    termination) is driven by :class:`~sim.engine.replicaset.ReplicaSet`;
    the pod only holds its state. ``gate`` is None while the app serves
    normally; otherwise it is a function that may answer an arriving attempt
    first (app not started yet, fault injection) and returns True if it did.
    """

    __slots__ = ("id", "name", "service", "clock", "workers", "queue_limit",
                 "busy", "queue", "running", "cpu_cores", "cpu_used_s", "slowdown",
                 "_heap", "computing", "_vtime", "_t_last", "_alarm", "_seq",
                 "gate", "arrivals", "phase", "ready", "serving", "container", "restarts",
                 "created_s", "started_s", "ready_since_s", "node", "revision", "draining",
                 "on_drained", "faults", "metric", "cpu_request", "bound_s", "hung")

    def __init__(self, pod_id: int, name: str, service, clock: Clock, *, cpu_cores: float,
                 workers: int, queue_limit: Optional[int], revision: int = 0,
                 cpu_request: float = 1.0):
        self.id = pod_id
        self.name = name
        self.service = service
        self.clock = clock
        self.workers = workers
        self.queue_limit = queue_limit
        self.busy = 0
        self.queue: deque = deque()
        self.running: set = set()
        self.cpu_cores = cpu_cores
        self.cpu_used_s = 0.0
        self.slowdown = 1.0
        self._heap: list = []
        self.computing = 0
        self._vtime = 0.0
        self._t_last = clock.env.now
        self._alarm: Optional[Alarm] = None
        self._seq = 0
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

    # ----------------------------------------------------------- worker pool
    @property
    def in_flight(self) -> int:
        """Requests assigned to this pod: in service, queued, or swallowed by a hung app."""
        return self.busy + len(self.queue) + len(self.hung)

    def accept(self, att) -> None:
        """An attempt arrives: start it, queue it, or reject it (queue full)."""
        att.pod = self
        if self.gate is not None and self.gate(att):
            return
        if self.busy < self.workers:
            self.busy += 1
            self.running.add(att)
            att.started_s = self.clock.env._now
            att.program.start(att)
        elif self.queue_limit is None or len(self.queue) < self.queue_limit:
            self.queue.append(att)
        else:
            att.call.respond(att, REJECTED, QUEUE_FULL)

    def _start(self, att) -> None:
        self.busy += 1
        self.running.add(att)
        att.started_s = self.clock.env._now
        att.program.start(att)

    def finish(self, att, status: int, reason: int) -> None:
        """The attempt's work here is over: free its worker, answer the caller."""
        att.done_s = self.clock.env._now
        self.running.discard(att)
        self.busy -= 1
        if self.queue:
            self._dequeue()
        att.call.respond(att, status, reason)
        if self.draining and not self.busy and not self.queue and not self.hung:
            self.on_drained(self)

    def _dequeue(self) -> None:
        queue = self.queue
        admit = self.service.admit_from_queue
        while queue and self.busy < self.workers:
            att = queue.popleft()
            if admit(att):
                self._start(att)

    # ------------------------------------------------------------------- CPU
    def _advance(self, now: float) -> None:
        n = self.computing
        if n:
            dt = now - self._t_last
            cores = self.cpu_cores
            if n <= cores:
                self._vtime += dt
                self.cpu_used_s += dt * n
            else:
                self._vtime += dt * cores / n
                self.cpu_used_s += dt * cores
        self._t_last = now

    def compute(self, att, work_s: float) -> None:
        """Serve ``work_s`` core-seconds for ``att``; then ``att.program.proceed(att)``."""
        now = self.clock.env._now
        self._advance(now)
        n = self.computing
        cores = self.cpu_cores
        self._seq = seq = self._seq + 1
        att.cpu_seq = seq
        work_s *= self.slowdown
        heappush(self._heap, (self._vtime + work_s, seq, att))
        self.computing = n = n + 1
        # More work only slows the others, so the pending alarm can stay (it
        # re-arms if it fires early); only an earlier completion needs a new one.
        due = now + (work_s if n <= cores else work_s * n / cores)
        alarm = self._alarm
        if alarm is None or due < alarm.at:
            if alarm is not None:
                alarm.callbacks = ()
            self._alarm = self.clock.alarm_in(due - now, self._on_alarm)

    def _arm(self, now: float) -> None:
        """Make sure an alarm fires no later than the next completion."""
        heap = self._heap
        while heap and heap[0][2].cpu_seq != heap[0][1]:
            heappop(heap)  # cancelled entries
        if not heap:
            if self._alarm is not None:
                self._alarm.callbacks = ()
                self._alarm = None
            return
        n, cores = self.computing, self.cpu_cores
        rate = 1.0 if n <= cores else cores / n
        due = now + max(0.0, heap[0][0] - self._vtime) / rate
        alarm = self._alarm
        if alarm is None or due < alarm.at:
            if alarm is not None:
                alarm.callbacks = ()
            self._alarm = self.clock.alarm_in(due - now, self._on_alarm)

    def _on_alarm(self, _unused) -> None:
        now = self.clock.env._now
        self._alarm = None
        self._advance(now)
        n, cores = self.computing, self.cpu_cores
        heap, limit = self._heap, self._vtime + _EPS_WORK
        finished = None
        while heap and heap[0][0] <= limit:
            _, seq, att = heappop(heap)
            if att.cpu_seq != seq:
                continue
            att.cpu_seq = 0
            n -= 1
            if finished is None:
                finished = att
            elif type(finished) is list:
                finished.append(att)
            else:
                finished = [finished, att]
        self.computing = n
        while heap and heap[0][2].cpu_seq != heap[0][1]:
            heappop(heap)  # cancelled entries
        if heap:
            rate = 1.0 if n <= cores else cores / n
            lag = heap[0][0] - self._vtime
            self._alarm = self.clock.alarm_in(lag / rate if lag > 0.0 else 0.0, self._on_alarm)
        if finished is None:
            return
        if type(finished) is list:
            for att in finished:
                att.program.proceed(att)
        else:
            finished.program.proceed(finished)

    def set_cpu(self, cores: float) -> None:
        """Change the CPU limit now (capacity faults); running work re-paces."""
        now = self.clock.env._now
        self._advance(now)
        self.cpu_cores = cores
        if self._alarm is not None:
            self._alarm.callbacks = ()
            self._alarm = None
        self._arm(now)

    def cpu_seconds(self) -> float:
        """CPU core-seconds used so far (brought up to now)."""
        self._advance(self.clock.env._now)
        return self.cpu_used_s

    # ------------------------------------------------------------- killing
    def kill(self, reason: int) -> None:
        """The container dies: every queued and running attempt ends with
        ``error`` (connection reset) and ``reason``; the CPU is emptied."""
        self._advance(self.clock.env._now)
        for entry in self._heap:
            entry[2].cpu_seq = 0
        self._heap.clear()
        self.computing = 0
        if self._alarm is not None:
            self._alarm.callbacks = ()
            self._alarm = None
        queued = list(self.queue) + self.hung
        self.queue.clear()
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

"""In-process Go channels: a pod's event bus (see :mod:`sim.spec.channels`).

Per pod and channel (:class:`PodChannel`): the publisher channel (a FIFO of
``capacity`` events), a dispatcher goroutine that hands the head event to
each subscriber's channel in turn (``for _, ch := range subs { ch <- e }``:
it blocks on a full subscriber channel, and the publisher channel fills
behind it), and per subscriber ``consumers`` goroutines that each take an
event and run the subscriber's program on the pod's CPU, outside the worker
pool. A publish (a program step) sends to the publisher channel; when it is
full the request blocks until there is room, or the event is dropped.

Invariants: a channel never holds more than its capacity; every event
published is dropped, held, being processed, processed, or lost with its
pod's container (``reset``).
"""
from __future__ import annotations

from collections import deque

from ..status import OK
from .messages import INF, Attempt
from .program import Program


class Event:
    __slots__ = ("request_id", "published_s", "in_window")

    def __init__(self, request_id: int, published_s: float, in_window: bool):
        self.request_id = request_id
        self.published_s = published_s
        self.in_window = in_window


class _Goroutine:
    """What a subscriber's goroutine is to the program it runs: the pod's CPU,
    and its own end instead of a worker's (``finish``)."""

    __slots__ = ("pod", "channel", "subscriber", "compute", "env", "id")

    def __init__(self, pod, channel: "PodChannel", subscriber: int):
        self.pod = pod
        self.channel = channel
        self.subscriber = subscriber
        self.compute = pod.compute
        self.env = pod.env
        self.id = pod.id

    @property
    def io_slowdown(self) -> float:
        return self.pod.io_slowdown

    def finish(self, att, status: int, reason: int) -> None:
        att.server_closed = True
        self.channel.processed(self.subscriber, att, status)


class _EventCall:
    """The call of an event's processing: downstream calls carry the id of the
    request that published it."""

    __slots__ = ("request_id",)

    def __init__(self, request_id: int):
        self.request_id = request_id


class Bus:
    """One channel of a service: its spec, programs and per-pod state."""

    def __init__(self, name: str, spec, programs: list[Program], work_samplers: list, counts,
                 warmup_s: float):
        self.name = name
        self.spec = spec
        self.subscribers = list(spec.subscribers)
        self.programs = programs
        self.work = work_samplers
        self.counts = counts
        self.warmup_s = warmup_s
        self.pods: dict[int, PodChannel] = {}

    def of(self, pod) -> "PodChannel":
        pod = getattr(pod, "pod", pod)  # a subscriber goroutine publishes from its pod
        channel = self.pods.get(pod.id)
        if channel is None:
            channel = self.pods[pod.id] = PodChannel(self, pod)
        return channel

    def reset(self, pod) -> None:
        """The pod's container died: its channels and goroutines are gone."""
        channel = self.pods.pop(pod.id, None)
        if channel is not None:
            channel.lose()

    def length(self) -> int:
        """Events held in every pod's channels now."""
        return sum(c.length() for c in self.pods.values())


class PodChannel:
    """One pod's publisher channel, dispatcher and subscribers.

    The dispatcher holds the head event of the publisher channel while it
    fans it out, so the publisher channel takes ``capacity + 1`` events
    before a send blocks (an unbuffered channel, capacity 0, hands an event
    to an idle dispatcher). A subscriber's channel takes an event when a
    goroutine of it is idle (straight into processing) or it holds fewer than
    its capacity.
    """

    def __init__(self, bus: Bus, pod):
        self.bus = bus
        self.pod = pod
        self.main: deque[Event] = deque()
        self.next_subscriber = 0            # the dispatcher's place in its fan-out of main[0]
        self.queues = [deque() for _ in bus.subscribers]
        self.idle = [s.consumers for s in bus.spec.subscribers.values()]
        self.capacity = [s.capacity for s in bus.spec.subscribers.values()]
        self.blocked: deque = deque()       # (attempt, event) of publishers waiting for room
        self.running: dict = {}             # attempt -> event, being processed by a goroutine
        self.alive = True

    def length(self) -> int:
        """Events held: in the publisher channel (the dispatcher's included) and the subscribers'."""
        return len(self.main) + sum(len(q) for q in self.queues)

    # -------------------------------------------------------------- publish
    def publish(self, att) -> bool:
        """A program step: send an event; True if the request blocks."""
        now = self.pod.env._now
        event = Event(att.call.request_id, now, now >= self.bus.warmup_s)
        counts = self.bus.counts
        if event.in_window:
            counts.published += 1
        if len(self.main) <= self.bus.spec.capacity:
            self.main.append(event)
            self._dispatch()
            return False
        if self.bus.spec.on_full == "drop":
            if event.in_window:
                counts.dropped += 1
            return False
        if event.in_window:
            counts.blocked += 1
        self.blocked.append((att, event))
        return True

    # ------------------------------------------------------------- dispatch
    def _dispatch(self) -> None:
        """The dispatcher goroutine: fan out the head event; block on a full subscriber."""
        while self.main and self.alive:
            event = self.main[0]
            while self.next_subscriber < len(self.queues):
                i = self.next_subscriber
                if self.idle[i] > 0 and not self.queues[i]:
                    self._run(i, event)
                elif len(self.queues[i]) < self.capacity[i]:
                    self.queues[i].append(event)
                else:
                    return  # blocked on subscriber i's channel
                self.next_subscriber += 1
            self.main.popleft()
            self.next_subscriber = 0
            self._unblock_publisher()

    def _unblock_publisher(self) -> None:
        if self.blocked and len(self.main) <= self.bus.spec.capacity:
            att, event = self.blocked.popleft()
            self.main.append(event)
            att.program.proceed(att)  # the send completed: the request goes on

    # -------------------------------------------------------------- consume
    def _consume(self, i: int) -> None:
        while self.idle[i] > 0 and self.queues[i] and self.alive:
            self._run(i, self.queues[i].popleft())

    def _run(self, i: int, event: Event) -> None:
        self.idle[i] -= 1
        att = Attempt(_EventCall(event.request_id), 0, self.pod.env._now, INF)
        att.pod = _Goroutine(self.pod, self, i)
        att.arrived_s = att.started_s = att.sent_s
        att.work_s = next(self.bus.work[i])
        self.running[att] = event
        self.bus.programs[i].start(att)

    def processed(self, i: int, att, status: int) -> None:
        """Goroutine ``i`` finished an event: count it, take the next one."""
        event = self.running.pop(att, None)
        if not self.alive or event is None:
            return
        self.idle[i] += 1
        if event.in_window:
            counts = self.bus.counts
            name = self.bus.subscribers[i]
            if status == OK:
                counts.processed[name] += 1
            else:
                counts.failed[name] += 1
        self._consume(i)
        self._dispatch()  # the dispatcher may have been waiting for room here

    def lose(self) -> None:
        """The container died: what the channels held and the goroutines were
        processing is lost; blocked publishers die with their requests (the
        pod's kill answers them)."""
        self.alive = False
        for att in self.running:
            att.halt = True  # its next step ends it (io timers, downstream answers)
        held = list(self.main) + [e for q in self.queues for e in q] + list(self.running.values())
        self.bus.counts.lost += sum(1 for e in held if e.in_window)
        self.main.clear()
        for q in self.queues:
            q.clear()
        self.running.clear()
        self.blocked.clear()


def publish_step(bus: Bus):
    """A program step sending to ``bus`` on the attempt's pod (blocks when full)."""
    def step(att) -> bool:
        return bus.of(att.pod).publish(att)
    return step

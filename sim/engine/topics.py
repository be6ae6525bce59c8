"""Topics on a broker: what a publish appends, and what each consumer group
is handed next.

A topic is a callee like a service (``index``, ``name``, ``receive``): a
publish is an attempt that the broker answers at once (acknowledged, or
refused beyond ``capacity``), the network hop on each side being the call
site's. Consumers are :class:`~sim.engine.consumer.Consumer` objects, one
per consuming service, whose pods join and leave as their app starts,
crashes and stops; the topic hands each a message when it has room.

- :class:`KafkaTopic`: partitions; per group (:class:`KafkaGroup`) an
  assignment of partitions to members (Range, or cooperative-sticky), at
  most one message in flight per partition (order kept), offsets committed
  after processing (or every ``auto_commit_interval``); a rebalance pauses
  the group (eager) or the moved partitions (cooperative); a crashed member
  keeps its partitions until the session timeout, then they restart from the
  last commit (at-least-once: redeliveries). A failed message is retried in
  place (Spring Kafka's DefaultErrorHandler: seek back) up to
  ``MAX_ATTEMPTS`` times, then skipped (dead-lettered).
- :class:`QueueTopic`: competing consumers (SQS): a received message is
  invisible for the visibility timeout; unacknowledged by then it is visible
  again; received more than ``max_receive_count`` times it moves to the
  dead-letter queue.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from typing import Optional

from ..policies.partitions import moved_partitions, range_assignment, sticky_assignment
from ..status import CANCELLED, FAILURE_CODES, NONE, OK, REJECTED, TIMEOUT, TOPIC_FULL

MAX_ATTEMPTS = 10
"""Deliveries of one Kafka message before it is skipped (Spring Kafka's
DefaultErrorHandler: FixedBackOff(0, 9), ten attempts)."""


class Message:
    """One published message (per group in Kafka: each group reads its own copy's state)."""

    __slots__ = ("id", "topic", "partition", "offset", "published_s", "receives", "acked",
                 "in_window", "visible_at")

    def __init__(self, msg_id: int, topic, partition: int, offset: int, published_s: float,
                 in_window: bool):
        self.id = msg_id
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.published_s = published_s
        self.receives = 0
        self.acked = False
        self.in_window = in_window
        self.visible_at = published_s


class Topic(ABC):
    """What every topic is to its callers: a callee that appends. A kind of
    topic says how it stores a message (``_append``) and what it holds
    unconsumed (``backlog``)."""

    def __init__(self, index: int, name: str, spec, clock, log, warmup_s: float):
        self.index = index
        self.name = name
        self.spec = spec
        self.clock = clock
        self.env = clock.env
        self.log = log                # the messages log (deliveries, dead letters)
        self.warmup_s = warmup_s
        self.outlier = None
        self.edges: list = []
        self.published = 0            # in the measured window
        self.dead_lettered = 0        # of messages published in the window
        self.capacity = spec.capacity
        self.dead_letter: Optional["Topic"] = None
        self.next_id = None           # shared message id counter, set by the model

    def receive(self, att) -> None:
        """A publish arrives: append, answer ``ok`` (or refuse when full)."""
        now = self.env._now
        att.arrived_s = now
        if att.halt:
            att.call.respond(att, TIMEOUT, CANCELLED)
            return
        if self.capacity is not None and self.backlog() >= self.capacity:
            att.code = FAILURE_CODES["resource_exhausted"]
            att.call.respond(att, REJECTED, TOPIC_FULL)
            return
        att.started_s = att.done_s = now
        self.publish(now)
        att.call.respond(att, OK, NONE)

    def publish(self, now: float) -> Message:
        in_window = now >= self.warmup_s
        if in_window:
            self.published += 1
        return self._append(next(self.next_id), now, in_window)

    @abstractmethod
    def _append(self, msg_id: int, now: float, in_window: bool) -> Message:
        """Store a new message (published, or moved here as a dead letter)."""

    @abstractmethod
    def backlog(self) -> int:
        """Messages held unconsumed (by the slowest group): what ``capacity`` bounds."""

    def _dead_letter(self, msg: Message, now: float) -> None:
        if msg.in_window:
            self.dead_lettered += 1
        self.log.dead_letter(msg, self.index, now)
        if self.dead_letter is not None:
            self.dead_letter._append(msg.id, now, msg.in_window)


# ----------------------------------------------------------------------------- Kafka
class KafkaTopic(Topic):
    """A Kafka topic: partitioned log; each group consumes every message."""

    def __init__(self, index, name, spec, clock, log, warmup_s, uniforms):
        super().__init__(index, name, spec, clock, log, warmup_s)
        self.logs: list[list[Message]] = [[] for _ in range(spec.partitions)]
        self.groups: dict[str, KafkaGroup] = {}
        self._turn = 0
        self._uniforms = uniforms

    def group(self, name: str) -> "KafkaGroup":
        if name not in self.groups:
            self.groups[name] = KafkaGroup(self, name)
        return self.groups[name]

    def _partition(self) -> int:
        count = len(self.logs)
        if self.spec.producer == "keyed":
            return min(int(next(self._uniforms) * count), count - 1)
        p = self._turn
        self._turn = (p + 1) % count
        return p

    def _append(self, msg_id, now, in_window) -> Message:
        p = self._partition()
        log = self.logs[p]
        msg = Message(msg_id, self, p, len(log), now, in_window)
        log.append(msg)
        for group in self.groups.values():
            group.published(p)
        return msg

    def backlog(self) -> int:
        return max((g.lag() for g in self.groups.values()), default=0)


class KafkaGroup:
    """One consumer group of a Kafka topic.

    Invariants: a partition has at most one owner and at most one message in
    flight; ``committed[p] <= position[p] <= len(log p)``; nothing is
    delivered from a paused partition or by a dead member.
    """

    def __init__(self, topic: KafkaTopic, name: str):
        self.topic = topic
        self.name = name
        self.clock = topic.clock
        count = len(topic.logs)
        self.committed = [0] * count
        self.processed = [0] * count      # next offset after the last processed (auto-commit)
        self.position = [0] * count
        self.in_flight: list[Optional[Message]] = [None] * count
        self.attempts = [0] * count       # deliveries of the message at ``position`` so far
        self.owner: list = [None] * count
        self.paused_until = [0.0] * count
        self.members: dict[str, object] = {}   # member id -> Consumer-side member (a pod)
        self.dead: set[str] = set()
        self.assignment: dict[str, list[int]] = {}
        self.consumer = None              # the Consumer that delivers to pods
        self.processed_upto = [0] * count  # offsets below were processed ok at least once
        self._deliveries: dict = {}       # message -> deliveries to this group (above the commit)
        self._pending: deque[str] = deque()
        self._feeding = False
        if topic.spec.auto_commit_interval is not None:
            self.clock.call_in(topic.spec.auto_commit_interval, self._auto_commit, None)

    # ------------------------------------------------------------ membership
    def join(self, member_id: str, pod) -> None:
        self.members[member_id] = pod
        self.dead.discard(member_id)
        self._rebalance()

    def leave(self, member_id: str) -> None:
        if self.members.pop(member_id, None) is not None:
            self.dead.discard(member_id)
            self._rebalance()

    def crash(self, member_id: str) -> None:
        """The member's process died: its partitions wait for the session timeout."""
        if member_id not in self.members:
            return
        self.dead.add(member_id)
        for p, owner in enumerate(self.owner):
            if owner == member_id:
                self.position[p] = self.committed[p]  # redeliver from the last commit
        self.clock.call_in(self.topic.spec.session_timeout, self._expire, member_id)

    def _expire(self, member_id: str) -> None:
        if member_id in self.dead:
            self.members.pop(member_id, None)
            self.dead.discard(member_id)
            self._rebalance()

    def _rebalance(self) -> None:
        spec = self.topic.spec
        count = len(self.topic.logs)
        ids = sorted(self.members)
        before = self.assignment
        if spec.rebalance == "cooperative":
            after = sticky_assignment(count, ids, before)
            paused = moved_partitions(before, after)
        else:
            after = range_assignment(count, ids)
            paused = set(range(count))
        for p, owner in enumerate(self.owner):  # a live member commits what it processed
            if owner is not None and owner not in self.dead:
                self.committed[p] = max(self.committed[p], min(self.processed[p], self.position[p]))
        self.assignment = after
        now = self.clock.now
        for p in range(count):
            self.owner[p] = None
        for member_id, parts in after.items():
            for p in parts:
                self.owner[p] = member_id
        until = now + spec.rebalance_pause
        for p in paused:
            self.paused_until[p] = until
            if self.in_flight[p] is None:
                self.position[p] = self.committed[p]
        if spec.rebalance_pause > 0:
            self.clock.call_at(until, self._resume, None)
        else:
            self._resume(None)

    def _resume(self, _unused) -> None:
        for member_id in list(self.members):
            self._feed(member_id)

    # ------------------------------------------------------------- delivery
    def published(self, p: int) -> None:
        owner = self.owner[p]
        if owner is not None:
            self._feed(owner)

    def _feed(self, member_id: str) -> None:
        """Hand the member messages of its partitions while it has room.
        Re-entrant calls (a delivery that ends at once) queue the member for
        the outer loop, so a fast-failing consumer never recurses."""
        self._pending.append(member_id)
        if self._feeding:
            return
        self._feeding = True
        try:
            while self._pending:
                self._feed_one(self._pending.popleft())
        finally:
            self._feeding = False

    def _feed_one(self, member_id: str) -> None:
        if member_id in self.dead or member_id not in self.members or self.consumer is None:
            return
        pod = self.members[member_id]
        now = self.clock.now
        for p in self.assignment.get(member_id, ()):
            if not self.consumer.has_room(pod):
                return
            log = self.topic.logs[p]
            if self.in_flight[p] is None and self.position[p] < len(log) \
                    and self.paused_until[p] <= now:
                msg = log[self.position[p]]
                self.in_flight[p] = msg
                self.attempts[p] += 1
                number = self._deliveries.get(msg, 0) + 1  # retries in place and after a crash
                self._deliveries[msg] = number
                self.consumer.deliver(self, msg, pod, number, member_id)

    def done(self, msg: Message, member_id: str, ok: bool, now: float) -> bool:
        """A delivery ended at the consumer (``ok``: processed, else failed);
        True if it acknowledged the message."""
        p = msg.partition
        if self.in_flight[p] is not msg:
            return False
        self.in_flight[p] = None
        if member_id in self.dead:  # crashed meanwhile: the partition restarts from the commit
            return False
        first_ack = ok and msg.offset >= self.processed_upto[p]  # not a redelivery's second success
        if ok or self.attempts[p] >= MAX_ATTEMPTS:
            if not ok and msg.offset >= self.processed_upto[p]:
                self.topic._dead_letter(msg, now)
            self.attempts[p] = 0
            self.processed[p] = msg.offset + 1
            self.processed_upto[p] = max(self.processed_upto[p], msg.offset + 1)
            if self.topic.spec.auto_commit_interval is None:
                self.committed[p] = msg.offset + 1
                self._deliveries.pop(msg, None)
            self.position[p] = msg.offset + 1
        else:
            self.position[p] = msg.offset  # seek back: retry it in place
        if self.owner[p] is not None:
            self._feed(self.owner[p])
        return first_ack

    def _auto_commit(self, _unused) -> None:
        self.committed = [max(c, min(done, pos)) for c, done, pos in
                          zip(self.committed, self.processed, self.position)]
        committed = self.committed
        self._deliveries = {m: n for m, n in self._deliveries.items()
                            if m.offset >= committed[m.partition]}  # never delivered again
        self.clock.call_in(self.topic.spec.auto_commit_interval, self._auto_commit, None)

    # --------------------------------------------------------------- metrics
    def lag(self) -> int:
        """Messages not yet committed, over the partitions (Kafka's consumer lag)."""
        return sum(len(log) - c for log, c in zip(self.topic.logs, self.committed))

    def partition_lags(self) -> list[int]:
        return [len(log) - c for log, c in zip(self.topic.logs, self.committed)]

    def oldest_age_s(self, now: float) -> float:
        """Age of the oldest uncommitted message (0 without one)."""
        ages = [now - log[c].published_s for log, c in zip(self.topic.logs, self.committed)
                if c < len(log)]
        return max(ages, default=0.0)


# ----------------------------------------------------------------------------- queue
class QueueTopic(Topic):
    """A queue with competing consumers, a visibility timeout and a DLQ.

    Every consumer of a queue competes for the same messages, whatever its
    group: the queue is one group (its consumers are listed in ``consumers``).
    """

    def __init__(self, index, name, spec, clock, log, warmup_s, delays):
        super().__init__(index, name, spec, clock, log, warmup_s)
        self.visible: deque[Message] = deque()
        self.pending: dict[int, Message] = {}  # neither acked nor dead-lettered, oldest first
        self.consumers: list = []
        self._members = None      # (consumer, pod) of every member, in rotation order
        self._feeding = False
        self._delays = delays
        self._turn = 0
        self.name_for_group = name

    def _append(self, msg_id, now, in_window) -> Message:
        msg = Message(msg_id, self, -1, 0, now, in_window)
        self.pending[msg.id] = msg
        delay = next(self._delays)
        if delay > 0:
            msg.visible_at = now + delay
            self.clock.call_in(delay, self._show, msg)
        else:
            self._show(msg)
        return msg

    def _show(self, msg: Message) -> None:
        if msg.acked:
            return
        self.visible.append(msg)
        self.feed()

    def backlog(self) -> int:
        return len(self.pending)

    def feed(self) -> None:
        """Hand visible messages to members with room, in turn. Re-entrant
        calls (a delivery that ends at once) leave the work to the outer loop."""
        if self._feeding:
            return
        self._feeding = True
        try:
            self._feed_all()
        finally:
            self._feeding = False

    def _feed_all(self) -> None:
        while self.visible:
            member = self._next_member()
            if member is None:
                return
            consumer, pod = member
            msg = self.visible.popleft()
            if msg.acked:
                continue
            now = self.clock.now
            msg.receives += 1
            limit = self.spec.max_receive_count
            if limit is not None and msg.receives > limit:
                del self.pending[msg.id]
                msg.acked = True  # gone from this queue
                self._dead_letter(msg, now)
                continue
            self.clock.call_in(self.spec.visibility_timeout, self._reappear, (msg, msg.receives))
            consumer.deliver(self, msg, pod, msg.receives, None)

    def join(self, member_id: str, pod) -> None:
        """A consumer pod listens: it competes for the visible messages."""
        self._members = None  # rebuilt at the next feed
        self.feed()

    def crash(self, member_id: str) -> None:
        """A member died: its messages come back after their visibility timeout."""
        self._members = None

    def leave(self, member_id: str) -> None:
        self._members = None

    def _next_member(self):
        """The next member with room, in turn (round robin over every member)."""
        members = self._members
        if members is None:
            members = self._members = [(c, pod) for c in self.consumers for pod in c.serving_pods()]
        count = len(members)
        for _ in range(count):
            self._turn = (self._turn + 1) % count
            consumer, pod = members[self._turn]
            if consumer.has_room(pod):
                return consumer, pod
        return None

    def _reappear(self, arg) -> None:
        msg, receive = arg
        if msg.acked or msg.receives != receive:
            return
        self.visible.append(msg)
        self.feed()

    def done(self, msg: Message, member_id, ok: bool, now: float) -> bool:
        """A delivery ended; True if it acknowledged the message (the first ok)."""
        acked = ok and not msg.acked
        if acked:
            msg.acked = True
            del self.pending[msg.id]
        self.feed()
        return acked

    def lag(self) -> int:
        """Messages in the queue, ready and unacknowledged (RabbitMQ's count)."""
        return len(self.pending)

    def ready(self) -> int:
        """Messages visible now (waiting for a consumer)."""
        return sum(1 for m in self.visible if not m.acked)

    def oldest_age_s(self, now: float) -> float:
        """Age of the oldest message not yet acknowledged (0 without one)."""
        for msg in self.pending.values():
            return now - msg.published_s
        return 0.0

"""A consumer service: its pods take messages from a topic and process each
like a request (worker pool, CPU, downstream calls with their policies).

A pod is a member from the moment its app listens until it stops: it joins
(a Kafka group rebalances), it crashes with its container (Kafka: its
partitions wait for the session timeout; a queue's messages wait for their
visibility timeout), it leaves when it starts terminating (Kafka: a graceful
LeaveGroup). A member takes messages while it has fewer than
``concurrency`` in flight. A processing that ends ``ok`` acknowledges the
message; anything else (an error, a pod killed, a downstream failure) does
not.
"""
from __future__ import annotations

from ..status import OK
from .messages import INF, Attempt


class Delivery:
    """The caller's side of one delivery: what :class:`~.messages.Attempt`
    reports to when its processing at the pod ends."""

    __slots__ = ("consumer", "source", "message", "member_id", "delivered_s", "request_id")

    def __init__(self, consumer: "Consumer", source, message, member_id, delivered_s: float):
        self.consumer = consumer
        self.source = source
        self.message = message
        self.member_id = member_id
        self.delivered_s = delivered_s
        self.request_id = -1 - message.id  # downstream calls of a message: negative ids

    def respond(self, att, status: int, reason: int) -> None:
        if att.server_closed:
            return
        att.server_closed = True
        self.consumer.finished(self, att, status, reason)


class Consumer:
    """The pods of one consuming service, as members of ``source`` (a
    :class:`~.topics.KafkaGroup` or a :class:`~.topics.QueueTopic`)."""

    def __init__(self, service, source, concurrency: int, group_code: int, clock, log):
        self.service = service
        self.source = source
        self.concurrency = concurrency
        self.group_code = group_code
        self.clock = clock
        self.log = log
        self.in_flight: dict[int, int] = {}
        self.members: dict[int, object] = {}

    @staticmethod
    def member_id(pod) -> str:
        return f"{pod.name}#{pod.container}"

    # ------------------------------------------------------------ membership
    def join(self, pod) -> None:
        """The pod's app listens: it becomes a member."""
        self.members[pod.id] = pod
        self.in_flight.setdefault(pod.id, 0)
        self.source.join(self.member_id(pod), pod)

    def crash(self, pod) -> None:
        """The pod's container dies (before its in-flight work is killed)."""
        if self.members.pop(pod.id, None) is None:
            return
        self.source.crash(self.member_id(pod))

    def leave(self, pod) -> None:
        """The pod stops taking messages (terminating): a graceful leave."""
        if self.members.pop(pod.id, None) is None:
            return
        self.source.leave(self.member_id(pod))

    def backlog(self, now: float) -> tuple[float, float]:
        """``(lag, oldest_age_s)`` of the group this consumer belongs to."""
        return float(self.source.lag()), float(self.source.oldest_age_s(now))

    def serving_pods(self) -> list:
        return list(self.members.values())

    def has_room(self, pod) -> bool:
        return pod.id in self.members and self.in_flight.get(pod.id, 0) < self.concurrency

    # -------------------------------------------------------------- delivery
    def deliver(self, source, message, pod, delivery_no: int, member_id) -> None:
        """Run ``message`` on ``pod`` as its ``delivery_no``-th delivery."""
        now = self.clock.env._now
        att = Attempt(Delivery(self, source, message, member_id, now), delivery_no, now, INF)
        service = self.service
        att.arrived_s = now
        att.work_s = next(service._work)
        att.program = service.program
        self.in_flight[pod.id] = self.in_flight.get(pod.id, 0) + 1
        pod.arrivals += 1
        pod.accept(att)

    def finished(self, delivery: Delivery, att, status: int, reason: int) -> None:
        """The processing ended: free the pod's slot, tell the source, log the delivery."""
        now = self.clock.env._now
        pod = att.pod
        if pod is not None and pod.id in self.in_flight:
            self.in_flight[pod.id] -= 1
        acked = delivery.source.done(delivery.message, delivery.member_id, status == OK, now)
        self.log.delivery(delivery.message, self.group_code, att, delivery.delivered_s, now,
                          status, reason, acked)

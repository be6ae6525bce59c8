"""Deliveries of messages to consumers: the ``messages`` table and its tallies.

One row per delivery attempt (a message handed to a consumer pod), written
when its processing ends: which message, topic and consumer group, the
partition (-1 for a queue), the delivery number (1 for the first), the pod,
when the message was published, delivered and when its processing ended,
the status and reason of the processing, and whether this delivery
acknowledged the message (``acked``: processed ok, the first to). Rows are
kept at ``record: full`` and handed over in chunks otherwise, like calls.

:class:`GroupTally`: per consumer group, over messages *published* in the
measured window: deliveries, acknowledgements, redeliveries, end-to-end
latency (publish to acknowledgement) and the wait before the first delivery.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..status import OK
from .columns import ColumnGroup
from .logs import ChunkedRows


class MessageLog(ChunkedRows):
    """Delivery rows: three column groups, bound once (see :class:`~.logs.CallLog`)."""

    def __init__(self, sink: Optional[Callable[[dict], None]] = None, chunk_rows: int = 1 << 16):
        self.ints = ColumnGroup("q", ("message_id", "topic", "group", "partition", "delivery", "pod"))
        self.times = ColumnGroup("d", ("published_s", "delivered_s", "ended_s"))
        self.codes = ColumnGroup("b", ("status", "reason", "acked"))
        self._ints, self._times, self._codes = self.ints.buffer, self.times.buffer, self.codes.buffer
        self._sink = sink
        self._chunk = chunk_rows
        self.dead_letters: dict[int, int] = {}   # topic index -> messages of the window dead-lettered

    def delivery(self, message, group: int, att, delivered_s: float, ended_s: float,
                 status: int, reason: int, acked: bool) -> None:
        pod = att.pod
        self._ints.extend((message.id, message.topic.index, group, message.partition, att.no,
                           pod.id if pod is not None else -1))
        self._times.extend((message.published_s, delivered_s, ended_s))
        self._codes.extend((status, reason, 1 if acked else 0))
        if self._sink is not None and len(self) >= self._chunk:
            self.hand_over()

    def dead_letter(self, message, topic_index: int, now: float) -> None:
        """A message left its topic for the dead-letter queue (or was dropped
        without one): counted for its topic when published in the window."""
        if message.in_window:
            self.dead_letters[topic_index] = self.dead_letters.get(topic_index, 0) + 1

    def to_numpy(self) -> dict[str, np.ndarray]:
        out = self.ints.to_numpy()
        out.update(self.times.to_numpy())
        out.update(self.codes.to_numpy())
        return out


class GroupTally:
    """Deliveries to one consumer group (``code``) of messages published in
    ``[start_s, end_s)``."""

    def __init__(self, code: int, start_s: float, end_s: float, distribution: Callable):
        self.code = code
        self.start_s, self.end_s = start_s, end_s
        self.delivered = 0
        self.acked = 0
        self.redelivered = 0
        self.failed = 0
        self.end_to_end = distribution()
        self.wait_sum = 0.0
        self.first_deliveries = 0

    def add(self, rows: dict) -> None:
        published = rows["published_s"]
        sel = (rows["group"] == self.code) & (published >= self.start_s) & (published < self.end_s)
        if not sel.any():
            return
        acked = rows["acked"][sel] == 1
        delivery = rows["delivery"][sel]
        self.delivered += int(sel.sum())
        self.acked += int(acked.sum())
        self.redelivered += int((delivery > 1).sum())
        self.failed += int((rows["status"][sel] != OK).sum())
        self.end_to_end.add((rows["ended_s"][sel] - published[sel])[acked])
        first = delivery == 1
        self.wait_sum += float((rows["delivered_s"][sel] - published[sel])[first].sum())
        self.first_deliveries += int(first.sum())

    def wait_mean(self) -> Optional[float]:
        return self.wait_sum / self.first_deliveries if self.first_deliveries else None


class ChannelCounts:
    """What happened to the events of one channel published in the measured
    window (the recorder owns these; the engine counts into them:
    :mod:`sim.engine.channels`)."""

    __slots__ = ("published", "dropped", "blocked", "lost", "processed", "failed")

    def __init__(self, subscribers):
        self.published = self.dropped = self.blocked = self.lost = 0
        self.processed = dict.fromkeys(subscribers, 0)
        self.failed = dict.fromkeys(subscribers, 0)

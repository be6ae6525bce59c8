"""Append-only logs of one run: requests, calls (attempts), events, samples.

Written by the engine through a few methods; read once at the end as numpy
arrays. Memory per record: a request 29 bytes; an attempt on a hop 71 bytes.
"""
from __future__ import annotations

from array import array
from typing import Callable, Iterable, Optional

import numpy as np

from ..status import DERIVED_CODES, EVENT_KINDS, NO_POD, UNFINISHED
from .columns import ColumnGroup


_DERIVED = np.array(DERIVED_CODES, dtype=np.int8)


class DuplicateLog:
    """Logical calls a callee processed (answered ``ok``) a second time: one
    row per such call, at the time of the second. ``service``: the callee's
    index (a service or an external); ``site``: the code of the call's
    ``name`` (-1: unnamed)."""

    __slots__ = ("t_s", "service", "site")

    def __init__(self):
        self.t_s = array("d")
        self.service = array("i")
        self.site = array("i")

    def append(self, service: int, site: int, t_s: float) -> None:
        self.service.append(service)
        self.site.append(site)
        self.t_s.append(t_s)

    def count(self, start_s: float, end_s: float, *, service: int = None, site: int = None) -> int:
        """Duplicates in ``[start_s, end_s)`` at ``service`` or of call ``site``."""
        return sum(1 for svc, st, t in zip(self.service, self.site, self.t_s)
                   if start_s <= t < end_s and (service is None or svc == service)
                   and (site is None or st == site))


class RequestLog:
    """External requests, indexed by request id (ids are dense, from 0).

    An arrival appends its time and workload; an ending appends
    ``(id, end, status, attempts)``. Requests that never ended are
    ``unfinished`` (still in flight when the run stopped).
    """

    __slots__ = ("arrival_s", "workload", "ended_ids", "end_s", "status", "attempts")

    def __init__(self):
        self.arrival_s = array("d")
        self.workload = array("h")
        self.ended_ids = array("q")
        self.end_s = array("d")
        self.status = array("b")
        self.attempts = array("H")

    def arrive(self, workload: int, now: float) -> int:
        """Register an arrival; return its request id."""
        rid = len(self.arrival_s)
        self.arrival_s.append(now)
        self.workload.append(workload)
        return rid

    def end(self, rid: int, now: float, status: int, attempts: int, workload: int) -> float:
        """Register the end of request ``rid`` (of ``workload``); return its arrival time."""
        self.ended_ids.append(rid)
        self.end_s.append(now)
        self.status.append(status)
        self.attempts.append(attempts if attempts < 65535 else 65535)
        return self.arrival_s[rid]

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def nbytes(self) -> int:
        return sum(len(a) * a.itemsize for a in (self.arrival_s, self.workload, self.ended_ids,
                                                  self.end_s, self.status, self.attempts))

    def to_numpy(self) -> dict[str, np.ndarray]:
        n = len(self)
        ids = np.frombuffer(self.ended_ids, dtype=np.int64) if len(self.ended_ids) else \
            np.empty(0, dtype=np.int64)
        end_s = np.full(n, np.nan)
        status = np.full(n, UNFINISHED, dtype=np.int8)
        attempts = np.zeros(n, dtype=np.uint16)
        end_s[ids] = np.frombuffer(self.end_s, dtype=float) if len(ids) else []
        status[ids] = np.frombuffer(self.status, dtype=np.int8) if len(ids) else []
        attempts[ids] = np.frombuffer(self.attempts, dtype=np.uint16) if len(ids) else []
        return {"request_id": np.arange(n, dtype=np.int64),
                "arrival_s": np.array(self.arrival_s, dtype=float),
                "end_s": end_s, "workload": np.array(self.workload, dtype=np.int16),
                "status": status, "attempts": attempts}


class ChunkedRows:
    """Rows in three column groups (``ints``, ``times``, ``codes``, with three
    codes a row), handed to a ``sink`` in chunks at ``record: summary`` and
    ``sample`` (:meth:`hand_over`), or kept (no sink, ``full``). Subclasses
    define the groups, bind ``_ints``/``_times``/``_codes`` to their buffers
    and build the chunk (:meth:`to_numpy`)."""

    __slots__ = ()

    def hand_over(self) -> None:
        """Give the rows written so far to the sink and drop them (no sink: keep them)."""
        if self._sink is None or not len(self._codes):
            return
        chunk = self.to_numpy()
        for column in (self._ints, self._times, self._codes):
            del column[:]
        self._sink(chunk)

    def __len__(self) -> int:
        return len(self._codes) // 3

    @property
    def nbytes(self) -> int:
        return self.ints.nbytes + self.times.nbytes + self.codes.nbytes


class CallLog(ChunkedRows):
    """Attempts on every hop, one row each, written once both sides have closed.

    An attempt has two sides, each closed exactly once: the caller's (it got
    an answer, timed out, gave up, or never sent) and the server's (its work
    there is over: served, rejected, failed, killed). The engine says which
    side closed through :meth:`close_caller`, :meth:`close_server` or
    :meth:`close_unsent`; whichever call closes the second side writes the
    row, so a row is written exactly once, with the caller's view of the
    status. Attempts still open when the run ends are flushed with status
    ``unfinished`` (:meth:`flush_open`).

    A row is three ``extend`` calls: the request id rides with the times as a
    double (exact below 2**53) and the buffers are bound once. At ``record:
    summary`` and ``sample`` the rows are handed over in chunks
    (:meth:`hand_over`); the request stream checks the size once a request,
    not here once a row (:class:`sim.record.request_stream.RequestStream`).
    """

    __slots__ = ("ints", "times", "codes", "_ints", "_times", "_codes", "_open", "opened", "_sink")

    TIME_COLUMNS = ("sent_s", "arrived_s", "started_s", "done_s", "ended_s")

    def __init__(self, sink: Optional[Callable[[dict], None]] = None):
        """``sink``: where :meth:`hand_over` gives the rows (``record: summary``
        and ``sample``); without one every row is kept (``full``)."""
        self.ints = ColumnGroup("i", ("caller", "service", "attempt", "pod", "endpoint"))
        self.times = ColumnGroup("d", ("request_id", *self.TIME_COLUMNS))
        self.codes = ColumnGroup("b", ("status", "reason", "code"))
        self._ints, self._times, self._codes = self.ints.buffer, self.times.buffer, self.codes.buffer
        self._open: dict = {}
        self.opened = self._open.setdefault
        """Register an open attempt (``dict.setdefault``, bound once; the dict keeps
        insertion order, so attempts still open at the end flush deterministically)."""
        self._sink = sink

    def close_caller(self, att, ended_s: float) -> None:
        """The caller stops waiting for ``att`` at ``ended_s``; ``att.status`` and
        ``att.reason`` say what it saw. Writes the row if the server side is
        closed too. A second close of the caller side does nothing."""
        if att.caller_closed:
            return
        att.ended_s = ended_s
        att.caller_closed = True
        if att.server_closed:  # _write_row, inlined: this is how almost every row is written
            self._open.pop(att, None)
            call, pod = att.call, att.pod
            site = call.site
            self._ints.extend((site.caller_index, site.service_index, att.no,
                               pod.id if pod is not None else NO_POD, call.endpoint))
            self._times.extend((call.request_id, att.sent_s, att.arrived_s, att.started_s,
                                att.done_s, ended_s))
            self._codes.extend((att.status, att.reason, att.code))

    def close_server(self, att) -> None:
        """The server side of ``att`` is over (its status and reason are set).
        Writes the row if the caller had already stopped waiting (nobody will
        receive the answer). A second close of the server side does nothing."""
        if att.server_closed:
            return
        att.server_closed = True
        if att.caller_closed:
            self._write_row(att)

    def close_unsent(self, att, ended_s: float) -> None:
        """``att`` never reached a server (refused by the caller's own policy,
        or dropped while waiting for a bulkhead permit): both sides close at
        ``ended_s`` and the row is written now."""
        if att.caller_closed:
            return
        att.ended_s = ended_s
        att.caller_closed = att.server_closed = True
        self._write_row(att)

    def _write_row(self, att) -> None:
        """Append the row of an attempt whose both sides are closed."""
        self._open.pop(att, None)
        call, pod = att.call, att.pod
        site = call.site
        self._ints.extend((site.caller_index, site.service_index, att.no,
                           pod.id if pod is not None else NO_POD, call.endpoint))
        self._times.extend((call.request_id, att.sent_s, att.arrived_s, att.started_s, att.done_s,
                            att.ended_s))
        self._codes.extend((att.status, att.reason, att.code))

    def flush_open(self) -> int:
        """Write every attempt still open as ``unfinished``; return how many."""
        pending = list(self._open)
        for att in pending:
            if not att.caller_closed:
                att.status = UNFINISHED  # else keep what the caller saw (e.g. timeout)
            self._write_row(att)
        return len(pending)

    def to_numpy(self) -> dict[str, np.ndarray]:
        times = self.times.to_numpy()
        out = {"request_id": times.pop("request_id").astype(np.int64)}
        out.update(self.ints.to_numpy())
        out.update(times)
        codes = self.codes.to_numpy()
        derive = codes["code"] < 0  # the code its status and reason imply (sim.status.derived_code)
        if derive.any():
            codes["code"][derive] = _DERIVED[codes["status"][derive].astype(np.intp),
                                             codes["reason"][derive].astype(np.intp)]
        out.update(codes)
        return out


class EventLog:
    """Rare events (pod lifecycle, scaling, breaker, faults) with a text detail."""

    __slots__ = ("t_s", "service", "pod", "kind", "detail")

    def __init__(self):
        self.t_s = array("d")
        self.service = array("i")
        self.pod = array("i")
        self.kind: list[str] = []
        self.detail: list[str] = []

    def append(self, t_s: float, service: int, pod: int, kind: str, detail: str = "") -> None:
        """Record one event; ``kind`` must be one of :data:`sim.status.EVENT_KINDS`
        (``pod`` is :data:`~sim.status.NO_POD` for a service- or cluster-wide event)."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}: add it to sim.status.EVENT_KINDS")
        self.t_s.append(t_s)
        self.service.append(service)
        self.pod.append(pod)
        self.kind.append(kind)
        self.detail.append(detail)

    def __len__(self) -> int:
        return len(self.t_s)

    def rows(self) -> Iterable[tuple]:
        return zip(self.t_s, self.service, self.pod, self.kind, self.detail)


class SampleLog:
    """Levels sampled every ``sample_interval`` per service (time series)."""

    FIELDS = ("replicas", "ready_replicas", "desired_replicas", "queue_length", "in_flight",
              "cpu_used_s", "running_pods", "breakers_open", "breakers_half_open",
              "throttled_periods", "throttled_s", "lag", "oldest_age_s", "channel_length")

    __slots__ = ("t_s", "service", "values")

    def __init__(self):
        self.t_s = array("d")
        self.service = array("i")
        self.values = ColumnGroup("d", self.FIELDS)

    def append(self, t_s: float, service: int, values: tuple) -> None:
        self.t_s.append(t_s)
        self.service.append(service)
        self.values.buffer.extend(values)

    def to_numpy(self) -> dict[str, np.ndarray]:
        out = {"t_s": np.array(self.t_s, dtype=float), "service": np.array(self.service, dtype=np.int32)}
        out.update(self.values.to_numpy())
        return out

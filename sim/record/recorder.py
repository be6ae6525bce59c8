"""Every log and running total of one run, at its recording level (``record``).

The engine writes through the logs (``requests``, ``calls``, ``events``,
``samples``); what the summary and the time series are computed from is the
tallies (:mod:`sim.record.tallies`, :mod:`sim.record.series`), fed in chunks:

- ``full``: the logs keep every row; :meth:`Recorder.finish` feeds the whole
  tables to the tallies once, with exact distributions. The ``requests`` and
  ``calls`` tables hold everything.
- ``summary``: the logs hand every :data:`CHUNK_ROWS` rows to the tallies
  (sketched distributions) and drop them. No tables; memory does not grow
  with the number of requests.
- ``sample``: as ``summary``, and the rows of a deterministic 1-in-N sample
  of requests (:func:`is_sampled`) and of every request that did not end
  ``ok`` are kept, with all their attempts (:class:`RowSample`).
"""
from __future__ import annotations

from functools import cached_property
from typing import Optional

import numpy as np

from ..status import OK, UNFINISHED
from .distribution import ExactValues, Sketch
from .logs import CallLog, DuplicateLog, EventLog, RequestLog, SampleLog
from .functions import FunctionTally
from .messages import ChannelCounts, GroupTally, MessageLog
from .request_stream import RequestStream
from .series import SeriesTally, sample_times_s
from .tallies import RequestTally, ServiceTally
from .windows import measurement_windows

CHUNK_ROWS = 1 << 16
"""Rows (requests, or attempts) handed over at a time at ``summary`` and
``sample``: a few MB of buffer, and numpy work amortised over many rows."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def is_sampled(request_ids: np.ndarray, one_in: int) -> np.ndarray:
    """Which requests are in the 1-in-``one_in`` sample: a multiplicative
    (Fibonacci) hash of the id, so the sample does not follow arrival order,
    workloads or round-robin balancing; the same ids give the same sample."""
    with np.errstate(over="ignore"):
        mixed = (request_ids.astype(np.uint64) * _GOLDEN) >> np.uint64(32)
    return mixed % np.uint64(one_in) == 0


def workload_codes(scenario) -> dict[str, int]:
    """Workload name -> its code in the request log (the model numbers services
    first, then workloads, in file order)."""
    first = len(scenario.services)
    return {name: first + i for i, name in enumerate(scenario.workload)}


class RowSample:
    """The rows kept at ``record: sample``: sampled requests and failed ones,
    with every attempt of theirs.

    A request's attempts may be written before it ends (held as pending
    until it does) or after (an abandoned attempt the server finishes
    later: kept if its request was kept)."""

    def __init__(self, one_in: int, in_flight):
        self.one_in = one_in
        self._in_flight = in_flight          # () -> ids of requests still in flight
        self._failed: set[int] = set()       # ended not ok and not in the sample
        self.requests: list[dict] = []
        self.calls: list[dict] = []
        self._pending: Optional[dict] = None

    def take_requests(self, req: dict) -> None:
        sampled = is_sampled(req["request_id"], self.one_in)
        status = req["status"]
        failed = (status != OK) & (status != UNFINISHED)
        self._failed.update(req["request_id"][failed & ~sampled].tolist())
        self._keep(self.requests, req, sampled | failed)

    def take_calls(self, calls: dict, *, final: bool = False) -> None:
        if self._pending is not None:
            calls = {k: np.concatenate([self._pending[k], v]) for k, v in calls.items()}
            self._pending = None
        ids = calls["request_id"]
        keep = is_sampled(ids, self.one_in)
        rest = ~keep
        if rest.any() and self._failed:
            keep |= rest & np.isin(ids, np.fromiter(self._failed, dtype=np.int64))
        self._keep(self.calls, calls, keep)
        if not final:
            open_ids = np.fromiter(self._in_flight(), dtype=np.int64)
            waiting = ~keep & np.isin(ids, open_ids)
            if waiting.any():
                self._pending = {k: v[waiting] for k, v in calls.items()}

    @staticmethod
    def _keep(into: list, columns: dict, mask: np.ndarray) -> None:
        if mask.any():
            into.append({k: v[mask] for k, v in columns.items()})

    def tables(self, empty_requests: dict, empty_calls: dict) -> dict:
        """The kept rows, in the order they ended (attempts: were written)."""
        return {"requests": _concat(self.requests, empty_requests),
                "calls": _concat(self.calls, empty_calls)}


def _concat(chunks: list[dict], empty: dict) -> dict:
    if not chunks:
        return empty
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


class Recorder:
    """The logs the engine writes and the tallies the summary is made of."""

    def __init__(self, scenario):
        record = scenario.record
        self.level = record.level
        self.sample_times_s = sample_times_s(scenario.sample_interval, scenario.warmup,
                                             scenario.duration)
        self.events = EventLog()
        self.samples = SampleLog()
        exact = self.level == "full"
        dist = ExactValues if exact else Sketch
        codes = workload_codes(scenario)
        slo_s = scenario.slo.latency
        warmup, end = float(scenario.warmup), float(scenario.duration)
        self.run_tally = RequestTally(warmup, end, codes, slo_s, dist)
        self.window_tallies = {w.name: RequestTally(w.start_s, w.end_s, codes, slo_s, dist)
                               for w in measurement_windows(scenario)}
        endpoint_codes = {name: i for i, name in enumerate(scenario.endpoint_names())}
        self.service_tallies = [ServiceTally(i, warmup, end, dist,
                                             {ep: endpoint_codes[ep] for ep in spec.endpoints})
                                for i, spec in enumerate(scenario.services.values())]
        first_external = len(scenario.services) + len(scenario.workload)
        self.external_tallies = [ServiceTally(first_external + j, warmup, end, dist)
                                 for j in range(len(scenario.external))]
        self.duplicates = DuplicateLog()
        self.function_tallies = {name: FunctionTally(warmup, end, dist) for name in scenario.functions}
        self.channel_counts = {(svc, ch): ChannelCounts(spec.subscribers)
                               for svc, service in scenario.services.items()
                               for ch, spec in service.channels.items()}
        self.group_tallies = [GroupTally(i, warmup, end, dist)
                              for i in range(len(scenario.consumer_groups()))]
        first_topic = first_external + len(scenario.external)
        self.topic_tallies = [ServiceTally(first_topic + j, warmup, end, dist)
                              for j in range(len(scenario.topics))]
        self.series = SeriesTally(len(scenario.services), self.sample_times_s)
        self.sample: Optional[RowSample] = None
        self._tables: Optional[dict] = None
        if exact:
            self.requests = RequestLog()
            self.calls = CallLog()
            self.messages = MessageLog()
        else:
            self.messages = MessageLog(self._take_messages, CHUNK_ROWS)
            self.calls = CallLog(self._take_calls)
            self.requests = RequestStream(CHUNK_ROWS, self._take_requests, self.calls)
            if self.level == "sample":
                self.sample = RowSample(record.one_in, self.requests.in_flight_ids)

    def _take_requests(self, req: dict) -> None:
        self.run_tally.add(req)
        for tally in self.window_tallies.values():
            tally.add(req)
        self.series.add_requests(req)
        if self.sample is not None:
            self.sample.take_requests(req)

    def _take_calls(self, calls: dict, *, final: bool = False) -> None:
        for tally in self.service_tallies:
            tally.add(calls)
        for tally in self.external_tallies:
            tally.add(calls)
        for tally in self.topic_tallies:
            tally.add(calls)
        self.series.add_calls(calls, final=final)
        if self.sample is not None:
            self.requests.hand_over()  # so every request that ended is known failed or not
            self.sample.take_calls(calls, final=final)

    def _take_messages(self, rows: dict) -> None:
        for tally in self.group_tallies:
            tally.add(rows)

    def finish(self) -> None:
        """The run is over (open attempts flushed): feed the tallies what is left."""
        for tally in self.function_tallies.values():
            tally.finish()
        if self.level == "full":
            req, calls = self.requests.to_numpy(), self.calls.to_numpy()
            self._take_requests(req)
            self._take_calls(calls, final=True)
            messages = self.messages.to_numpy()
            self._take_messages(messages)
            self._tables = {"requests": req, "calls": calls, "messages": messages}
            return
        self.messages.hand_over()
        no_calls = CallLog().to_numpy()
        self.requests.hand_over()
        self.calls.hand_over()
        self.series.add_calls(no_calls, final=True)  # complete the last bins
        self.requests.finish()
        if self.sample is not None:
            self.sample.take_calls(no_calls, final=True)  # attempts of requests still in flight
            self._tables = self.sample.tables(RequestLog().to_numpy(), no_calls)

    @cached_property
    def sample_columns(self) -> dict:
        """The time series' sampled levels as numpy columns (built once, after the run)."""
        return self.samples.to_numpy()

    @property
    def tables(self) -> Optional[dict]:
        """The ``requests`` and ``calls`` rows kept (None at ``summary``)."""
        return self._tables

    @property
    def kept_bytes(self) -> dict[str, int]:
        """``summary.memory``: bytes of request and call rows held at the end."""
        if self.level == "full":
            return {"request_bytes": self.requests.nbytes, "call_bytes": self.calls.nbytes}
        tables = self._tables or {"requests": {}, "calls": {}}
        return {"request_bytes": sum(a.nbytes for a in tables["requests"].values()),
                "call_bytes": sum(a.nbytes for a in tables["calls"].values())}

"""The outcome of one run: ``summary`` plus the ``requests``, ``calls``,
``timeseries`` and ``events`` tables (pandas DataFrames, built on first use).
"""
from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Optional, Union

import pandas as pd
import yaml

from .record import tables


class NotRecorded(LookupError):
    """A table the run did not keep (``record: summary`` keeps no rows)."""


class Result:
    """Summary and tables of one simulation run.

    At ``record: summary`` the run kept no per-request rows: ``requests`` and
    ``calls`` raise :class:`NotRecorded` (``summary``, ``timeseries`` and
    ``events`` are complete at every level). At ``record: sample`` they hold
    the sampled and failed requests only (see :mod:`sim.record.recorder`).
    """

    def __init__(self, scenario, summary: dict, recorder, names: list[str], pod_names: list[str],
                 pods, cpu_request: dict[int, float]):
        self.scenario = scenario
        self.summary = summary
        self.record_level = recorder.level
        self._tables = recorder.tables
        self._samples = recorder.sample_columns
        self._series = recorder.series
        self._run_tally = recorder.run_tally
        self._window_tallies = recorder.window_tallies
        self._service_tallies = recorder.service_tallies
        self._names = names
        self._service_count = len(scenario.services)
        self._pod_names = pod_names
        self._pods = pods
        self._events = recorder.events
        self._cpu_request = cpu_request

    @property
    def table_names(self) -> tuple[str, ...]:
        """The tables this run has (``requests`` and ``calls`` only when rows were kept)."""
        rows = ("requests", "calls") if self._tables is not None else ()
        messages = ("messages",) if self._tables is not None and "messages" in self._tables \
            and self.scenario.topics else ()
        return (*rows, *messages, "timeseries", "events")

    def _rows(self, name: str) -> dict:
        if self._tables is None:
            raise NotRecorded(
                f"this run was recorded at record: summary, which keeps no per-request rows; "
                f"run it with record: full (or sample) to get the {name} table")
        return self._tables[name]

    @cached_property
    def requests(self) -> pd.DataFrame:
        return tables.requests_frame(self._rows("requests"), self._names)

    @cached_property
    def calls(self) -> pd.DataFrame:
        return tables.calls_frame(self._rows("calls"), self._names, self._pod_names,
                                  self.scenario.endpoint_names())

    @cached_property
    def messages(self) -> pd.DataFrame:
        """One row per delivery of a message to a consumer (``record: full`` only)."""
        if self._tables is not None and "messages" not in self._tables:
            raise NotRecorded("this run was recorded at record: sample, which keeps no message "
                              "rows; run it with record: full to get the messages table")
        return tables.messages_frame(self._rows("messages"), self._names, self._pod_names,
                                     self.scenario.consumer_groups())

    @cached_property
    def events(self) -> pd.DataFrame:
        return tables.events_frame(self._events, self._names, self._pod_names)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        return tables.timeseries_frame(self._samples, self._series, self._pods, self._names,
                                       self._cpu_request, self._service_count)

    @cached_property
    def request_series(self) -> pd.DataFrame:
        """External requests per sample interval (every level, exact): ``t_s``
        (the interval's end), ``offered`` (arrived in it) and one column per
        final status of the requests that ended in it."""
        return tables.request_series_frame(self._series)

    def latency(self, which: str = "all", *, window: Optional[str] = None, service: Optional[str] = None):
        """The distribution behind a latency block of the summary, to merge
        across replications or read at any quantile (``.quantiles([0.99])``,
        ``.merge(other)``, ``.mean()``, ``.max()``, ``.count``).

        ``which``: ``"all"`` (``latency_all_s``: every finished request) or
        ``"ok"`` (``latency_s``); with ``window``: that window's; with
        ``service``: its attempts' latency (``ok`` only) or ``"queue_wait"``.
        At ``record: full`` the values themselves
        (:class:`~sim.record.distribution.ExactValues`, ``.exact`` true), otherwise a DDSketch
        (:class:`~sim.record.distribution.Sketch`, 1 % relative error): merging
        the sketches of replications gives the pooled distribution within
        that error.
        """
        if service is not None:
            names = list(self.scenario.services)
            if service not in names:
                raise ValueError(f"no service {service!r} (known: {', '.join(names)})")
            tally = self._service_tallies[names.index(service)]
            kinds = {"ok": tally.latency_ok, "queue_wait": tally.queue_wait}
        else:
            if window is not None and window not in self._window_tallies:
                raise ValueError(f"no window {window!r} (known: {', '.join(self._window_tallies)})")
            tally = self._run_tally if window is None else self._window_tallies[window]
            kinds = {"all": tally.latency_all, "ok": tally.latency_ok}
        if which not in kinds:
            raise ValueError(f"which must be one of {', '.join(kinds)} (got {which!r})")
        return kinds[which]

    def write(self, out_dir: Union[str, os.PathLike]) -> Path:
        """Write summary.json, the tables as Parquet (:attr:`table_names`) and the
        resolved scenario."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        _atomic_text(out / "summary.json", json.dumps(self.summary, indent=2) + "\n")
        for name in self.table_names:
            frame: pd.DataFrame = getattr(self, name)
            tmp = out / f".{name}.parquet.tmp"
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, out / f"{name}.parquet")
        _atomic_text(out / "scenario.yaml",
                     yaml.safe_dump(self.scenario.to_dict(), sort_keys=False))
        return out

    def __repr__(self) -> str:
        s = self.summary
        return (f"<Result {s['scenario']!r} seed={s['seed']} requests={s['requests']['total']} "
                f"ok={s['requests']['ok']} p99={s['latency_s']['p99']}>")


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)

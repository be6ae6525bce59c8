"""The outcome of one run: ``summary`` plus the ``requests``, ``calls``,
``timeseries`` and ``events`` tables (pandas DataFrames, built on first use).
"""
from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Union

import pandas as pd
import yaml

from .record import tables


class Result:
    """Summary and tables of one simulation run."""

    def __init__(self, scenario, summary: dict, raw: dict, names: list[str], service_count: int,
                 pod_names: list[str], pods, events, cpu_request: dict[int, float]):
        self.scenario = scenario
        self.summary = summary
        self._raw = raw
        self._names = names
        self._service_count = service_count
        self._pod_names = pod_names
        self._pods = pods
        self._events = events
        self._cpu_request = cpu_request

    @cached_property
    def requests(self) -> pd.DataFrame:
        return tables.requests_frame(self._raw["requests"], self._names)

    @cached_property
    def calls(self) -> pd.DataFrame:
        return tables.calls_frame(self._raw["calls"], self._names, self._pod_names)

    @cached_property
    def events(self) -> pd.DataFrame:
        return tables.events_frame(self._events, self._names, self._pod_names)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        return tables.timeseries_frame(self._raw["samples"], self._raw["calls"], self._pods,
                                       self._names, self._cpu_request, self._service_count)

    def write(self, out_dir: Union[str, os.PathLike]) -> Path:
        """Write summary.json, the four tables as Parquet and the resolved scenario."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        _atomic_text(out / "summary.json", json.dumps(self.summary, indent=2) + "\n")
        for name in ("requests", "calls", "timeseries", "events"):
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

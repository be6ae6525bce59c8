"""Receiving the runs of a sweep as they finish: store each one, count the
failures, drive the progress bar and ``on_run``, keep ``results.parquet`` fresh.

A record arrives with one of three statuses:

- ``ok``: stored;
- ``failed`` (the run raised): stored with its error; statistics skip it;
- ``lost`` (the executor lost it: a dead worker, a lost connection): not
  stored, so ``resume`` runs it again.

When storing fails (a full disk, a quota, a lost mount: :class:`StoreFailed`,
also reported by a worker that could not write the run's files as the record's
``store_error``), the collector raises it once so the sweep stops starting
runs; from then on it stores nothing and keeps what still arrives in memory
(:attr:`RunCollector.unstored`). The runs stored before stay intact on disk.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional

import pandas as pd

from .store import ResultStore, StoreFailed, build_table

CONSOLIDATE_EVERY_S = 2.0
"""How often ``results.parquet`` is rewritten during a sweep (wall seconds)."""


class RunCollector:
    """Takes each finished run's record (call it); see the module docstring.

    ``records``: the runs already stored (a resumed sweep's), updated in place.
    ``store``: None keeps everything in memory. ``bar``: a tqdm bar or None.
    ``on_run(record)``: called with each stored (or lost) record.
    """

    def __init__(self, plan: pd.DataFrame, records: dict[str, dict], attrs: Mapping[str, Any],
                 store: Optional[ResultStore], bar=None,
                 on_run: Optional[Callable[[dict], None]] = None):
        self.plan, self.records, self.attrs, self.store = plan, records, dict(attrs), store
        self.bar, self.on_run = bar, on_run
        self.lost: list[dict] = []
        self.unstored: dict[str, dict] = {}
        self.failure: Optional[StoreFailed] = None
        self.failed_runs = sum(r["status"] != "ok" for r in records.values())
        self._consolidated_at_s = time.monotonic()

    def __call__(self, record: dict) -> None:
        """Take one finished run. Raises :class:`StoreFailed` the first time
        storing fails (the caller stops starting runs), never again after."""
        stored: Optional[dict] = None
        first_failure: Optional[StoreFailed] = None
        if record["status"] == "lost":
            self.lost.append(record)
            stored = record
        elif self.failure is not None:
            self.unstored[record["run_id"]] = record
        else:
            try:
                stored = self._store(record)
            except StoreFailed as failure:
                self.failure = first_failure = failure
                self.unstored[record["run_id"]] = record
        self._show(record)
        if stored is not None and self.on_run is not None:
            self.on_run(stored)
        if first_failure is not None:
            raise first_failure
        self._consolidate()

    def _store(self, record: dict) -> dict:
        """Store ``record`` (StoreFailed if it cannot be); return it as stored."""
        problem = record.get("store_error")
        if problem is not None:   # the worker could not write the run's files
            raise StoreFailed(problem["path"], problem["reason"])
        stored = self.store.put(record) if self.store is not None else record
        self.records[record["run_id"]] = stored
        return stored

    def _show(self, record: Mapping[str, Any]) -> None:
        if record["status"] != "ok":
            self.failed_runs += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.failed_runs:
                self.bar.set_postfix(failed=self.failed_runs, refresh=False)

    def _consolidate(self) -> None:
        """Rewrite ``results.parquet`` if the last rewrite is older than CONSOLIDATE_EVERY_S."""
        if (self.store is None or self.failure is not None
                or time.monotonic() - self._consolidated_at_s < CONSOLIDATE_EVERY_S):
            return
        try:
            self.store.write_table(self.table())
        except StoreFailed as failure:
            self.failure = failure
            raise
        self._consolidated_at_s = time.monotonic()

    def table(self) -> pd.DataFrame:
        """The table of the stored runs, in plan order."""
        return build_table(self.plan, self.records, self.attrs)

    def computed_table(self) -> pd.DataFrame:
        """The table of every run received, stored or not (what a caller keeps
        in memory when storing failed)."""
        return build_table(self.plan, {**self.records, **self.unstored}, self.attrs)

    def finish(self) -> pd.DataFrame:
        """Write ``results.parquet`` one last time, even after a failure (it may
        still fit; if not, the previous one stays and ``resume`` rebuilds it
        from ``runs/``); return the stored runs' table."""
        table = self.table()
        if self.store is not None:
            try:
                self.store.write_table(table)
            except StoreFailed as failure:
                self.failure = self.failure or failure
        return table

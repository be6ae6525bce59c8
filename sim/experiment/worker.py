"""What runs on a worker: one task (a picklable dict) -> one record (a dict).

Top-level functions only, importable by name, so they work under any start
method (spawn, forkserver, fork), in threads and on Dask workers. A run that
raises is returned as a failed record with its error text; it never takes the
sweep down.
"""
from __future__ import annotations

import signal
import time
import traceback
from pathlib import Path
from typing import Any, Mapping, Optional

from ..errors import ScenarioError
from ..record.keys import PER_RUN_ONLY, flatten_summary
from ..runner import run
from ..spec.loader import validate
from ..spec.measure import with_record
from ..spec.overrides import apply_overrides_collecting
from .store import StoreFailed, replace_atomically, writing

SKIPPED_SUMMARY_KEYS = set(PER_RUN_ONLY)  # the record has its own (wall_s: the whole task)


def init_worker() -> None:
    """Process-pool initializer: leave Ctrl-C to the parent, which stops the sweep cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def flatten(summary: Mapping[str, Any]) -> dict[str, float]:
    """A run's metrics: its summary flattened exactly as metric names are
    validated (:func:`sim.record.keys.flatten_summary`: dotted keys, None ->
    NaN, strings dropped), without the keys the record carries itself."""
    flat = flatten_summary(summary)
    for key in SKIPPED_SUMMARY_KEYS:
        flat.pop(key, None)
    return flat


def simulate(scenario, seed: int, replication: int):
    """One simulation (a seam: tests replace it to inject failures)."""
    return run(scenario, seed=seed, replication=replication)


def _error_text(exc: BaseException) -> str:
    """A failed run's ``error``: one line (type, message, innermost frame), then
    a blank line and the full traceback. Bad input: the problems only; out of
    memory: what to do instead (record: summary)."""
    if isinstance(exc, ScenarioError):
        return exc.report()
    if isinstance(exc, MemoryError):  # not a bug: the run was too big; say what to do, no traceback
        return ("MemoryError: out of memory; set record: summary in the scenario (memory that does not "
                "grow with the run), or shorten it or lower its rate")
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    trace = "".join(traceback.format_exception(exc)).rstrip()
    return f"{type(exc).__name__}: {exc}{where}\n\n{trace}"


def _store_timeseries(frame, path: Path) -> None:
    """Write a run's time series atomically (temporary file, then rename)."""
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with writing(path):
        replace_atomically(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _write_files(result, task: Mapping[str, Any]) -> Optional[dict]:
    """Write the run's kept tables and time series, if the task asks for them.
    Returns None, or ``{"path", "reason"}`` when the disk refused (the run is
    then not stored, and the sweep stops with a message; ``resume`` reruns it)."""
    try:
        if task.get("keep_dir"):
            with writing(task["keep_dir"]):
                result.write(task["keep_dir"])
        if task.get("timeseries_path"):
            _store_timeseries(result.timeseries, Path(task["timeseries_path"]))
    except StoreFailed as failure:
        return {"path": str(failure.path), "reason": failure.reason}
    return None


def run_task(task: Mapping[str, Any]) -> dict:
    """Resolve the run's scenario, simulate it, return its record.

    ``task``: ``run_id, seed, replication, scenario`` (raw mapping),
    ``scenario_dir``, ``overrides`` (list of (path, value)), ``record`` (the
    level to run at, or None for the scenario's) and optionally
    ``keep_dir`` (write the run's tables there with ``Result.write``) and
    ``timeseries_path``. A run that raises is ``status: failed`` with its
    ``error`` (:func:`_error_text`); a run whose files could not be written
    carries ``store_error`` (:func:`_write_files`).
    """
    started = time.perf_counter()
    record: dict[str, Any] = {"run_id": task["run_id"], "status": "ok", "error": None, "metrics": {}}
    try:
        raw, problems = apply_overrides_collecting(task["scenario"], task["overrides"])
        if problems:
            raise ScenarioError(problems, source=task["run_id"])
        spec = validate(raw, base_dir=task["scenario_dir"])
        if task.get("record"):
            spec = with_record(spec, task["record"])
        result = simulate(spec, int(task["seed"]), int(task["replication"]))
        record["metrics"] = flatten(result.summary)
        store_error = _write_files(result, task)
        if store_error is not None:
            record["store_error"] = store_error
    except Exception as exc:  # recorded, and the sweep goes on
        record.update(status="failed", error=_error_text(exc), metrics={})
    record["wall_s"] = time.perf_counter() - started
    return record

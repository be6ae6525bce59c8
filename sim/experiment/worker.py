"""What runs on a worker: one task (a picklable dict) -> one record (a dict).

Top-level functions only, importable by name, so they work under any start
method (spawn, forkserver, fork), in threads and on Dask workers. A run that
raises is returned as a failed record with its error text; it never takes the
sweep down.
"""
from __future__ import annotations

import math
import numbers
import signal
import time
import traceback
from pathlib import Path
from typing import Any, Mapping

from ..errors import ScenarioError
from ..runner import run
from ..spec.loader import validate
from ..spec.overrides import apply_overrides_collecting

SKIPPED_SUMMARY_KEYS = {"wall_s", "seed"}  # the record has its own (wall_s: the whole task)


def init_worker() -> None:
    """Process-pool initializer: leave Ctrl-C to the parent, which stops the sweep cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def flatten(summary: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Every numeric field of a summary, keys joined with dots; None -> NaN;
    strings and other non-numeric values skipped; booleans as 0/1."""
    flat: dict[str, float] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        elif value is None:
            flat[name] = math.nan
        elif isinstance(value, numbers.Real):
            flat[name] = float(value)
    if not prefix:
        for key in SKIPPED_SUMMARY_KEYS:
            flat.pop(key, None)
    return flat


def simulate(scenario, seed: int, replication: int):
    """One simulation (a seam: tests replace it to inject failures)."""
    return run(scenario, seed=seed, replication=replication)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ScenarioError):
        return exc.report()
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_task(task: Mapping[str, Any]) -> dict:
    """Resolve the run's scenario, simulate it, return its record.

    ``task``: ``run_id, seed, replication, scenario`` (raw mapping),
    ``scenario_dir``, ``overrides`` (list of (path, value)) and optionally
    ``keep_dir`` (write the run's tables there with ``Result.write``).
    """
    started = time.perf_counter()
    record: dict[str, Any] = {"run_id": task["run_id"], "status": "ok", "error": None, "metrics": {}}
    try:
        raw, problems = apply_overrides_collecting(task["scenario"], task["overrides"])
        if problems:
            raise ScenarioError(problems, source=task["run_id"])
        spec = validate(raw, base_dir=task["scenario_dir"])
        result = simulate(spec, int(task["seed"]), int(task["replication"]))
        record["metrics"] = flatten(result.summary)
        if task.get("keep_dir"):
            result.write(task["keep_dir"])
    except Exception as exc:  # recorded, and the sweep goes on
        record.update(status="failed", error=_error_text(exc), metrics={})
    record["wall_s"] = time.perf_counter() - started
    return record

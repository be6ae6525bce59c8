"""The result store of a sweep: a directory that survives being killed.

Layout of ``DIR``:

- ``manifest.json``: the experiment, the resolved base scenario, the seeds,
  package versions and the git commit (written first, atomically);
- ``runs/<run_id>.json``: one record per finished run, written atomically
  (temporary file + ``os.replace``) as soon as the run ends: a sweep killed at
  any moment loses no finished run;
- ``runs/<run_id>/``: the run's tables (``Result.write``), with ``--keep-runs``;
- ``timeseries/<run_id>.parquet``: the time series of replication 0 of every arm
  and design point (what the report's time-series figure draws; plots never simulate);
- ``results.parquet``: the consolidated table, one row per stored run in
  expansion order (rewritten atomically during the sweep and at its end).

The per-run records are the truth; ``results.parquet`` is rebuilt from them.
"""
from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import pandas as pd
import pyarrow as pa

from ..errors import Problem, ScenarioError
from .spec import ANALYSIS_ONLY, Experiment, canonical

MANIFEST_FORMAT = 1
PACKAGES = ("podsim", "simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "PyYAML",
            "matplotlib", "tqdm", "dask", "distributed")
TAIL_COLUMNS = ["status", "error", "wall_s"]


def versions() -> dict[str, Optional[str]]:
    """Installed versions of the packages a result depends on (None if absent)."""
    found: dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    if found.get("podsim") is None:
        from .. import __version__
        found["podsim"] = __version__
    return found


def git_state(where: Optional[Path] = None) -> Optional[dict]:
    """``{"commit", "dirty"}`` of the repository holding the code, or None."""
    where = where or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                text=True, timeout=10)
        if commit.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                                capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def manifest_for(exp: Experiment, plan: pd.DataFrame) -> dict:
    """The manifest of a sweep of ``exp`` (JSON-ready)."""
    identity = exp.identity()
    spec = exp.spec.model_dump(mode="json")
    return {
        "format": MANIFEST_FORMAT,
        "name": exp.name,
        "source": exp.source,
        "scenario_source": exp.scenario_source,
        "experiment": {**spec, "replications": exp.replications},
        "base_scenario": identity["base_scenario"],
        "arms": list(exp.arms),
        "factors": exp.factor_columns,
        "points": len(exp.points),
        "metrics": [{"name": m.name, "direction": m.direction} for m in exp.metrics],
        "seeds": {"seed": exp.seed, "replications": exp.replications,
                  "common_random_numbers": exp.spec.common_random_numbers,
                  "run_seeds": sorted({int(s) for s in plan["seed"]})},
        "runs": len(plan),
        "versions": versions(),
        "git": git_state(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": sys.argv[:],
    }


def _identity(manifest: Mapping[str, Any]) -> dict:
    spec = dict(manifest.get("experiment") or {})
    for key in ANALYSIS_ONLY:
        spec.pop(key, None)
    return {"experiment": spec, "base_scenario": manifest.get("base_scenario")}


def _first_difference(old: Any, new: Any, path: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(dict.fromkeys([*old, *new])):
            if canonical(old.get(key)) != canonical(new.get(key)):
                return _first_difference(old.get(key), new.get(key), f"{path}.{key}" if path else key)
    return path or "(top level)"


class StoreFailed(Exception):
    """Writing to the result directory failed (a full disk, a quota, a lost
    mount, permissions). ``path``: the file being written; ``reason``: the
    system's words (``No space left on device``). What was stored before is
    intact; nothing half-written is left behind."""

    def __init__(self, path: os.PathLike | str, reason: str):
        super().__init__(f"cannot write {path}: {reason}")
        self.path, self.reason = Path(path), reason


@contextmanager
def writing(path: os.PathLike | str) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into :class:`StoreFailed`."""
    try:
        yield
    except OSError as exc:
        raise StoreFailed(path, exc.strerror or str(exc)) from exc


def replace_atomically(path: Path, write: Callable[[Path], Any]) -> None:
    """``write`` a temporary file beside ``path``, then rename it over ``path``;
    on failure remove the temporary file (a full disk leaves no debris)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write a temporary file, then rename it over ``path``: a reader (or a
    resume after the writer was killed) sees the old file or the new one, never
    half of one. No fsync: a killed process loses nothing the kernel holds;
    only a machine crash could, and then ``resume`` reruns what is missing.
    Raises :class:`StoreFailed` when the write fails."""
    with writing(path):
        replace_atomically(path, lambda tmp: tmp.write_text(text))


class ResultStore:
    """One sweep's directory (see the module docstring)."""

    def __init__(self, out: os.PathLike | str):
        self.out = Path(out)
        self.runs_dir = self.out / "runs"
        self.manifest_path = self.out / "manifest.json"
        self.results_path = self.out / "results.parquet"
        self.timeseries_dir = self.out / "timeseries"

    # ------------------------------------------------------------ opening
    def read_manifest(self) -> Optional[dict]:
        if not self.manifest_path.exists():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None

    def open(self, exp: Experiment, plan: pd.DataFrame, resume: bool) -> dict[str, dict]:
        """Prepare the directory for ``exp``; return the records already stored.

        A directory holding a different experiment is refused (ScenarioError,
        exit 2 from the CLI). The same experiment without ``resume`` starts
        over; with ``resume`` its stored runs are kept and returned.
        """
        manifest = manifest_for(exp, plan)
        old = self.read_manifest()
        if old is None and (self.results_path.exists() or self.runs_dir.exists()):
            raise ScenarioError([Problem(str(self.out), "holds results without a readable manifest.json; "
                                         "choose another --out or remove it")], source="--out")
        if old is not None:
            if canonical(_identity(old)) != canonical(_identity(manifest)):
                where = _first_difference(_identity(old), _identity(manifest))
                raise ScenarioError([Problem(str(self.out), f"holds a different experiment "
                                             f"({old.get('name')!r}; differs at {where}); choose "
                                             "another --out or remove it")], source="--out")
            if resume:
                manifest["created"] = old.get("created", manifest["created"])
                manifest["resumed"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            else:
                self.clear()
        elif resume and self.out.exists() and any(self.out.iterdir()):
            raise ScenarioError([Problem(str(self.out), "nothing to resume here (no manifest.json)")],
                                source="--resume")
        with writing(self.out):
            self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, default=str) + "\n")
        with writing(self.runs_dir):   # after the manifest: a directory without one is refused
            self.runs_dir.mkdir(exist_ok=True)
        return self.load_records() if resume else {}

    def clear(self) -> None:
        """Forget the stored runs (the same experiment, run afresh)."""
        for folder in (self.runs_dir, self.timeseries_dir):
            if folder.exists():
                shutil.rmtree(folder)
        self.results_path.unlink(missing_ok=True)

    # ------------------------------------------------------------ records
    def keep_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def timeseries_path(self, run_id: str) -> Path:
        """Where the worker stores the time series of a run (replication 0 only)."""
        return self.timeseries_dir / f"{run_id}.parquet"

    def put(self, record: Mapping[str, Any]) -> dict:
        """Store one finished run atomically; return it as stored (JSON round trip).
        Raises :class:`StoreFailed` (and stores nothing) when the write fails."""
        text = json.dumps(record, allow_nan=True)
        atomic_write_text(self.runs_dir / f"{record['run_id']}.json", text)
        return json.loads(text)

    def load_records(self) -> dict[str, dict]:
        records = {}
        if not self.runs_dir.exists():
            return records
        for path in sorted(self.runs_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # cannot happen with atomic writes; ignore if it does
            records[record["run_id"]] = record
        return records

    def write_table(self, table: pd.DataFrame) -> Path:
        """Replace ``results.parquet`` atomically (StoreFailed when the write fails;
        the previous table then stays, and the records in ``runs/`` rebuild it)."""
        with writing(self.results_path):
            replace_atomically(self.results_path, lambda tmp: table.to_parquet(tmp, index=False))
        return self.results_path


def build_table(plan: pd.DataFrame, records: Mapping[str, Mapping[str, Any]],
                attrs: Optional[dict] = None) -> pd.DataFrame:
    """The tidy results table: the plan's rows that have a record, in plan order.

    Columns: identity and factor columns, then every metric (float64, in order
    of first appearance), then ``status, error, wall_s``.
    """
    present = plan[plan["run_id"].isin(list(records))].reset_index(drop=True)
    metric_names: dict[str, None] = {}
    taken = set(present.columns) | set(TAIL_COLUMNS)
    for run in present["run_id"]:
        for name in records[run].get("metrics", {}):
            if name not in taken:
                metric_names.setdefault(name)
    data = {name: [float(records[r].get("metrics", {}).get(name, math.nan))
                   for r in present["run_id"]] for name in metric_names}
    metrics = pd.DataFrame(data, index=present.index, columns=list(metric_names), dtype="float64")
    tail = pd.DataFrame({
        "status": pd.Series([records[r]["status"] for r in present["run_id"]], dtype=object),
        "error": pd.Series([records[r].get("error") for r in present["run_id"]], dtype=object),
        "wall_s": pd.Series([float(records[r].get("wall_s", math.nan)) for r in present["run_id"]],
                            dtype="float64"),
    }, index=present.index)
    table = pd.concat([present, metrics, tail], axis=1)
    # the dtypes Parquet gives back, so the returned and the stored table are equal
    table = pa.Table.from_pandas(table, preserve_index=False).to_pandas()
    table.attrs = dict(attrs or {})
    return table


def table_attrs(exp: Experiment) -> dict:
    """Metadata carried on the table (``DataFrame.attrs``) for stats and plots."""
    return {"experiment": exp.name, "factors": exp.factor_columns, "arms": list(exp.arms),
            "dimensions": exp.dimensions, "grid": [f.paths[0] for f in exp.factors],
            "metrics": [m.name for m in exp.metrics],
            "directions": {m.name: m.direction for m in exp.metrics},
            "baseline": exp.baseline}


def read_table(out: os.PathLike | str) -> pd.DataFrame:
    """Read a sweep directory's ``results.parquet``."""
    return pd.read_parquet(Path(out) / "results.parquet")


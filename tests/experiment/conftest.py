"""Shared helpers of the experiment tests: tiny scenarios and subprocess setup."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import sim

REPO = Path(__file__).resolve().parents[2]
SIM_ROOT = Path(sim.__file__).parent.parent   # where the imported `sim` lives


def mmc_scenario(rate: float = 5.0, servers: int = 4, duration: float = 300.0, mean: float = 0.5,
                 **extra) -> dict:
    """A one-service M/M/c as a scenario mapping (fast: ~rate*duration requests)."""
    return {
        "name": "tiny-mmc", "duration": duration, "warmup": duration / 10, "sample_interval": 10,
        "workload": {"clients": {"target": "queue", "arrivals": {"rate": rate}}},
        "services": {"queue": {"replicas": 1, "pod": {
            "cpu": servers, "workers": servers, "queue": None,
            "work": {"dist": "exponential", "mean": mean}}}},
        **extra,
    }


def experiment(**fields) -> dict:
    """A small experiment mapping on :func:`mmc_scenario`, updated with ``fields``."""
    base = {
        "name": "tiny", "scenario": mmc_scenario(), "replications": 3, "seed": 5,
        "arms": {"c4": {}, "c5": {"services.queue.pod.workers": 5, "services.queue.pod.cpu": 5}},
        "baseline": "c4",
        "metrics": ["services.queue.queue_wait_s.mean", "latency_s.p99", "services.queue.waited_ratio"],
    }
    base.update(fields)
    return base


def subprocess_env() -> dict:
    """The environment for ``python -m sim.cli`` in a child: the same ``sim``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SIM_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("PYTHONHASHSEED", None)
    return env


def without_wall(table):
    return table.drop(columns=["wall_s"]).reset_index(drop=True)


@pytest.fixture
def python() -> str:
    return sys.executable

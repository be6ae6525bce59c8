"""Experiments: arms x design points x replications under common random numbers.

    import sim
    table = sim.sweep("experiments/mmc-servers.yaml", out="out/mmc-servers")
    exp = sim.experiment.load_experiment("experiments/mmc-servers.yaml")
    plan = sim.experiment.expand(exp)              # the runs, before running them
    stats = sim.experiment.summarize(table, exp)   # means, CIs, paired differences

See ``docs/experiments.md`` for the file format and what is shared between arms.
"""
from .expand import expand, run_id
from .spec import Experiment, ExperimentSpec, Factor, Metric, load_experiment
from .store import ResultStore, read_table
from .sweep import SweepInterrupted, SweepStoreFailed, sweep


def summarize(*args, **kwargs):
    """Per arm and design point: mean and CI of each metric, paired differences
    against the baseline, replications needed, analytic columns
    (:func:`sim.experiment.stats.summarize`)."""
    from .stats import summarize as _summarize
    return _summarize(*args, **kwargs)


__all__ = ["Experiment", "ExperimentSpec", "Factor", "Metric", "ResultStore", "SweepInterrupted",
           "SweepStoreFailed",
           "expand", "load_experiment", "read_table", "run_id", "summarize", "sweep"]

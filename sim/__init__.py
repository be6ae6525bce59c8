"""podsim: a discrete-event simulator of elastic microservice clusters.

    import sim
    scenario = sim.load("models/reference.yaml", overrides={"services.users.replicas": 4})
    result = sim.run(scenario, seed=3)   # .summary, .requests, .calls, .timeseries, .events
    table = sim.sweep("experiments/mmc-servers.yaml", out="out/mmc")   # tidy DataFrame, one row per run
"""
from .errors import Problem, ScenarioError
from .runner import run
from .spec import Scenario, load
from .experiment import sweep

__version__ = "0.1.0"
__all__ = ["Problem", "Scenario", "ScenarioError", "load", "run", "sweep", "plots", "theory",
           "__version__"]


def __getattr__(name: str):
    """``sim.plots`` and ``sim.theory`` load on first use (matplotlib is slow to import)."""
    if name in ("plots", "theory"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")

"""podsim: a discrete-event simulator of elastic microservice clusters.

    import sim
    scenario = sim.load("models/reference.yaml", overrides={"services.users.replicas": 4})
    result = sim.run(scenario, seed=3)   # .summary, .requests, .calls, .timeseries, .events
"""
from .errors import Problem, ScenarioError
from .runner import run
from .spec import Scenario, load

__version__ = "0.1.0"
__all__ = ["Problem", "Scenario", "ScenarioError", "load", "run", "__version__"]

"""Figures: the run timeline (``sim.plots.timeline``) and experiment plots (``sim.plots.sweep``)."""
from .timeline import save_timeline, timeline

__all__ = ["save_timeline", "timeline"]

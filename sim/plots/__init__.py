"""Figures: the run timeline (``sim.plots.timeline``) and experiment plots (``sim.plots.sweep``)."""

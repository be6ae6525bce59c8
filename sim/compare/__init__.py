"""Comparisons of podsim with other simulators (SimFaaS)."""

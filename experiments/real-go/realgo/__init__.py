"""Helpers of experiments/real-go/run.py: a real Go service as podsim's ground truth.

- ``harness``: pure arithmetic (calibration, latency statistics, relative
  errors, the markdown table), tested without Go in tests/test_real_go_harness.py;
- ``procs``: building the Go programs, the pinned server, the load generator;
- ``cgroup``: a CFS CPU limit for the server through a child cgroup;
- ``model``: the same inputs as a podsim scenario.
"""

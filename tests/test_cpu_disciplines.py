"""The CPU disciplines on their own (``sim.engine.cpu``), driven on a bare
SimPy environment, against queueing recursions (hypothesis properties).

- Go's scheduler with a quantum longer than every step is FCFS on GOMAXPROCS
  servers: departures follow the Kiefer-Wolfowitz recursion (each job, in
  arrival order, starts at max(arrival, earliest free server)); with one
  server that is Lindley's D_i = max(A_i, D_(i-1)) + S_i.
- Any quantum, and processor sharing, are work-conserving on one core: the
  busy periods, hence the last departure and every instant the CPU empties,
  are the same as FCFS's, and the CPU used is the total work.
- ``clear()`` (the container died) returns every attempt still computing and
  leaves no alarm behind.
"""
from __future__ import annotations

import heapq

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.clock import Clock
from sim.engine.cpu import GoScheduler, ProcessorSharing


class Recorder:
    """Stands for a request's program: logs when each job's CPU step ends."""

    __slots__ = ("env", "log")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.log: dict[int, float] = {}

    def proceed(self, job) -> None:
        assert job.cpu_seq == 0  # no longer computing
        self.log[job.id] = self.env.now


class Job:
    __slots__ = ("id", "program", "cpu_seq")

    def __init__(self, job_id: int, program: Recorder):
        self.id = job_id
        self.program = program
        self.cpu_seq = 0


def simulate(make_cpu, arrivals: list[float], works: list[float]):
    """Feed jobs to a CPU at ``arrivals``; return (departures by job, cpu used, cpu)."""
    env = simpy.Environment()
    clock = Clock(env)
    cpu = make_cpu(clock)
    program = Recorder(env)
    for i, (at, work) in enumerate(zip(arrivals, works)):
        clock.call_in(at, lambda job_work: cpu.compute(*job_work), (Job(i, program), work))
    env.run()
    return [program.log[i] for i in range(len(arrivals))], cpu.used_until(env.now), cpu


def kiefer_wolfowitz(arrivals, works, servers: int) -> list[float]:
    free = [0.0] * servers
    out = []
    for at, work in zip(arrivals, works):
        start = max(at, heapq.heappop(free))
        out.append(start + work)
        heapq.heappush(free, start + work)
    return out


jobs = st.lists(st.tuples(st.integers(0, 400), st.integers(1, 60)), min_size=1, max_size=25)


def as_times(pairs):
    """Millisecond integers -> sorted arrival times and works, in seconds."""
    arrivals, t = [], 0
    for gap, _ in pairs:
        t += gap
        arrivals.append(t / 1000)
    return arrivals, [w / 1000 for _, w in pairs]


@settings(max_examples=150, deadline=None)
@given(pairs=jobs, procs=st.integers(1, 4))
def test_long_quantum_is_fcfs_on_gomaxprocs_servers(pairs, procs):
    arrivals, works = as_times(pairs)
    done, used, cpu = simulate(lambda c: GoScheduler(c, float(procs), procs, quantum_s=1.0),
                               arrivals, works)
    assert done == pytest.approx(kiefer_wolfowitz(arrivals, works, procs), abs=1e-9)
    assert used == pytest.approx(sum(works), abs=1e-9)
    assert cpu.computing == 0


def _empty_instants(arrivals, departures):
    """Times at which the system becomes empty (ends of busy periods)."""
    events = sorted([(a, 1) for a in arrivals] + [(d, -1) for d in departures],
                    key=lambda e: (round(e[0], 9), -e[1]))
    n, out = 0, []
    for t, step in events:
        n += step
        if n == 0:
            out.append(round(t, 9))
    return out


@settings(max_examples=150, deadline=None)
@given(pairs=jobs, quantum_ms=st.integers(1, 30), ps=st.booleans())
def test_one_core_is_work_conserving_whatever_the_order(pairs, quantum_ms, ps):
    arrivals, works = as_times(pairs)
    make = (lambda c: ProcessorSharing(c, 1.0)) if ps else \
        (lambda c: GoScheduler(c, 1.0, 1, quantum_s=quantum_ms / 1000))
    done, used, _ = simulate(make, arrivals, works)
    fcfs = kiefer_wolfowitz(arrivals, works, 1)
    assert max(done) == pytest.approx(max(fcfs), abs=1e-9)
    assert _empty_instants(arrivals, done) == pytest.approx(_empty_instants(arrivals, fcfs), abs=1e-8)
    assert used == pytest.approx(sum(works), abs=1e-9)
    for at, work, end in zip(arrivals, works, done):
        assert end >= at + work - 1e-9  # nobody runs faster than one core


def test_clear_returns_every_computing_attempt():
    env = simpy.Environment()
    clock = Clock(env)
    cpu = GoScheduler(clock, 1.0, 1)
    program = Recorder(env)
    jobs_ = [Job(i, program) for i in range(3)]
    for job in jobs_:
        cpu.compute(job, 1.0)
    env.run(until=0.5)
    dropped = cpu.clear()
    assert sorted(j.id for j in dropped) == [0, 1, 2]
    assert all(j.cpu_seq == 0 for j in jobs_) and cpu.computing == 0
    env.run()
    assert program.log == {}  # no completion after the container died
    assert cpu.used_until(env.now) == pytest.approx(0.5)

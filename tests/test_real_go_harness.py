"""The pure parts of experiments/real-go (no Go, no processes, no network):
calibration arithmetic, latency statistics, relative errors, the table, the
podsim scenario it builds and its command line."""
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import sim

REAL_GO = Path(__file__).resolve().parent.parent / "experiments" / "real-go"
sys.path.insert(0, str(REAL_GO))

from realgo import harness, model  # noqa: E402


def load_run_module():
    spec = importlib.util.spec_from_file_location("real_go_run", REAL_GO / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stats(cpu_s, uptime_s=0.0, work_ok=0, noop=0):
    return {"cpu_s": cpu_s, "uptime_s": uptime_s, "work_ok": work_ok, "noop": noop}


def test_cpu_per_request_is_the_cpu_delta_over_the_count_delta():
    before, after = stats(1.0, work_ok=100, noop=7), stats(3.28, work_ok=1100, noop=7)
    assert harness.cpu_per_request(before, after, "work_ok") == pytest.approx(2.28e-3)
    with pytest.raises(ValueError, match="no noop requests"):
        harness.cpu_per_request(before, after, "noop")
    with pytest.raises(ValueError, match="backwards"):
        harness.cpu_per_request(after, stats(2.0, work_ok=2000), "work_ok")


def test_measured_utilization():
    assert harness.measured_utilization(stats(1.0, 10.0), stats(29.0, 50.0)) == pytest.approx(0.7)
    with pytest.raises(ValueError):
        harness.measured_utilization(stats(1.0, 10.0), stats(2.0, 10.0))


def test_rate_for_utilization():
    assert harness.rate_for(0.7, 0.0025) == pytest.approx(280.0)
    assert harness.rate_for(0.5, 0.0025, cores=0.5) == pytest.approx(100.0)
    for bad in (0.0, 1.0, 1.2):
        with pytest.raises(ValueError, match="utilization"):
            harness.rate_for(bad, 0.0025)


def calibration(**kw):
    base = dict(low_rate=20.0, near_rate=300.0, noop_low=0.00035, noop_near=0.00026, work_low=0.00253,
                work_near=0.00254, noop_latency_p50=0.00066)
    base.update(kw)
    return harness.Calibration(**base)


def test_calibration_derives_podsim_inputs_near_the_target_rate():
    cal = calibration()
    assert cal.overhead_cpu == pytest.approx(0.00026)
    assert cal.work == pytest.approx(0.00228)               # /work minus /noop at the same rate
    assert cal.cpu_per_request == pytest.approx(0.00254)
    assert cal.one_way_latency == pytest.approx(0.0002)     # (0.66 - 0.26) / 2 ms
    assert calibration(noop_latency_p50=0.0001).one_way_latency == 0.0
    d = cal.as_dict()
    assert d["podsim"]["work_s"] == pytest.approx(0.00228)
    assert d["noop_cpu_s"] == {"low": 0.00035, "near": 0.00026}


def test_calibration_refuses_a_handler_cheaper_than_noop():
    with pytest.raises(ValueError, match="too noisy"):
        calibration(work_near=0.0002).work


def test_latency_stats_use_linear_quantiles():
    s = harness.latency_stats(np.arange(1, 101) / 1000)
    assert s["n"] == 100
    assert s["mean"] == pytest.approx(0.0505)
    assert s["p50"] == pytest.approx(0.0505)
    assert s["p99"] == pytest.approx(0.09901)
    with pytest.raises(ValueError, match="no successful"):
        harness.latency_stats([])


def test_spread_and_relative_error():
    assert harness.spread([3.0, 4.0, 5.0]) == {"avg": 4.0, "lo": 3.0, "hi": 5.0}
    assert harness.rel_err(1.23, 1.0) == pytest.approx(0.23)
    assert harness.rel_err(0.9, 1.0) == pytest.approx(-0.1)
    with pytest.raises(ValueError):
        harness.rel_err(1.0, 0.0)


def test_agreement_is_tolerance_or_the_runs_own_spread():
    real = {"avg": 10.0, "lo": 8.0, "hi": 14.0}
    assert harness.agrees(10.9, real, 0.10)
    assert not harness.agrees(7.9, real, 0.10)
    assert harness.agrees(13.5, real, 0.10)                 # outside 10 % but inside min-max


def reps(*pairs):
    return [{"n": 1000, "mean": m, "p99": p} for m, p in pairs]


def test_compare_and_table_row():
    row = harness.compare(reps((0.0032, 0.0080), (0.0033, 0.0086), (0.0035, 0.0092)),
                          {"mean": 0.0041, "p99": 0.0090})
    assert row["runs"] == 3
    assert row["mean"]["real"]["avg"] == pytest.approx(0.0033333333)
    assert row["mean"]["rel_err"] == pytest.approx(0.23)
    assert not row["mean"]["agrees"] and row["p99"]["agrees"]
    table = harness.format_table([{"variant": "short", "util": 0.3, "rate": 118.1, "real_util": 0.31,
                                   "compare": row}])
    header, rule, line = table.splitlines()
    assert header.count("|") == rule.count("|") == line.count("|")
    assert line == ("| short | 0.30 | 118.1 | 0.31 | 3.33 (3.20–3.50) | 4.10 | +23 % "
                    "| 8.60 (8.00–9.20) | 9.00 | +5 % | NO/yes |")


def test_compare_leaves_out_runs_without_successes():
    empty = {"n": 0, "mean": math.nan, "p99": math.nan}
    row = harness.compare(reps((0.004, 0.01)) + [empty], {"mean": 0.004, "p99": 0.01})
    assert row["runs"] == 1 and row["mean"]["rel_err"] == 0
    assert harness.compare([empty], {"mean": 0.004, "p99": 0.01}) is None
    line = harness.format_row("long", 0.85, 27.0, 0.2, None)
    assert "no successful request" in line and line.count("|") == 12


def test_wall_time_estimate():
    assert harness.estimate_wall_s(10, 40, 5, 10, 10, per_run_overhead_s=2, per_sim_point_s=5,
                                   build_s=30) == pytest.approx(10 * 42 + 5 * 12 + 50 + 30)


@pytest.mark.parametrize("scheduler,limit", [("go", None), ("ps", None), ("go", 0.5)])
def test_the_podsim_scenario_validates(scheduler, limit):
    scn = model.scenario(name="real-go-test", rate=280.0, work_s=0.00228, overhead_s=0.00026,
                         one_way_latency_s=0.0002, scheduler=scheduler, cpu_limit=limit, sim_requests=1000,
                         warmup_s=5.0)
    pod = scn["services"]["go"]["pod"]
    assert pod["gomaxprocs"] == 1 and pod["work"] == 0.00228 and pod["overhead_cpu"] == 0.00026
    assert pod["scheduler"]["type"] == scheduler
    assert scn["duration"] == pytest.approx(5.0 + 1000 / 280.0)
    assert scn["network"] == {"latency": 0.0002}
    loaded = sim.load(scn)
    assert loaded.services["go"].pod.workers == 4


def test_legacy_scenario_folds_overhead_into_work():
    scn = model.scenario(name="x", rate=100.0, work_s=0.002, overhead_s=0.0003, one_way_latency_s=0.0,
                         scheduler="ps", legacy=True)
    assert scn["services"]["go"]["pod"] == {"cpu": 1, "workers": 4, "queue": 4096, "work": 0.0023}
    assert "network" not in scn
    with pytest.raises(ValueError, match="only run --podsim-scheduler ps"):
        model.scenario(name="x", rate=100.0, work_s=0.002, overhead_s=0.0, one_way_latency_s=0.0,
                       scheduler="go", legacy=True)


def test_command_line_defaults_and_quick():
    run = load_run_module()
    a = run.parse_args([])
    assert (a.seconds, a.reps, a.utils, a.long_utils) == (40.0, 3, [0.3, 0.5, 0.7, 0.85], [0.3, 0.5, 0.7, 0.85])
    assert a.out == REAL_GO
    q = run.parse_args(["--quick", "--reps", "2"])
    assert (q.seconds, q.reps, q.utils) == (6, 2, [0.5, 0.85])
    assert q.out == REAL_GO / "build" / "quick"
    assert run.estimate(q) < 180 < run.estimate(a)
    with pytest.raises(SystemExit):
        run.parse_args(["--utils", "0.5,1.2"])

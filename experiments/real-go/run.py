#!/usr/bin/env python3
"""A real Go service as podsim's ground truth (issue 9).

Builds the server and the load generator, pins them to separate cores,
calibrates podsim's ``work`` and ``overhead_cpu`` from the server's
CPU-seconds per request, measures latency at several utilizations (short
handler, long handler, and a CFS CPU limit through a cgroup when the machine
allows one), runs podsim on the same inputs and writes the side-by-side table.
Needs a quiet two-core machine; see README.md.

    python experiments/real-go/run.py            # the full run (~21 minutes)
    python experiments/real-go/run.py --quick    # a ~2-minute smoke run (numbers not meaningful)
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realgo import harness, model, procs                       # noqa: E402
from realgo.cgroup import CgroupUnavailable, CpuLimitCgroup    # noqa: E402

QUICK = dict(seconds=6, reps=1, utils="0.5,0.85", long_utils="0.7", limit_utils="0.5",
             calib_seconds=4, warmup=1.0, sim_requests=30_000)


def floats(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers (got {text!r})") from None
    if not values or not all(0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"utilizations must be in (0, 1) (got {text!r})")
    return values


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a ~2-minute smoke run: " +
                   ", ".join(f"{k}={v}" for k, v in QUICK.items()) + " (explicit flags win)")
    p.add_argument("--seconds", type=float, help="length of one measured run [40]")
    p.add_argument("--reps", type=int, help="runs per point [3]")
    p.add_argument("--utils", help="utilizations of the short handler [0.3,0.5,0.7,0.85]")
    p.add_argument("--long-utils", help="utilizations of the long handler [as --utils]")
    p.add_argument("--limit-utils", help="utilizations of the CPU limit (fractions of it) [0.5]")
    p.add_argument("--variants", default="short,long,limit", help="which of short,long,limit to run [all]")
    p.add_argument("--work-ms", type=float, default=2.2, help="nominal CPU of the short handler, ms [2.2]")
    p.add_argument("--iters-per-ms", type=float, default=0.0,
                   help="pin the server's spin speed, iterations per CPU ms (0: it calibrates at start) [0]")
    p.add_argument("--long-ms", type=float, default=30.0, help="nominal CPU of the long handler, ms [30]")
    p.add_argument("--limit", type=float, default=0.5, help="CPU limit of the limit variant, cores [0.5]")
    p.add_argument("--workers", type=int, default=4, help="server worker goroutines [4]")
    p.add_argument("--queue", type=int, default=4096, help="server waiting room [4096]")
    p.add_argument("--calib-seconds", type=float, help="length of a calibration run [10]")
    p.add_argument("--low-rate", type=float, default=20.0, help="the low calibration rate, req/s [20]")
    p.add_argument("--calib-util", type=float, default=0.7, help="utilization of the near-target calibration [0.7]")
    p.add_argument("--warmup", type=float, help="seconds at the start of each run left out [2]")
    p.add_argument("--seed", type=int, default=1, help="seeds the arrivals and podsim [1]")
    p.add_argument("--podsim-scheduler", choices=("go", "ps"), default="go", help="podsim's pod CPU model [go]")
    p.add_argument("--quantum", type=float, default=0.010, help="podsim's Go scheduler quantum, s [0.010]")
    p.add_argument("--sim-requests", type=int, help="simulated requests per point [200000]")
    p.add_argument("--no-net-latency", action="store_true",
                   help="give podsim no network latency (default: the calibrated loopback/client time)")
    p.add_argument("--from-real", type=Path, metavar="REAL_JSON",
                   help="skip the measurements: rerun podsim and the table on a saved build/runs/*/real.json")
    p.add_argument("--out", type=Path, help="results.md/json folder [this folder; build/quick with --quick]")
    a = p.parse_args(argv)
    defaults = dict(seconds=40.0, reps=3, utils="0.3,0.5,0.7,0.85", long_utils=None, limit_utils="0.5",
                    calib_seconds=10.0, warmup=2.0, sim_requests=200_000)
    for key, value in defaults.items():
        if getattr(a, key) is None:
            setattr(a, key, QUICK[key] if a.quick else value)
    a.long_utils = a.long_utils or a.utils
    try:
        a.utils, a.long_utils, a.limit_utils = floats(a.utils), floats(a.long_utils), floats(a.limit_utils)
    except argparse.ArgumentTypeError as exc:
        p.error(str(exc))
    a.variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    if bad := set(a.variants) - {"short", "long", "limit"}:
        p.error(f"--variants: unknown {sorted(bad)}")
    if a.seconds <= a.warmup or a.reps < 1 or a.sim_requests < 1000:
        p.error("need --seconds > --warmup, --reps >= 1, --sim-requests >= 1000")
    a.out_given = a.out is not None
    a.out = default_out(a)
    return a


def default_out(a) -> Path:
    return a.out if a.out_given else (procs.BUILD / "quick" if a.quick else procs.HERE)


def points(a) -> list[tuple[str, float]]:
    utils = {"short": a.utils, "long": a.long_utils, "limit": a.limit_utils}
    return [(v, u) for v in a.variants for u in utils[v]]


def estimate(a) -> float:
    pts = points(a)
    calib_runs = 4 + ("long" in a.variants)
    return harness.estimate_wall_s(len(pts) * a.reps, a.seconds, calib_runs, a.calib_seconds, len(pts),
                                   per_sim_point_s=a.sim_requests / 40_000)


class Lab:
    """The built binaries, the run folder, and the measurements."""

    def __init__(self, a, bins):
        self.a, self.bins = a, bins
        self.dir = procs.BUILD / "runs" / dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        self.n = 0

    def load(self, server, path, rate, seconds, tag, seed) -> tuple[procs.LoadRun, dict, dict]:
        before = server.drained_stats()
        run = procs.run_load(self.bins["loadgen"], server.url(path), rate=rate, seconds=seconds,
                             warmup_s=min(self.a.warmup, seconds / 2), seed=seed,
                             out_csv=self.dir / f"{tag}.csv")
        return run, before, server.drained_stats()

    def calibrate(self, server) -> harness.Calibration:
        a, s = self.a, self.a.calib_seconds
        noop_low, b, e = self.load(server, "/noop", a.low_rate, s, "calib-noop-low", a.seed)
        c_noop_low = harness.cpu_per_request(b, e, "noop")
        _, b, e = self.load(server, "/work", a.low_rate, s, "calib-work-low", a.seed + 1)
        c_work_low = harness.cpu_per_request(b, e, "work_ok")
        near = harness.rate_for(a.calib_util, c_work_low)
        _, b, e = self.load(server, "/work", near, s, "calib-work-near", a.seed + 2)
        c_work_near = harness.cpu_per_request(b, e, "work_ok")
        _, b, e = self.load(server, "/noop", near, s, "calib-noop-near", a.seed + 3)
        c_noop_near = harness.cpu_per_request(b, e, "noop")
        cal = harness.Calibration(a.low_rate, near, c_noop_low, c_noop_near, c_work_low, c_work_near,
                                  harness.latency_stats(noop_low.ok_latencies())["p50"])
        print(f"calibration: CPU/request /noop {c_noop_low * 1e3:.3f} ms at {a.low_rate:g}/s, "
              f"{c_noop_near * 1e3:.3f} ms at {near:.0f}/s; /work {c_work_low * 1e3:.3f} ms, "
              f"{c_work_near * 1e3:.3f} ms -> work {cal.work * 1e3:.3f} ms, overhead_cpu "
              f"{cal.overhead_cpu * 1e3:.3f} ms, one-way latency {cal.one_way_latency * 1e6:.0f} us", flush=True)
        return cal

    def calibrate_long(self, server, overhead: float) -> float:
        """CPU per long request near the target rate, minus the HTTP overhead: podsim's long ``work``."""
        a = self.a
        rate = harness.rate_for(a.calib_util, a.long_ms / 1e3 + overhead)
        _, b, e = self.load(server, f"/work?ms={a.long_ms:g}", rate, a.calib_seconds, "calib-long", a.seed + 4)
        cpu = harness.cpu_per_request(b, e, "work_ok")
        print(f"calibration (long): CPU/request {cpu * 1e3:.3f} ms at {rate:.1f}/s", flush=True)
        return cpu - overhead

    def measure(self, server, variant, util, rate, path, rep, total, cgroup=None) -> dict:
        self.n += 1
        seed = self.a.seed * 1000 + self.n
        thr0 = cgroup.throttling() if cgroup else None
        run, b, e = self.load(server, path, rate, self.a.seconds, f"{variant}-u{util:g}-r{rep}", seed)
        ok = run.ok_latencies()
        stats = (harness.latency_stats(ok) if len(ok)
                 else {"n": 0, "mean": float("nan"), "p50": float("nan"), "p99": float("nan")})
        late = run.measured().late_s
        stats.update(rep=rep, seed=seed, failed=run.failed(), real_util=harness.measured_utilization(b, e),
                     late_p50=float(late.quantile(0.5)), late_p99=float(late.quantile(0.99)))
        if cgroup:
            thr1 = cgroup.throttling()
            stats["throttled_periods"] = thr1["nr_throttled"] - thr0["nr_throttled"]
            stats["throttled_s"] = thr1["throttled_s"] - thr0["throttled_s"]
        print(f"[{self.n}/{total}] {variant} u={util:.2f} rep {rep}: {rate:.1f} req/s, mean "
              f"{stats['mean'] * 1e3:.2f} ms, p99 {stats['p99'] * 1e3:.2f} ms, server CPU {stats['real_util']:.2f}, "
              f"failed {stats['failed']}, send lateness p99 {stats['late_p99'] * 1e3:.2f} ms", flush=True)
        return stats


def measure_variant(lab, server, variant, utils, cpu_per_req, cores, path, total, cgroup=None) -> list[dict]:
    pts = [{"variant": variant, "util": u, "rate": harness.rate_for(u, cpu_per_req, cores), "reps": []}
           for u in utils]
    for rep in range(1, lab.a.reps + 1):          # replicates outermost: drift spreads over all points
        for p in pts:
            p["reps"].append(lab.measure(server, variant, p["util"], p["rate"], path, rep, total, cgroup))
    return pts


def run_real(a, bins, lab) -> tuple[dict, list[dict]]:
    total = len(points(a)) * a.reps
    server_args = dict(workers=a.workers, queue=a.queue, work_ms=a.work_ms, iters_per_ms=a.iters_per_ms)
    pts, inputs = [], {}
    with procs.Server(bins["server"], lab.dir / "server.log", **server_args) as server:
        print(f"server: {server.banner}", flush=True)
        server_args["iters_per_ms"] = server.stats()["iters_per_ms"]   # the limit variant spins the same
        cal = lab.calibrate(server)
        inputs["short"] = dict(work=cal.work, cores=1.0, limit=None)
        if "short" in a.variants:
            pts += measure_variant(lab, server, "short", a.utils, cal.cpu_per_request, 1.0, "/work", total)
        if "long" in a.variants:
            long_work = lab.calibrate_long(server, cal.overhead_cpu)
            inputs["long"] = dict(work=long_work, cores=1.0, limit=None)
            pts += measure_variant(lab, server, "long", a.long_utils, long_work + cal.overhead_cpu, 1.0,
                                   f"/work?ms={a.long_ms:g}", total)
    limit_note = "not requested"
    if "limit" in a.variants:
        try:
            cgroup = CpuLimitCgroup.create(a.limit)
        except (CgroupUnavailable, ValueError) as exc:
            limit_note = f"NOT POSSIBLE on this machine: {exc}"
            print(f"CPU-limit variant skipped: {limit_note}", flush=True)
        else:
            limit_note = cgroup.describe()
            inputs["limit"] = dict(work=cal.work, cores=a.limit, limit=a.limit)
            try:
                with procs.Server(bins["server"], lab.dir / "server-limit.log", cgroup=cgroup,
                                  **server_args) as server:
                    pts += measure_variant(lab, server, "limit", a.limit_utils, cal.cpu_per_request, a.limit,
                                           "/work", total, cgroup)
            finally:
                cgroup.remove()
    return {"calibration": cal, "inputs": inputs, "cgroup": limit_note}, pts


def run_podsim(a, real: dict, pts: list[dict]) -> None:
    missing = model.pod_keys_missing()
    legacy = bool(missing)
    if legacy and a.podsim_scheduler == "go":
        raise procs.HarnessError(f"this podsim lacks the pod keys {missing}: run with --podsim-scheduler ps")
    cal = real["calibration"]
    for p in pts:
        inp = real["inputs"][p["variant"]]
        if legacy and inp["limit"] is not None:
            p["podsim"] = None
            continue
        scn = model.scenario(name=f"real-go-{p['variant']}-{p['util']:g}", rate=p["rate"], work_s=inp["work"],
                             overhead_s=cal.overhead_cpu,
                             one_way_latency_s=0.0 if a.no_net_latency else cal.one_way_latency,
                             scheduler=a.podsim_scheduler, quantum_s=a.quantum, workers=a.workers,
                             queue=a.queue, cpu_limit=inp["limit"], sim_requests=a.sim_requests, legacy=legacy)
        p["podsim"] = model.run_point(scn, seed=a.seed)
        p["podsim"]["scenario"] = scn
    if legacy:
        print(f"note: podsim lacks {missing}; ran processor sharing with overhead_cpu folded into work",
              flush=True)


def machine() -> dict:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model_name = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")),
                      "unknown")
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu_model": model_name,
            "cores": procs.os.cpu_count(), "kernel": platform.release(), "go": procs.go_version(),
            "python": platform.python_version()}


def throttle_row(a, p) -> str:
    """Throttled periods per second of the limit variant: the cgroup's cpu.stat vs podsim's summary."""
    real = harness.spread([r["throttled_periods"] / a.seconds for r in p["reps"]])
    sim_periods = p["podsim"].get("throttled_periods")
    sim_rate = f"{sim_periods / (a.sim_requests / p['rate']):.2f}" if sim_periods is not None else "not reported"
    return f"| {p['util']:.2f} | {real['avg']:.2f} ({real['lo']:.2f}–{real['hi']:.2f}) | {sim_rate} |"


def write_results(a, meta, real, pts) -> str:
    rows = [dict(p, compare=harness.compare(p["reps"], p["podsim"]),
                 real_util=harness.spread([r["real_util"] for r in p["reps"]])["avg"])
            for p in pts if p.get("podsim")]
    table = harness.format_table(rows)
    cal = real["calibration"]
    params = (f"server: {a.workers} workers, queue {a.queue}, GOMAXPROCS=1 on core 0; load generator on core 1; "
              f"short handler {a.work_ms:g} ms nominal, long {a.long_ms:g} ms; {a.reps} runs of {a.seconds:g} s "
              f"per point ({a.warmup:g} s warm-up left out); podsim: scheduler {a.podsim_scheduler}"
              f"{f' (quantum {a.quantum * 1e3:g} ms)' if a.podsim_scheduler == 'go' else ''}, "
              f"{a.sim_requests} simulated requests per point")
    calib = (f"work {cal.work * 1e3:.3f} ms, overhead_cpu {cal.overhead_cpu * 1e3:.3f} ms, one-way network latency "
             f"{(0 if a.no_net_latency else cal.one_way_latency) * 1e6:.0f} us (server CPU per request: /noop "
             f"{cal.noop_low * 1e3:.3f} ms at {cal.low_rate:g}/s, {cal.noop_near * 1e3:.3f} ms at "
             f"{cal.near_rate:.0f}/s; /work {cal.work_low * 1e3:.3f} ms and {cal.work_near * 1e3:.3f} ms)")
    if "long" in real["inputs"]:
        calib += f"; long handler work {real['inputs']['long']['work'] * 1e3:.3f} ms"
    throttle = [throttle_row(a, p) for p in pts if p["variant"] == "limit" and p.get("podsim")]
    md = [f"# Real Go service vs podsim{' (QUICK SMOKE RUN: numbers not meaningful)' if a.quick else ''}", "",
          f"- date: {meta['date']}; machine: {meta['cpu_model']}, {meta['cores']} cores, Linux {meta['kernel']}; "
          f"{meta['go']}; measurements took {meta['measure_wall_s'] / 60:.1f} min; cores busy before the "
          f"start: {', '.join(f'{c} {b:.0%}' for c, b in meta.get('background_busy', {}).items())}",
          f"- {params}", f"- calibration: {calib}", f"- CPU-limit variant: {real['cgroup']}", "",
          "Latency is from the scheduled send time to the end of the response, successful requests only; "
          "`err` = (podsim - real) / real of the runs' average; `agrees`: within 10 % (mean) / 20 % (p99) "
          "or inside the runs' min–max.", "", table, ""]
    if throttle:
        md += ["Throttled periods per second (limit variant):", "", "| util | real (min–max) | podsim |",
               "|---|---|---|",
               *throttle, ""]
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "results.md").write_text("\n".join(md))
    raw = {"meta": meta, "args": args_dict(a),
           "calibration": cal.as_dict(), "inputs": real["inputs"], "cgroup": real["cgroup"],
           "points": pts, "rows": [{k: r[k] for k in ("variant", "util", "rate", "real_util", "compare")}
                                   for r in rows]}
    (a.out / "results.json").write_text(json.dumps(raw, indent=1, default=float))
    return table


def args_dict(a) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}


def save_real(path: Path, meta: dict, real: dict, pts: list[dict], args: dict) -> None:
    """The measurements alone, so podsim and the table can be redone without measuring again."""
    data = {"meta": meta, "args": args, "calibration": dataclasses.asdict(real["calibration"]),
            "inputs": real["inputs"], "cgroup": real["cgroup"], "points": pts}
    path.write_text(json.dumps(data, indent=1, default=float))


def load_real(a, path: Path) -> tuple[dict, dict, list[dict]]:
    """Read a saved real.json; the measurement flags of that run replace this one's."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise procs.HarnessError(f"--from-real {path}: {exc}") from None
    for key in ("seconds", "reps", "utils", "long_utils", "limit_utils", "variants", "work_ms", "long_ms",
                "limit", "workers", "queue", "calib_seconds", "low_rate", "calib_util", "warmup", "quick"):
        setattr(a, key, data["args"][key])
    real = {"calibration": harness.Calibration(**data["calibration"]), "inputs": data["inputs"],
            "cgroup": data["cgroup"]}
    return data["meta"], real, data["points"]


def main(argv=None) -> int:
    a = parse_args(argv)
    t0 = time.time()
    try:
        if a.from_real:
            meta, real, pts = load_real(a, a.from_real)
            a.out = default_out(a)                   # a quick run's measurements stay out of results.md
            print(f"real-go: podsim on the measurements of {a.from_real} ({meta['date']})", flush=True)
        else:
            print(f"real-go: {len(points(a))} points x {a.reps} runs of {a.seconds:g} s, variants "
                  f"{','.join(a.variants)}; estimated wall time {estimate(a) / 60:.1f} min"
                  f"{' (quick smoke run)' if a.quick else ''}", flush=True)
            procs.check_tools()
            bins = procs.build()
            meta = machine()
            meta["background_busy"] = busy = procs.background_busy()
            print("cores busy before the start: " + ", ".join(f"{c} {b:.0%}" for c, b in busy.items()), flush=True)
            if max(busy.values()) > 0.10:
                print("WARNING: the machine is not quiet; latencies will be noise, not ground truth", flush=True)
            lab = Lab(a, bins)
            real, pts = run_real(a, bins, lab)
            meta["measure_wall_s"] = time.time() - t0
            save_real(lab.dir / "real.json", meta, real, pts, args_dict(a))
            print(f"measurements saved: {lab.dir / 'real.json'} (raw requests alongside)", flush=True)
        try:
            run_podsim(a, real, pts)
        except ImportError as exc:
            raise procs.HarnessError(f"podsim could not be imported ({exc}); rerun the podsim side later "
                                     f"with --from-real build/runs/<run>/real.json") from None
    except (procs.HarnessError, ValueError) as exc:
        print(f"real-go: {exc}", file=sys.stderr)
        return 2
    table = write_results(a, meta, real, pts)
    print(table)
    print(f"wrote {a.out / 'results.md'} and results.json ({(time.time() - t0) / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Readable text tables of a run's summary, for ``podsim run``.

The headline (requests by final status, rates, latency of successful requests
and of every finished one, the SLO), one line per service and one per window
(``windows.NAME``: goodput, success, SLO and p99 of every finished request). A service's
``failed`` counts only attempts that reached it (or were lost on the way to
it): what the caller stopped before sending (its breaker open, its adaptive
throttle, its own bulkhead full) is shown apart as ``refused``, because the
service never saw it. A footer line says what each column means.
"""
from __future__ import annotations

import textwrap
from typing import Optional

from ..units import format_duration

BELOW_RESOLUTION_S = 1e-6
"""Durations shorter than this print as 0: float noise of ``started - arrived``
(an attempt that never waited) must not read as a wait of ``2.62ns``."""

COLUMNS_FOOTER = (
    "arrivals: attempts that reached the service; ok/failed: their outcome as the caller saw it "
    "(failed = timeout + rejected + error; the rest were in flight at the end); refused: attempts its callers never sent (breaker open, "
    "throttled, caller's bulkhead full); waited: share that found every worker busy; wait: mean "
    "queue wait; p50/p99: latency of ok attempts (network included); cpu: CPU used / requested; "
    "replicas: time-weighted mean/max; pod-s: pod-seconds. /name: an endpoint of the service "
    "above; (ext): an external dependency (attempts sent to it; no pods); (fn): a function "
    "(requests it received; instances: time-weighted mean/max).")


def _duration(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return "0" if abs(value) < BELOW_RESOLUTION_S else format_duration(value)


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def refused_by_caller(service: dict) -> int:
    """Attempts to ``service`` its callers stopped before sending."""
    return service.get("breaker_open", 0) + service.get("throttled", 0) + service.get("bulkhead_full", 0)


def failed_at_service(service: dict) -> int:
    """Attempts that left the caller and failed: timeout, rejected, error (a
    ``rejected`` by the caller's own bulkhead is not one of them)."""
    return (service["rejected"] - service.get("bulkhead_full", 0) + service["timeout"]
            + service["error"])


def _headline(summary: dict) -> list[str]:
    req, lat = summary["requests"], summary["latency_s"]
    failed = {k: v for k, v in req.items() if k not in ("total", "ok", "failed") and v}
    lines = [
        f"scenario {summary['scenario']!r}  seed {summary['seed']}  "
        f"window {format_duration(summary['warmup_s'])}..{format_duration(summary['duration_s'])}  "
        f"({summary['wall_s']:.2f}s wall, {summary['events']:,} events)",
        f"requests  {req['total']:,}  ok {req['ok']:,}  success {_pct(summary['success_ratio'])}"
        + (f"  ({', '.join(f'{k} {v:,}' for k, v in failed.items())})" if failed else ""),
        f"rates     offered {summary['offered_rps']:.1f}/s  goodput {summary['goodput_rps']:.1f}/s  "
        f"attempts/request {summary['attempts_per_request'] or 0:.2f}",
        f"latency   ok:  mean {_duration(lat['mean'])}  p50 {_duration(lat['p50'])}  "
        f"p90 {_duration(lat['p90'])}  p99 {_duration(lat['p99'])}  p99.9 {_duration(lat['p999'])}  "
        f"max {_duration(lat['max'])}",
    ]
    every = summary.get("latency_all_s")
    if every is not None:
        lines.append(f"          all: mean {_duration(every['mean'])}  p50 {_duration(every['p50'])}  "
                     f"p90 {_duration(every['p90'])}  p99 {_duration(every['p99'])}  "
                     f"p99.9 {_duration(every['p999'])}  max {_duration(every['max'])}")
    slo = summary.get("slo")
    if slo is not None:
        burn = "-" if slo["error_budget_burn"] is None else f"{slo['error_budget_burn']:.2f}x"
        lines.append(f"slo       ok within {_duration(slo['latency_s'])}: {_pct(slo['good_ratio'])} "
                     f"(target {100 * slo['target']:g}%)  bad {slo['bad']:,}  error-budget burn {burn}")
    return lines + [""]


def _service_lines(services: dict) -> list[str]:
    header = (f"{'service':<16}{'arrivals':>10}{'ok':>10}{'failed':>8}{'refused':>9}{'waited':>8}"
              f"{'wait':>9}{'p50':>9}{'p99':>9}{'cpu':>7}{'replicas':>10}{'pod-s':>9}")
    lines = [header, "-" * len(header)]
    for name, svc in services.items():
        rep = svc["replicas"]
        lines.append(
            f"{name:<16}{svc['arrivals']:>10,}{svc['ok']:>10,}{failed_at_service(svc):>8,}"
            f"{refused_by_caller(svc):>9,}"
            f"{_pct(svc['waited_ratio']):>8}{_duration(svc['queue_wait_s']['mean']):>9}"
            f"{_duration(svc['latency_s']['p50']):>9}{_duration(svc['latency_s']['p99']):>9}"
            f"{_pct(svc['cpu_utilization']):>7}{rep['mean']:>6.1f}/{rep['max']:<3}"
            f"{svc['pod_seconds']:>9,.0f}")
        for endpoint, ep in svc.get("endpoints", {}).items():
            lines.append(f"{'  /' + endpoint:<16}{ep['arrivals']:>10,}{ep['ok']:>10,}"
                         f"{ep['failed']:>8,}{'':>25}"
                         f"{_duration(ep['latency_s']['p50']):>9}{_duration(ep['latency_s']['p99']):>9}")
    return lines


def _external_lines(externals: dict) -> list[str]:
    """One line per external dependency, in the services' columns (no pods)."""
    lines = []
    for name, ext in externals.items():
        failed = ext["errors"] + ext["rejected"] + ext["timeout"]
        lines.append(f"{name + ' (ext)':<16}{ext['attempts']:>10,}{ext['ok']:>10,}{failed:>8,}"
                     f"{'':>25}{_duration(ext['latency_s']['p50']):>9}"
                     f"{_duration(ext['latency_s']['p99']):>9}{'-':>7}{'-':>10}{'-':>9}")
    return lines


def _function_lines(functions: dict) -> list[str]:
    """One line per function: invocations, ok-or-not is the callers' to say;
    cold starts, warm and cold p99, mean instances."""
    lines = []
    for name, f in functions.items():
        cold = "-" if f["cold_start_ratio"] is None else f"{100 * f['cold_start_ratio']:.1f}%"
        lines.append(f"{name + ' (fn)':<16}{f['invocations']:>10,}  cold {f['cold_starts']:,} ({cold})"
                     f"  throttled {f['throttled']:,}  p99 warm {_duration(f['latency_warm_s']['p99'])}"
                     f" cold {_duration(f['latency_cold_s']['p99'])}  instances "
                     f"{f['instances_mean'] or 0:.1f}/{f['instances_max']}")
    return lines


def _duplicate_lines(summary: dict) -> list[str]:
    """Logical calls done more than once: every named call, and any service or
    external with some."""
    found = [f"{n} {v['duplicates']:,}" for n, v in summary["services"].items() if v.get("duplicates")]
    found += [f"{n} (ext) {v['duplicates']:,}" for n, v in summary.get("external", {}).items()
              if v["duplicates"]]
    found += [f"call {n!r} {v['duplicates']:,}" for n, v in summary.get("call_sites", {}).items()]
    if not found:
        return []
    return ["duplicates (calls whose work was done more than once): " + ", ".join(found)]


def _window_lines(windows: dict) -> list[str]:
    """One line per window (requests counted by arrival): what a fault left behind."""
    if not windows:
        return []
    lines = ["", f"{'window':<20}{'from':>8}{'to':>8}{'requests':>10}{'goodput':>10}{'success':>9}"
             f"{'slo good':>10}{'burn':>9}{'p99 all':>9}"]
    for name, w in windows.items():
        goodput = "-" if w["goodput_rps"] is None else f"{w['goodput_rps']:.1f}/s"
        burn = "-" if w["slo"]["error_budget_burn"] is None else f"{w['slo']['error_budget_burn']:.2f}x"
        lines.append(f"{name:<20}{format_duration(w['from_s']):>8}{format_duration(w['to_s']):>8}"
                     f"{w['requests']['total']:>10,}{goodput:>10}{_pct(w['success_ratio']):>9}"
                     f"{_pct(w['slo']['good_ratio']):>10}{burn:>9}"
                     f"{_duration(w['latency_all_s']['p99']):>9}")
    return lines


def summary_table(summary: dict) -> str:
    """The headline numbers, one line per service, one per window and a footer
    explaining the service columns."""
    services = _service_lines(summary["services"]) + _external_lines(summary.get("external", {})) \
        + _function_lines(summary.get("functions", {}))
    footer = textwrap.wrap(COLUMNS_FOOTER, width=len(services[0]))
    return "\n".join(_headline(summary) + services + _duplicate_lines(summary) + [""] + footer
                     + _window_lines(summary.get("windows", {})))

"""The timeline figure of one run: the picture people paste into design reviews.

One figure, shared time axis, for one service: offered load and goodput;
failed external requests by status; replicas (desired, ready, total); CPU
utilization against the HPA target; latency p50 and p99. Fault windows are
shaded and scaling decisions marked.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

import matplotlib
import matplotlib.ticker


import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_FAIL_COLORS = {"timeout": "#d62728", "rejected": "#ff7f0e", "error": "#9467bd",
                "breaker_open": "#8c564b", "throttled": "#e377c2", "budget_exhausted": "#7f7f7f",
                "unfinished": "#bcbd22"}


def _entry_service(result) -> str:
    """The first workload's target; for an event source (a topic), its first consumer."""
    sc = result.scenario
    target = next(iter(sc.workload.values())).target_service
    if target in sc.topics:
        return next((n for n, s in sc.services.items() if s.consumes and s.consumes.topic == target),
                    next(iter(sc.services)))
    return target


def _cpu_target(result, service: str) -> Optional[float]:
    hpa = result.scenario.services[service].hpa
    if hpa is None:
        return None
    for metric in hpa.metrics or []:
        if metric.type == "Resource" and metric.resource.target.type == "Utilization":
            return metric.resource.target.averageUtilization / 100.0
    return 0.8 if not hpa.metrics else None


def _time_unit(duration_s: float) -> tuple[float, str]:
    """Minutes for runs up to three hours, hours beyond."""
    return (3600.0, "hours") if duration_s > 3 * 3600 else (60.0, "minutes")


def _failures_by_status(result, widths: np.ndarray) -> dict[str, np.ndarray]:
    """Failed external requests per second by final status, per sample interval
    (from :attr:`sim.result.Result.request_series`: exact at every record level)."""
    series = result.request_series
    return {status: series[status].to_numpy()[:len(widths)] / widths for status in _FAIL_COLORS
            if status in series and series[status].sum() > 0}


def _shade_faults(axes, result, scale: float) -> None:
    ev = result.events
    started = ev[ev["kind"] == "fault_started"]
    ended = ev[ev["kind"] == "fault_ended"]
    for _, row in started.iterrows():
        match = ended[(ended["detail"] == row["detail"]) & (ended["t_s"] >= row["t_s"])]
        end = match["t_s"].iloc[0] if len(match) else result.scenario.duration
        for ax in axes:
            ax.axvspan(row["t_s"] / scale, end / scale, color="#f2b134", alpha=0.15, lw=0)
        axes[0].annotate(" ".join(str(row["detail"]).split(" ")[:2]),
                         (row["t_s"] / scale, 1.0), xycoords=("data", "axes fraction"),
                         fontsize=7, va="top", color="#a06000")


def timeline(result, service: Optional[str] = None, figsize=(11, 11)):
    """The timeline figure of ``result`` for ``service`` (default: the entry service)."""
    service = service or _entry_service(result)
    if service not in result.scenario.services:
        raise ValueError(f"no service {service!r} (known: {', '.join(result.scenario.services)})")
    ts = result.timeseries
    ts = ts[ts["service"] == service]
    t = ts["t_s"].to_numpy()
    interval = result.scenario.sample_interval
    edges = np.concatenate([[t[0] - interval], t]) if len(t) else np.array([0.0, 1.0])
    widths = np.diff(edges)
    fig, axes = plt.subplots(5, 1, figsize=figsize, sharex=True, layout="constrained",
                             gridspec_kw={"height_ratios": [1.2, 0.9, 1, 1, 1.1]})
    scale, unit = _time_unit(result.scenario.duration)
    x = t / scale

    consumes = result.scenario.services[service].consumes
    ax = axes[0]
    if consumes is not None:
        _lag_panel(ax, x, ts, consumes)
    else:
        ax.plot(x, ts["arrivals"] / widths, label=f"arrivals at {service} /s", color="#1f77b4")
        ax.plot(x, ts["ok"] / widths, label="ok /s", color="#2ca02c")
        offered = result.request_series["offered"].to_numpy()[:len(widths)] / widths
        ax.plot(x, offered, label="offered (external) /s", color="#444", ls="--", lw=1)
        ax.set_ylabel("requests/s")
        ax.legend(loc="upper left", fontsize=8, ncol=3)

    ax = axes[1]
    failures = _failures_by_status(result, widths)
    if failures:
        ax.stackplot(x, *failures.values(), labels=list(failures), alpha=0.8,
                     colors=[_FAIL_COLORS[k] for k in failures])
        ax.legend(loc="upper left", fontsize=8, ncol=4)
    else:
        ax.text(0.5, 0.5, "no failed requests", transform=ax.transAxes, ha="center", color="#888")
    ax.set_ylabel("failed/s")

    ax = axes[2]
    ax.step(x, ts["replicas"], where="post", label="replicas", color="#7f7f7f")
    ax.step(x, ts["ready_replicas"], where="post", label="ready", color="#2ca02c")
    spec = result.scenario.services[service]
    scaler = "HPA" if spec.hpa is not None else "KEDA" if spec.keda is not None else None
    ax.step(x, ts["desired_replicas"], where="post", label=f"desired ({scaler})" if scaler else "desired",
            color="#1f77b4", ls="--")
    ax.set_ylabel("pods")
    ax.legend(loc="upper left", fontsize=8, ncol=3)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    scaled = result.events[(result.events["kind"] == "scaled") & (result.events["service"] == service)]
    for when in scaled["t_s"].to_numpy() / scale:
        ax.axvline(when, color="#1f77b4", alpha=0.25, lw=0.8)

    ax = axes[3]
    ax.plot(x, 100 * ts["cpu_utilization"], color="#d62728", label="CPU used / requested")
    target = _cpu_target(result, service)
    if target is not None:
        ax.axhline(100 * target, color="#d62728", ls=":", label=f"HPA target {100 * target:.0f}%")
    ax.set_ylabel("CPU %")
    ax.legend(loc="upper left", fontsize=8, ncol=2)

    ax = axes[4]
    if consumes is not None:
        _processed_panel(ax, x, edges, result, service, consumes, unit)
        return _finish(fig, axes, result, service, scale)
    ax.plot(x, 1000 * ts["latency_p50_s"], label="p50", color="#1f77b4")
    ax.plot(x, 1000 * ts["latency_p99_s"], label="p99", color="#d62728")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylabel(f"ok latency at {service} (ms)")
    ax.set_xlabel(f"time ({unit})")
    ax.legend(loc="upper left", fontsize=8, ncol=2)

    return _finish(fig, axes, result, service, scale)


def _finish(fig, axes, result, service: str, scale: float):
    """Fault shading, warm-up, grids and the title (a consumer's: its group's
    end-to-end p99 instead of the requests')."""
    _shade_faults(axes, result, scale)
    warm = result.scenario.warmup / scale
    for ax in axes:
        ax.grid(True, alpha=0.3)
        if warm > 0:
            ax.axvspan(0, warm, color="#000", alpha=0.04, lw=0)
    summary = result.summary
    consumes = result.scenario.services[service].consumes
    if consumes is not None:
        group = summary["topics"][consumes.topic]["groups"][consumes.group or service]
        e2e = group["end_to_end_s"]["p99"]
        headline = (f"{group['acked']:,} messages acked, end-to-end p99 "
                    f"{'-' if e2e is None else f'{1000 * e2e:.0f} ms'}, max lag "
                    f"{group['lag_max'] or 0:,.0f}")
    else:
        headline = (f"success {100 * (summary['success_ratio'] or 0):.1f}%, p99 "
                    f"{1000 * (summary['latency_s']['p99'] or float('nan')):.0f} ms")
    fig.suptitle(f"{result.scenario.name} — {service}   (seed {summary['seed']}; {headline}, "
                 f"{summary['services'][service]['pod_seconds'] / 3600:.1f} pod-hours)", fontsize=11)
    return fig


def _lag_panel(ax, x, ts, consumes) -> None:
    """A consumer's backlog: its group's lag, and the oldest message's age."""
    ax.plot(x, ts["lag"], color="#9467bd", label=f"lag on {consumes.topic} (messages)")
    ax.set_ylabel("lag (messages)")
    ax.set_ylim(bottom=0)
    age = ax.twinx()
    age.plot(x, ts["oldest_age_s"], color="#8c564b", ls="--", lw=1, label="oldest message age (s)")
    age.set_ylabel("oldest age (s)")
    age.set_ylim(bottom=0)
    lines = ax.get_lines() + age.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper left", fontsize=8, ncol=2)


def _processed_panel(ax, x, edges, result, service: str, consumes, unit: str) -> None:
    """Messages the consumer acknowledged, and deliveries that failed, per second."""
    widths = np.diff(edges)
    if "messages" not in result.table_names:
        ax.text(0.5, 0.5, "no messages table (record: full keeps it)", transform=ax.transAxes,
                ha="center", color="#888")
    else:
        m = result.messages
        group = consumes.group or service
        mine = m[(m["topic"] == consumes.topic) & (m["group"].astype(str).str.endswith(group))]
        acked = np.histogram(mine.loc[mine["acked"], "ended_s"], bins=edges)[0]
        failed = np.histogram(mine.loc[mine["status"] != "ok", "ended_s"], bins=edges)[0]
        ax.plot(x, acked / widths, color="#2ca02c", label="acked /s")
        ax.plot(x, failed / widths, color="#d62728", label="failed deliveries /s")
        ax.legend(loc="upper left", fontsize=8, ncol=2)
    ax.set_ylabel("messages/s")
    ax.set_xlabel(f"time ({unit})")


def save_timeline(result, path: Union[str, os.PathLike], service: Optional[str] = None,
                  dpi: int = 110) -> Path:
    """Write the timeline figure to ``path`` (PNG, SVG or PDF by extension)."""
    fig = timeline(result, service=service)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path

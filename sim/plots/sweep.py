"""Figures of an experiment (matplotlib, no display: plain ``Figure`` objects
on the Agg canvas, saved with ``savefig``; they also show inline in Jupyter).

- :func:`metric_by_factor`: per metric, arms side by side across a factor, with CIs;
- :func:`heatmap`: a two-factor grid, one panel per arm;
- :func:`cost_vs_latency`: pod-seconds against p99, one point per arm and design
  point with CI crosses (the cost/latency trade-off);
- :func:`timeseries_overlay`: one replication's time series with every arm overlaid.

They take the long summary of :func:`sim.experiment.stats.summarize`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

TIMESERIES_PANELS = (("latency_p99_s", "p99 latency (s)"), ("ready_replicas", "ready replicas"),
                     ("cpu_utilization", "CPU utilization"), ("queue_length", "queue length"),
                     ("failed", "failed / interval"))


def _varying(summary: pd.DataFrame, factors: Sequence[str]) -> list[str]:
    return [f for f in factors if f in summary.columns and summary[f].nunique(dropna=False) > 1]


def _levels(values: pd.Series) -> list:
    unique = list(dict.fromkeys(values.tolist()))
    try:
        return sorted(unique)
    except TypeError:
        return unique


def _label(value) -> str:
    if isinstance(value, float):
        return "null" if np.isnan(value) else f"{value:.4g}"
    return str(value)


def metric_by_factor(summary: pd.DataFrame, metric: str, factor: Optional[str] = None) -> Figure:
    """Mean and CI of ``metric`` for each arm, across the levels of ``factor``
    (default: the first factor that varies); other varying factors become
    separate series. Without factors, one bar per arm."""
    data = summary[summary["metric"] == metric]
    arms = list(summary.attrs.get("arms") or dict.fromkeys(data["arm"]))
    varying = _varying(data, summary.attrs.get("dimensions", summary.attrs.get("factors", [])))
    factor = factor or (varying[0] if varying else None)
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    if factor is None:
        means = [data.loc[data["arm"] == a, "mean"].mean() for a in arms]
        errs = [data.loc[data["arm"] == a, "half_width"].mean() for a in arms]
        ax.bar(range(len(arms)), means, yerr=np.nan_to_num(errs), capsize=4,
               color=[f"C{i}" for i in range(len(arms))])
        ax.set_xticks(range(len(arms)), arms)
        ax.set_xlabel("arm")
    else:
        levels = _levels(data[factor])
        others = [f for f in varying if f != factor]
        series = [(arm, key, group) for arm in arms
                  for key, group in (data[data["arm"] == arm].groupby(others, sort=True, dropna=False)
                                     if others else [((), data[data["arm"] == arm])])]
        width = 0.7 / max(1, len(series))
        theory_labelled = False
        for i, (arm, key, group) in enumerate(series):
            key = key if isinstance(key, tuple) else (key,)
            group = group.set_index(factor).reindex(levels)
            x = np.arange(len(levels)) - 0.35 + width * (i + 0.5)
            label = arm + "".join(f", {o.split('.')[-1]}={_label(k)}" for o, k in zip(others, key))
            color = f"C{(arms.index(arm) if not others else i) % 10}"
            ax.errorbar(x, group["mean"], yerr=np.nan_to_num(group["half_width"].to_numpy(float)),
                        marker="o", capsize=3, label=label, color=color)
            if "analytic" in group.columns and group["analytic"].notna().any():
                ax.plot(x, group["analytic"], linestyle="none", marker="x", markersize=8, color=color,
                        label="theory (M/M/c)" if not theory_labelled else None)
                theory_labelled = True
        ax.set_xticks(range(len(levels)), [_label(v) for v in levels])
        ax.set_xlabel(factor)
        ax.legend(fontsize="small")
    confidence = summary.attrs.get("confidence", 0.95)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: mean and {confidence:.0%} CI")
    ax.grid(alpha=0.3)
    return fig


def heatmap(summary: pd.DataFrame, metric: str, factors: Optional[Sequence[str]] = None) -> Optional[Figure]:
    """A heatmap of the mean of ``metric`` over a two-factor grid, one panel per
    arm (None unless exactly two grid factors vary and nothing else does, or
    ``factors`` names two)."""
    data = summary[summary["metric"] == metric]
    dims = summary.attrs.get("dimensions", summary.attrs.get("factors", []))
    varying = list(factors) if factors else _varying(data, summary.attrs.get("grid", dims))
    if not factors and len(_varying(data, dims)) != len(varying):
        return None                    # a sampled design: not a grid
    if len(varying) != 2:
        return None
    fx, fy = varying
    arms = list(summary.attrs.get("arms") or dict.fromkeys(data["arm"]))
    xs, ys = _levels(data[fx]), _levels(data[fy])
    fig = Figure(figsize=(3.6 * len(arms) + 1.0, 3.4), layout="constrained")
    axes = fig.subplots(1, len(arms), squeeze=False)[0]
    grid = {a: data[data["arm"] == a].pivot_table(index=fy, columns=fx, values="mean", aggfunc="mean",
                                                   dropna=False).reindex(index=ys, columns=xs)
            for a in arms}
    values = np.concatenate([g.to_numpy(float).ravel() for g in grid.values()])
    finite = values[np.isfinite(values)]
    vmin, vmax = (finite.min(), finite.max()) if len(finite) else (0, 1)
    image = None
    for ax, arm in zip(axes, arms):
        z = grid[arm].to_numpy(float)
        image = ax.imshow(z, origin="lower", aspect="auto", vmin=vmin, vmax=vmax, cmap="viridis")
        for (j, i), v in np.ndenumerate(z):
            if np.isfinite(v):
                ax.text(i, j, f"{v:.3g}", ha="center", va="center", fontsize=7,
                        color="white" if v < (vmin + vmax) / 2 else "black")
        ax.set_xticks(range(len(xs)), [_label(v) for v in xs])
        ax.set_yticks(range(len(ys)), [_label(v) for v in ys])
        ax.set_xlabel(fx)
        ax.set_ylabel(fy)
        ax.set_title(arm)
    fig.colorbar(image, ax=list(axes), label=metric)
    fig.suptitle(f"{metric} (mean over replications)")
    return fig


def cost_metric(summary: pd.DataFrame) -> Optional[str]:
    """``pod_seconds`` (total) if summarized, else the first ``services.*.pod_seconds``."""
    metrics = set(summary["metric"])
    if "pod_seconds" in metrics:
        return "pod_seconds"
    return next((m for m in summary["metric"].unique() if m.endswith(".pod_seconds")), None)


def cost_vs_latency(summary: pd.DataFrame, cost: Optional[str] = None,
                    latency: str = "latency_s.p99") -> Optional[Figure]:
    """Cost (pod-seconds) against latency, one point per (arm, design point),
    with CI crosses; None if either metric is missing."""
    cost = cost or cost_metric(summary)
    if cost is None or latency not in set(summary["metric"]):
        return None
    wide = summary[summary["metric"].isin([cost, latency])].pivot_table(
        index=["arm", "point"], columns="metric", values=["mean", "half_width"], aggfunc="first", dropna=False)
    arms = list(summary.attrs.get("arms") or dict.fromkeys(summary["arm"]))
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    many_points = wide.index.get_level_values("point").nunique() > 1
    for i, arm in enumerate(arms):
        if arm not in wide.index.get_level_values("arm"):
            continue
        part = wide.xs(arm, level="arm")
        ax.errorbar(part[("mean", cost)], part[("mean", latency)],
                    xerr=np.nan_to_num(part[("half_width", cost)].to_numpy(float)),
                    yerr=np.nan_to_num(part[("half_width", latency)].to_numpy(float)),
                    fmt="o", capsize=3, color=f"C{i % 10}", label=arm)
        if many_points:
            for point, row in part.iterrows():
                ax.annotate(f"p{point}", (row[("mean", cost)], row[("mean", latency)]),
                            textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel(f"{cost} (cost)")
    ax.set_ylabel(latency)
    ax.set_title("cost vs tail latency (mean and CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def timeseries_frames(exp, point: int = 0, replication: int = 0,
                      runs_dir: Optional[Path] = None) -> dict[str, pd.DataFrame]:
    """The time series of one replication of every arm at ``point``: read from
    kept runs (``runs_dir/<run_id>/timeseries.parquet``) or simulated again
    (the same seed and replication reproduce the stored run exactly)."""
    from ..experiment.expand import run_id
    from ..runner import run
    frames = {}
    for arm in exp.arms:
        kept = Path(runs_dir) / run_id(arm, point, replication) / "timeseries.parquet" if runs_dir else None
        if kept is not None and kept.exists():
            frames[arm] = pd.read_parquet(kept)
        else:
            frames[arm] = run(exp.scenario_for(arm, point), seed=exp.seed_for(arm, point),
                              replication=replication).timeseries
    return frames


def timeseries_overlay(frames: dict[str, pd.DataFrame], service: str,
                       panels: Sequence[tuple[str, str]] = TIMESERIES_PANELS, title: str = "") -> Figure:
    """Stacked panels over simulated time, one line per arm, for ``service``."""
    present = [p for p in panels if any(p[0] in f.columns for f in frames.values())]
    fig = Figure(figsize=(8, 1.9 * len(present) + 0.8), layout="constrained")
    axes = fig.subplots(len(present), 1, sharex=True, squeeze=False)[:, 0]
    for i, (arm, frame) in enumerate(frames.items()):
        part = frame[frame["service"] == service]
        for ax, (column, label) in zip(axes, present):
            if column in part.columns:
                ax.plot(part["t_s"], part[column], color=f"C{i % 10}", label=arm, lw=1.2)
                ax.set_ylabel(label, fontsize="small")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small", ncol=min(4, len(frames)))
    axes[-1].set_xlabel("simulated time (s)")
    fig.suptitle(title or f"{service}: one replication, every arm")
    return fig


def save_figures(exp, summary: pd.DataFrame, out_dir: Path, runs_dir: Optional[Path] = None,
                 timeseries: bool = True) -> list[tuple[str, Path]]:
    """Write every figure that applies to ``out_dir``; return ``(title, path)`` pairs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []

    def save(fig: Optional[Figure], name: str, title: str) -> None:
        if fig is None:
            return
        path = out_dir / name
        fig.savefig(path, dpi=110)
        written.append((title, path))

    metrics = [m for m in summary.attrs.get("metrics", []) if m in set(summary["metric"])]
    for i, metric in enumerate(metrics):
        save(metric_by_factor(summary, metric), f"metric-{i:02d}-{_slug(metric)}.png", metric)
    if metrics:
        save(heatmap(summary, metrics[0]), f"heatmap-{_slug(metrics[0])}.png", f"{metrics[0]} heatmap")
    save(cost_vs_latency(summary), "cost-vs-p99.png", "cost vs p99 latency")
    if timeseries:
        frames = timeseries_frames(exp, 0, 0, runs_dir)
        save(timeseries_overlay(frames, exp.entry_service,
                                title=f"{exp.entry_service}: replication 0, design point 0, every arm"),
             "timeseries.png", "time series (replication 0)")
    return written


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")

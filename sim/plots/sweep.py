"""Figures of an experiment (matplotlib, no display: plain ``Figure`` objects
on the Agg canvas, saved with ``savefig``; they also show inline in Jupyter).

- :func:`metric_by_factor`: per metric, a dot plot of every arm (rows) at every
  level of the first grid factor (keyed colours), with CIs;
- :func:`heatmap`: a two-factor grid, one panel per arm;
- :func:`cost_vs_latency`: pod-seconds against tail latency, one point per arm
  (colour) and design point (marker, keyed), with CI crosses;
- :func:`timeseries_overlay`: one replication's time series with every arm
  overlaid, warm-up and faults shaded, the HPA target drawn.

Axes carry human labels with units (:mod:`sim.experiment.labels`): seconds as
ms, ratios and CPU as %. Confidence intervals of non-negative metrics are
clipped at 0 (and ratios at 100 %). Nothing here runs a simulation: the time
series come from the sweep's store (``DIR/timeseries/``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..experiment.labels import Labels, MetricDisplay, number

MARKERS = "osD^vP*Xph"
WARMUP_COLOR, FAULT_COLOR = "#000000", "#f2b134"
# (column, label, how): rate = per second over the sample interval; pct = x100; ms = x1000 on a log axis
TIMESERIES_PANELS = (("arrivals", "arrivals (req/s)", "rate"), ("failed", "failed (req/s)", "rate"),
                     ("ready_replicas", "ready pods", "step"),
                     ("cpu_utilization", "CPU used / requested (%)", "pct"),
                     ("latency_p99_s", "p99 latency, ok requests (ms)", "ms"))
CONSUMER_PANELS = (("lag", "lag (messages)", "line"), ("oldest_age_s", "oldest message age (s)", "line"),
                   ("ready_replicas", "ready pods", "step"),
                   ("cpu_utilization", "CPU used / requested (%)", "pct"))
"""The panels for a consumer service: its group's backlog instead of requests."""


def _varying(summary: pd.DataFrame, factors: Sequence[str]) -> list[str]:
    return [f for f in factors if f in summary.columns and summary[f].nunique(dropna=False) > 1]


def _is_nan(value) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _levels(values: pd.Series) -> list:
    """The distinct levels of a factor column, NaN (a null level) once and first, then sorted."""
    unique = list(pd.unique(values))
    rest = [v for v in unique if not _is_nan(v)]
    try:
        rest = sorted(rest)
    except TypeError:
        pass
    return [v for v in unique if _is_nan(v)][:1] + rest


def _labels(summary: pd.DataFrame, labels: Optional[Labels]) -> Labels:
    return labels or summary.attrs.get("labels") or Labels()


def clipped_errors(shown: MetricDisplay, mean: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Asymmetric error bars ``[[below], [above]]`` in display units: a
    non-negative metric never reaches below 0, a ratio never above 100 %."""
    mean, half = np.asarray(mean, float), np.nan_to_num(np.asarray(half, float))
    below, above = half.copy(), half.copy()
    if shown.nonnegative:
        below = np.minimum(below, np.maximum(mean, 0))
    if shown.ratio:
        above = np.minimum(above, np.maximum(1 - mean, 0))
    return np.vstack([below, above]) * shown.scale


def _log_axis(axis) -> None:
    """A log axis with plain-number labels at 1, 2 and 5 of every decade."""
    axis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(mticker.NullFormatter())


def _title(shown: MetricDisplay, confidence: float) -> str:
    return f"{shown.label}: mean and {confidence:.0%} CI"


def metric_by_factor(summary: pd.DataFrame, metric: str, factor: Optional[str] = None,
                     labels: Optional[Labels] = None) -> Figure:
    """Mean and CI of ``metric``: one row per arm, one keyed dot per level of
    ``factor`` (default: the first grid factor that varies; other varying
    factors join the key). A sampled (continuous) factor gets a numeric x axis
    instead, one series per arm."""
    labels = _labels(summary, labels)
    shown = labels.metric(metric)
    data = summary[summary["metric"] == metric]
    arms = list(summary.attrs.get("arms") or dict.fromkeys(data["arm"]))
    arms = [a for a in arms if a in set(data["arm"])]
    varying = _varying(data, summary.attrs.get("dimensions", summary.attrs.get("factors", [])))
    grid = set(summary.attrs.get("grid", varying))
    factor = factor or next((f for f in varying if f in grid), varying[0] if varying else None)
    confidence = summary.attrs.get("confidence", 0.95)
    if factor is not None and factor not in grid:
        return _metric_against_range(data, arms, shown, factor, labels, confidence)
    keys = [f for f in varying if f in grid]
    if factor in keys:
        keys.remove(factor)
        keys.insert(0, factor)
    series = [((), data)] if not keys else list(data.groupby(keys, sort=True, dropna=False))
    fig = Figure(figsize=(7.5, 0.55 * len(arms) * max(1, min(len(series), 4) / 2) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    step = 0.7 / max(1, len(series))
    theory_keyed = False
    for i, (key, group) in enumerate(series):
        key = key if isinstance(key, tuple) else (key,)
        group = group.set_index("arm").reindex(arms)
        y = np.arange(len(arms)) + (i - (len(series) - 1) / 2) * step
        mean = group["mean"].to_numpy(float)
        label = ", ".join(f"{labels.factor_name(f)} {labels.level(f, v)}" for f, v in zip(keys, key)) or None
        ax.errorbar(mean * shown.scale, y, xerr=clipped_errors(shown, mean, group["half_width"]),
                    fmt=MARKERS[i % len(MARKERS)], color=f"C{i % 10}", capsize=3, ms=6, label=label)
        if "analytic" in group.columns and group["analytic"].notna().any():
            ax.plot(group["analytic"].to_numpy(float) * shown.scale, y, "x", color="k", ms=8,
                    label=None if theory_keyed else "queueing theory (M/M/c)")
            theory_keyed = True
    ax.set_yticks(range(len(arms)), [labels.arm(a) for a in arms])
    ax.invert_yaxis()
    ax.set_ylim(len(arms) - 0.5, -0.5)
    ax.set_xlabel(shown.axis)
    ax.set_ylabel("arm")
    ax.grid(axis="x", alpha=0.3)
    if keys or ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="best", title=None)
    ax.set_title(_title(shown, confidence))
    return fig


def _metric_against_range(data: pd.DataFrame, arms: list[str], shown: MetricDisplay, factor: str,
                          labels: Labels, confidence: float) -> Figure:
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for i, arm in enumerate(arms):
        part = data[data["arm"] == arm].sort_values(factor)
        mean = part["mean"].to_numpy(float)
        ax.errorbar(part[factor].astype(float), mean * shown.scale,
                    yerr=clipped_errors(shown, mean, part["half_width"]), fmt=MARKERS[i % len(MARKERS)],
                    color=f"C{i % 10}", capsize=3, label=labels.arm(arm))
    ax.set_xlabel(labels.factor(factor))
    ax.set_ylabel(shown.axis)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(_title(shown, confidence))
    return fig


def heatmap(summary: pd.DataFrame, metric: str, factors: Optional[Sequence[str]] = None,
            labels: Optional[Labels] = None) -> Optional[Figure]:
    """A heatmap of the mean of ``metric`` over a two-factor grid, one panel per
    arm (None unless exactly two grid factors vary and nothing else does, or
    ``factors`` names two)."""
    labels = _labels(summary, labels)
    shown = labels.metric(metric)
    data = summary[summary["metric"] == metric]
    dims = summary.attrs.get("dimensions", summary.attrs.get("factors", []))
    varying = list(factors) if factors else _varying(data, summary.attrs.get("grid", dims))
    if not factors and len(_varying(data, dims)) != len(varying):
        return None                    # a sampled design: not a grid
    if len(varying) != 2:
        return None
    fx, fy = varying
    arms = [a for a in (summary.attrs.get("arms") or dict.fromkeys(data["arm"])) if a in set(data["arm"])]
    xs, ys = _levels(data[fx]), _levels(data[fy])
    xt, yt = [labels.level(fx, v) for v in xs], [labels.level(fy, v) for v in ys]
    data = data.assign(_x=data[fx].map(lambda v: labels.level(fx, v)),
                       _y=data[fy].map(lambda v: labels.level(fy, v)))
    columns = min(len(arms), 3)
    rows = -(-len(arms) // columns)
    fig = Figure(figsize=(3.3 * columns + 1.4, 2.9 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    grid = {a: data[data["arm"] == a].pivot_table(index="_y", columns="_x", values="mean", aggfunc="mean",
                                                   dropna=False).reindex(index=yt, columns=xt)
            for a in arms}
    values = np.concatenate([g.to_numpy(float).ravel() for g in grid.values()]) * shown.scale
    finite = values[np.isfinite(values)]
    vmin, vmax = (finite.min(), finite.max()) if len(finite) else (0, 1)
    image = None
    for ax, arm in zip(axes, arms):
        z = grid[arm].to_numpy(float) * shown.scale
        image = ax.imshow(z, origin="lower", aspect="auto", vmin=vmin, vmax=vmax, cmap="viridis")
        for (j, i), v in np.ndenumerate(z):
            if np.isfinite(v):
                ax.text(i, j, number(v), ha="center", va="center", fontsize=8,
                        color="white" if v < (vmin + vmax) / 2 else "black")
        ax.set_xticks(range(len(xs)), xt)
        ax.set_yticks(range(len(ys)), yt)
        ax.set_xlabel(labels.factor(fx), fontsize="small")
        ax.set_ylabel(labels.factor(fy), fontsize="small")
        ax.set_title(labels.arm(arm), fontsize="medium")
    for ax in axes[len(arms):]:
        ax.set_visible(False)
    fig.colorbar(image, ax=list(axes[:len(arms)]), label=shown.axis, shrink=0.9)
    fig.suptitle(f"{shown.label} (mean over replications)")
    return fig


def _listed(summary: pd.DataFrame) -> list[str]:
    """The experiment's own metrics, in its order (what it asked to compare)."""
    present = set(summary["metric"])
    return [m for m in summary.attrs.get("metrics", []) if m in present]


def cost_metric(summary: pd.DataFrame) -> Optional[str]:
    """The first pod-seconds metric the experiment lists; else ``pod_seconds``
    (total) if summarized, else the first ``services.*.pod_seconds``."""
    listed = next((m for m in _listed(summary) if m.endswith("pod_seconds")), None)
    if listed is not None:
        return listed
    metrics = set(summary["metric"])
    if "pod_seconds" in metrics:
        return "pod_seconds"
    return next((m for m in summary["metric"].unique() if m.endswith(".pod_seconds")), None)


def latency_metric(summary: pd.DataFrame) -> Optional[str]:
    """The tail latency to plot: the first p99 the experiment lists (a
    consumer group's end-to-end p99, ...); else over all requests if
    summarized, else over ok requests."""
    listed = next((m for m in _listed(summary) if m.endswith("_s.p99")), None)
    if listed is not None:
        return listed
    metrics = set(summary["metric"])
    return next((m for m in ("latency_all_s.p99", "latency_s.p99") if m in metrics), None)


def _point_names(summary: pd.DataFrame, labels: Labels) -> dict[int, str]:
    dims = _varying(summary, summary.attrs.get("dimensions", summary.attrs.get("factors", [])))
    first = summary.drop_duplicates("point").set_index("point")
    return {int(p): ", ".join(f"{labels.factor_name(d)} {labels.level(d, row[d])}" for d in dims) or "all"
            for p, row in first.iterrows()}


def cost_vs_latency(summary: pd.DataFrame, cost: Optional[str] = None, latency: Optional[str] = None,
                    labels: Optional[Labels] = None) -> Optional[Figure]:
    """Cost (pod-seconds) against tail latency, one point per (arm, design point):
    colour = arm, marker = design point (both keyed), CI crosses clipped at 0;
    None if either metric is missing."""
    labels = _labels(summary, labels)
    cost = cost or cost_metric(summary)
    latency = latency or latency_metric(summary)
    if cost is None or latency is None or latency not in set(summary["metric"]):
        return None
    xs, ys = labels.metric(cost), labels.metric(latency)
    wide = summary[summary["metric"].isin([cost, latency])].pivot_table(
        index=["arm", "point"], columns="metric", values=["mean", "half_width"], aggfunc="first", dropna=False)
    arms = [a for a in (summary.attrs.get("arms") or dict.fromkeys(summary["arm"]))
            if a in wide.index.get_level_values("arm")]
    names = _point_names(summary, labels)
    points = sorted(set(wide.index.get_level_values("point")))
    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    for i, arm in enumerate(arms):
        part = wide.xs(arm, level="arm")
        for point, row in part.iterrows():
            x, y = row[("mean", cost)], row[("mean", latency)]
            ax.errorbar([x * xs.scale], [y * ys.scale],
                        xerr=clipped_errors(xs, [x], [row[("half_width", cost)]]),
                        yerr=clipped_errors(ys, [y], [row[("half_width", latency)]]),
                        fmt=MARKERS[points.index(point) % len(MARKERS)], color=f"C{i % 10}", capsize=3,
                        ms=7, alpha=0.9)
    from matplotlib.lines import Line2D
    arm_keys = [Line2D([], [], color=f"C{i % 10}", marker="o", ls="", label=labels.arm(a))
                for i, a in enumerate(arms)]
    legend = ax.legend(handles=arm_keys, title="arm", fontsize="small", loc="upper left",
                       bbox_to_anchor=(1.01, 1.0))
    if len(points) > 1:
        ax.add_artist(legend)
        point_keys = [Line2D([], [], color="#444", marker=MARKERS[k % len(MARKERS)], ls="", label=names[p])
                      for k, p in enumerate(points)]
        ax.legend(handles=point_keys, title="design point", fontsize="small", loc="lower left",
                  bbox_to_anchor=(1.01, 0.0))
    ax.set_xlabel(f"cost: {xs.axis}")
    ax.set_ylabel(ys.axis)
    ax.margins(y=0.12)  # no point glued to the top edge
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(mticker.MaxNLocator(5))
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title(f"cost vs {ys.label}\nmean and {summary.attrs.get('confidence', 0.95):.0%} CI; "
                 "down and left is better", fontsize="medium")
    ax.grid(alpha=0.3)
    return fig


# ------------------------------------------------------------------ time series

def timeseries_frames(exp, point: int = 0, replication: int = 0,
                      timeseries_dir: Optional[Path] = None,
                      runs_dir: Optional[Path] = None) -> dict[str, pd.DataFrame]:
    """The stored time series of one replication of every arm at ``point``:
    ``timeseries_dir/<run_id>.parquet`` (written by the sweep for replication 0)
    or a kept run's ``runs_dir/<run_id>/timeseries.parquet``. Arms without a
    stored series are left out (nothing is simulated here)."""
    from ..experiment.expand import run_id
    frames = {}
    for arm in exp.arms:
        name = run_id(arm, point, replication)
        candidates = [Path(timeseries_dir) / f"{name}.parquet"] if timeseries_dir else []
        candidates += [Path(runs_dir) / name / "timeseries.parquet"] if runs_dir else []
        found = next((c for c in candidates if c.exists()), None)
        if found is not None:
            frames[arm] = pd.read_parquet(found)
    return frames


def _hpa_target_pct(scenario, service: str) -> Optional[float]:
    svc = scenario.services.get(service) if scenario is not None else None
    if svc is None or svc.hpa is None:
        return None
    for metric in svc.hpa.metrics or []:
        if metric.type == "Resource" and metric.resource.target.type == "Utilization":
            return float(metric.resource.target.averageUtilization)
    return 80.0 if not svc.hpa.metrics else None


def _fault_windows(scenario) -> list[tuple[float, float, str]]:
    windows = []
    for fault in (scenario.faults if scenario is not None else []):
        length = getattr(fault, "duration", None)
        start = float(fault.at)
        end = start + float(length) if length else start
        windows.append((start, max(end, start + 1.0), f"{fault.kind} {getattr(fault, 'service', '')}".strip()))
    return windows


def timeseries_overlay(frames: dict[str, pd.DataFrame], service: str,
                       panels: Sequence[tuple[str, ...]] = TIMESERIES_PANELS, title: str = "",
                       scenario=None, labels: Optional[Labels] = None) -> Figure:
    """Stacked panels over simulated time (minutes), one line per arm, for
    ``service``. With ``scenario``: warm-up shaded grey, faults shaded amber
    and named, the HPA's CPU target as a dotted line. ``panels`` are
    ``(column, label[, how])`` with ``how`` one of ``rate`` (per second over the
    sample interval), ``pct`` (x100), ``ms`` (x1000, log axis), ``step``, ``line``."""
    labels = labels or Labels()
    present = [p for p in panels if any(p[0] in f.columns for f in frames.values())]
    fig = Figure(figsize=(8.5, 1.75 * len(present) + 1.0), layout="constrained")
    axes = fig.subplots(len(present), 1, sharex=True, squeeze=False)[:, 0]
    for i, (arm, frame) in enumerate(frames.items()):
        part = frame[frame["service"] == service].sort_values("t_s")
        t = part["t_s"].to_numpy(float)
        width = np.diff(t, prepend=t[0] - (t[1] - t[0] if len(t) > 1 else 1.0)) if len(t) else t
        for ax, panel in zip(axes, present):
            column, how = panel[0], (panel[2] if len(panel) > 2 else "line")
            if column not in part.columns:
                continue
            y = part[column].to_numpy(float)
            y = {"rate": lambda v: v / width, "pct": lambda v: 100 * v, "ms": lambda v: 1000 * v}.get(
                how, lambda v: v)(y)
            if how == "ms":
                y = np.where(y > 0, y, np.nan)
            draw = ax.step if how == "step" else ax.plot
            kwargs = {"where": "post"} if how == "step" else {}
            draw(t / 60.0, y, color=f"C{i % 10}", label=labels.arm(arm), lw=1.3, **kwargs)
    for ax, panel in zip(axes, present):
        ax.set_ylabel(panel[1], fontsize="small")
        ax.grid(alpha=0.3)
        how = panel[2] if len(panel) > 2 else "line"
        if how == "ms":
            ax.set_yscale("log")
            _log_axis(ax.yaxis)
        elif how in ("rate", "step", "pct"):
            ax.set_ylim(bottom=0)
        if how == "step":
            ax.yaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        if how == "pct" and panel[0] == "cpu_utilization":
            target = _hpa_target_pct(scenario, service)
            if target is not None:
                ax.axhline(target, color="#d62728", ls=":", lw=1.2, label=f"HPA target {target:g}%")
    if scenario is not None:
        _shade(axes, scenario)
    handles, names = axes[0].get_legend_handles_labels()
    extra = [(h, n) for ax in axes[1:] for h, n in zip(*ax.get_legend_handles_labels()) if n not in names]
    handles += [h for h, _ in extra]
    names += [n for _, n in extra]
    axes[-1].set_xlabel("simulated time (minutes)")
    fig.suptitle(title or f"{service}: one replication, every arm", fontsize="medium")
    fig.legend(handles, names, loc="outside lower center", ncol=min(4, len(names)), fontsize="small")
    return fig


def _shade(axes, scenario) -> None:
    """Warm-up (grey) and fault windows (amber) on every panel, keyed in the
    legend through empty thick lines of the same colour."""
    warmup = float(scenario.warmup or 0) / 60.0
    faults = _fault_windows(scenario)
    for ax in axes:
        if warmup > 0:
            ax.axvspan(0, warmup, color=WARMUP_COLOR, alpha=0.07, lw=0)
        for start, end, _ in faults:
            ax.axvspan(start / 60.0, end / 60.0, color=FAULT_COLOR, alpha=0.25, lw=0)
    if warmup > 0:
        axes[0].plot([], [], color=WARMUP_COLOR, alpha=0.15, lw=8, label="warm-up (not measured)")
    for name in dict.fromkeys(name for _, _, name in faults):
        axes[0].plot([], [], color=FAULT_COLOR, alpha=0.5, lw=8, label=f"fault: {name}")


def save_figures(exp, summary: pd.DataFrame, out_dir: Path, timeseries_dir: Optional[Path] = None,
                 runs_dir: Optional[Path] = None) -> list[tuple[str, Path]]:
    """Write every figure that applies to ``out_dir``; return ``(title, path)``
    pairs. The time-series figure is drawn from stored series only."""
    labels = Labels.of(exp)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.png"):      # the folder holds this report's figures only
        stale.unlink()
    written: list[tuple[str, Path]] = []

    def save(fig: Optional[Figure], name: str, title: str) -> None:
        if fig is None:
            return
        path = out_dir / name
        fig.savefig(path, dpi=110)
        written.append((title, path))

    metrics = [m for m in summary.attrs.get("metrics", []) if m in set(summary["metric"])]
    for i, metric in enumerate(metrics):
        save(metric_by_factor(summary, metric, labels=labels), f"metric-{i:02d}-{_slug(metric)}.png",
             labels.metric(metric).label)
    if metrics:
        save(heatmap(summary, metrics[0], labels=labels), f"heatmap-{_slug(metrics[0])}.png",
             f"{labels.metric(metrics[0]).label} over the two factors")
    save(cost_vs_latency(summary, labels=labels), "cost-vs-p99.png", "cost vs tail latency")
    frames = timeseries_frames(exp, 0, 0, timeseries_dir, runs_dir)
    if frames:
        service = exp.entry_service
        scenario = exp.scenario_for(next(iter(frames)), 0)
        consumer = service in scenario.services and scenario.services[service].consumes is not None
        where = ", ".join(f"{labels.factor_name(f.name)} {labels.level(f.name, v if len(v) > 1 else v[0])}"
                          for f, v in zip(exp.factors, _levels_of_point(exp, 0)))
        save(timeseries_overlay(frames, service, CONSUMER_PANELS if consumer else TIMESERIES_PANELS,
                                scenario=scenario, labels=labels,
                                title=f"{service}: replication 0 of every arm" + (f" at {where}" if where else "")),
             "timeseries.png", "time series of replication 0 (design point 0)")
    return written


def _levels_of_point(exp, point: int) -> list[tuple]:
    """The grid level (tuple of values) of each factor at ``point``."""
    return [tuple(exp.points[point][p] for p in f.paths) for f in exp.factors]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")

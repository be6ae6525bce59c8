"""The report of an experiment: ``DIR/report.md`` and ``DIR/report.html``
(the same content; the HTML page holds its figures inline, one file to attach
to a review), and the figures in ``DIR/figures/``.

Sections: the Answer (written from the numbers, :mod:`sim.experiment.answer`),
the setup, the ranking of the arms over all design points and at each point
(ties where paired differences are not significant), factor effects against
reference levels, paired differences against the baseline, theory beside
simulation, the precision reached, failed runs, the figures. Also the
plain-text ranked table ``podsim sweep`` prints.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd

from . import document as doc
from .labels import Labels, MetricDisplay, number


def fmt(value, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, '-' for NaN/None."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def mean_pm(shown: MetricDisplay, mean, half) -> str:
    """``412 ms ± 30`` in display units."""
    if not _finite(half):
        return shown.value(mean)
    return f"{shown.value(mean)} ± {number(float(half) * shown.scale, 2)}"


def _diff_cell(shown: MetricDisplay, row, metric: str) -> str:
    mean = row.get(f"{metric} diff_mean")
    if not _finite(mean):
        return "-"
    star = " *" if bool(row.get(f"{metric} significant")) else ""
    rel = row.get(f"{metric} diff_rel")
    rel_text = f" ({100 * rel:+.1f}%)" if not shown.ratio and _finite(rel) else ""
    return (f"{shown.delta(mean)} {shown.interval(row.get(f'{metric} diff_ci_low'), row.get(f'{metric} diff_ci_high'))}"
            f"{rel_text}{star}")


def ranked_rows(ranked: pd.DataFrame, max_metrics: int = 4, labels: Optional[Labels] = None
                ) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the ranked table (shared by text, Markdown and HTML)."""
    labels = labels or Labels()
    metric = ranked.attrs["metric"]
    metrics = [m for m in ranked.attrs["metrics"] if m in ranked.columns][:max_metrics]
    factors = [f for f in ranked.attrs.get("factors", []) if f in ranked.columns
               and ranked[f].nunique(dropna=False) > 1]
    baseline = ranked.attrs.get("baseline")
    ties = "tie" in ranked.columns
    header = ["rank", "arm", *[labels.factor(f) for f in factors]]
    header += [labels.metric(m).axis for m in metrics]
    if baseline:
        header.append(f"Δ {labels.metric(metric).label} vs {labels.arm(baseline)} [CI]")
    if ties:
        header.append("tie resolves at")
    rows = []
    for _, row in ranked.iterrows():
        rank = f"{row['tie']}{row['rank']}" if ties else str(row["rank"])
        cells = [rank, labels.arm(str(row["arm"])), *[labels.level(f, row[f]) for f in factors]]
        cells += [mean_pm(labels.metric(m), row[m], row.get(f"{m} ±")) for m in metrics]
        if baseline:
            cells.append(_diff_cell(labels.metric(metric), row, metric))
        if ties:
            reps = row.get("reps_to_resolve")
            cells.append(f"≈{number(reps)} reps" if row["tie"] and _finite(reps) else
                         ("unresolvable" if row["tie"] else ""))
        rows.append(cells)
    return header, rows


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def ranked_text(ranked: pd.DataFrame, limit: int = 30, labels: Optional[Labels] = None) -> str:
    """The ranked table as aligned text (best first)."""
    header, rows = ranked_rows(ranked, labels=labels)
    text = text_table(header, rows[:limit])
    if len(rows) > limit:
        text += f"\n... {len(rows) - limit} more rows in the report"
    direction = "lower" if ranked.attrs.get("direction") != "maximize" else "higher"
    note = f"ranked by {ranked.attrs['metric']} ({direction} is better)"
    if ranked.attrs.get("ties"):
        note += "; =N: tied with the row ranked N (paired CI contains 0)"
    if ranked.attrs.get("baseline"):
        note += "; * the paired CI excludes 0"
    return f"{text}\n{note}"


def summary_for_report(exp, table: pd.DataFrame) -> pd.DataFrame:
    """The experiment's metrics plus what the figures need (cost and tail latency)."""
    from .stats import summarize, with_derived
    present = with_derived(table).columns
    extra = [m for m in ("latency_all_s.p99", "latency_s.p99", "pod_seconds") if m in present]
    metrics = list(dict.fromkeys([m.name for m in exp.metrics] + extra))
    summary = summarize(table, exp, metrics=metrics)
    summary.attrs["metrics"] = [m.name for m in exp.metrics if m.name in metrics]
    summary.attrs["all_metrics"] = metrics
    return summary


# ------------------------------------------------------------------ sections

def _setup(exp, table: pd.DataFrame, labels: Labels) -> list[doc.Block]:
    spec = exp.spec
    ok = int((table["status"] == "ok").sum())
    failed = len(table) - ok
    factors = [f"{labels.factor(f.name)}: {', '.join(labels.level(f.name, lv if len(lv) > 1 else lv[0]) for lv in f.levels)}"
               for f in exp.factors]
    items = [f"scenario: `{exp.scenario_source or 'inline'}` ({exp.base.name})",
             f"arms: {', '.join(f'`{labels.arm(a)}`' for a in exp.arms)}"
             + (f" (baseline `{labels.arm(exp.baseline)}`)" if exp.baseline else ""),
             f"design points: {len(exp.points)}" + (f" ({'; '.join(factors)})" if factors else "")
             + (f", sampled over {', '.join(f'`{p}`' for p in exp.sampled_paths)}" if exp.sampled_paths else ""),
             f"replications: {exp.replications}, seed {exp.seed}, common random numbers: "
             f"{'yes' if spec.common_random_numbers else 'no'}; {spec.confidence:.0%} confidence intervals",
             f"runs: {len(table)} stored, {ok} ok, {failed} failed"]
    return [doc.Heading(2, "Setup"), doc.Bullets(tuple(items))]


def _overall(exp, table: pd.DataFrame, labels: Labels) -> list[doc.Block]:
    from .compare import rank_arms
    if len(exp.arms) < 2:
        return []
    first = exp.metrics[0]
    points = list(range(len(exp.points)))
    ranking = rank_arms(table, first.name, first.direction, list(exp.arms), points, exp.spec.confidence)
    if ranking.empty:
        return []
    shown = labels.metric(first.name)
    others = [m for m in exp.metrics[1:5]]
    from .compare import replication_matrix, side_values
    header = ["rank", "arm", f"{shown.axis} [CI]", *[labels.metric(m.name).axis for m in others],
              "Δ vs best of its group [CI]", "tie resolves at"]
    rows = []
    for r in ranking.itertuples():
        cells = [f"{r.tie}{r.rank}", labels.arm(r.key),
                 f"{shown.value(r.mean)} [{shown.value(r.ci_low)}, {shown.value(r.ci_high)}]"]
        for m in others:
            values = side_values(replication_matrix(table, m.name), [(r.key, p) for p in points]).dropna()
            cells.append(labels.metric(m.name).value(values.mean()) if len(values) else "-")
        cells.append(f"{shown.delta(r.diff_mean)} {shown.interval(r.diff_ci_low, r.diff_ci_high)} vs "
                     f"`{labels.arm(r.versus)}`" if r.tie else "")
        cells.append((f"≈{number(r.reps_to_resolve)} reps" if _finite(r.reps_to_resolve) else "unresolvable")
                     if r.tie else "")
        rows.append(cells)
    over = f", averaged over the {len(points)} design points" if len(points) > 1 else ""
    return [doc.Heading(2, f"Arms ranked by {shown.label}{over}"),
            doc.Para(f"Means with {exp.spec.confidence:.0%} CIs over replications. An arm whose paired "
                     "difference from the best arm of its group has a CI containing 0 shares that arm's "
                     "rank (=); \"tie resolves at\" is the number of replications at which the observed "
                     "difference would exclude 0."),
            doc.table(header, rows)]


def _per_point(summary: pd.DataFrame, table: pd.DataFrame, exp, labels: Labels) -> list[doc.Block]:
    from .stats import ranked
    if summary.empty:
        return [doc.Para("No successful run: nothing to rank.")]
    if len(exp.arms) > 1:
        title = "Ranking at each design point" if len(exp.points) > 1 else "Arms with every metric"
    else:
        title = "Design points ranked"
    rank = ranked(summary, table=table)
    header, rows = ranked_rows(rank, max_metrics=6, labels=labels)
    direction = "lower" if rank.attrs["direction"] != "maximize" else "higher"
    text = (f"By {labels.metric(rank.attrs['metric']).label} ({direction} is better); mean ± half-width of "
            f"the {summary.attrs['confidence']:.0%} CI. =N: tied with the row ranked N.")
    if exp.baseline:
        text += " Δ: paired difference against the baseline under common random numbers; * where its CI excludes 0."
    return [doc.Heading(2, title), doc.Para(text), doc.table(header, rows)]


def _effects(effects: Optional[pd.DataFrame], exp, labels: Labels) -> list[doc.Block]:
    from .compare import ALL_ARMS, ALL_LEVELS
    if effects is None or effects.empty:
        return []
    rows = []
    for r in effects.itertuples():
        shown = labels.metric(r.metric)
        where = "all arms" if r.arm == ALL_ARMS else labels.arm(r.arm)
        at = ", ".join(f"{labels.factor_name(f)} {labels.level(f, v)}" for f, v in r.at_levels.items()) \
            or "averaged over them"
        rows.append([f"{labels.factor_name(r.factor)}: {labels.level(r.factor, r.level)} vs "
                     f"{labels.level(r.factor, r.reference)}", where, at, shown.label,
                     shown.value(r.reference_mean), shown.delta(r.diff_mean),
                     shown.interval(r.diff_ci_low, r.diff_ci_high),
                     f"{100 * r.diff_rel:+.1f}%" if _finite(r.diff_rel) and not shown.ratio else "-",
                     str(r.n), "yes" if r.significant else
                     (f"no (≈{number(r.reps_to_resolve)} reps)" if _finite(r.reps_to_resolve) else "no")])
    header = ["level vs reference", "arm", "at other factors", "metric", "at reference", "Δ mean",
              f"{exp.spec.confidence:.0%} CI", "relative", "n", "resolved"]
    if effects["at"].eq(ALL_LEVELS).all():
        header.pop(2)
        rows = [r[:2] + r[3:] for r in rows]
    return [doc.Heading(2, "Factor effects"),
            doc.Para("Each factor level against the reference level (the first, or `reference:` in the "
                     "experiment), paired by replication under common random numbers, within each arm and "
                     "over all arms; with several factors, averaged over the other factors' levels and at "
                     "each of their combinations."),
            doc.table(header, rows[:400])]


def _differences(summary: pd.DataFrame, exp, labels: Labels) -> list[doc.Block]:
    if not exp.baseline:
        return []
    part = summary[(summary["arm"] != exp.baseline) & (summary["metric"].isin(summary.attrs["metrics"]))]
    if part.empty:
        return []
    many = part["point"].nunique() > 1
    dims = [d for d in summary.attrs.get("dimensions", []) if d in part.columns]
    header = ["arm", *([labels.factor(d) for d in dims] if many else []), "metric", "Δ mean",
              f"{summary.attrs['confidence']:.0%} CI", "relative", "n", "CI excludes 0"]
    rows = []
    for _, r in part.iterrows():
        shown = labels.metric(r["metric"])
        rows.append([labels.arm(r["arm"]), *([labels.level(d, r[d]) for d in dims] if many else []),
                     shown.label, shown.delta(r["diff_mean"]), shown.interval(r["diff_ci_low"], r["diff_ci_high"]),
                     f"{100 * r['diff_rel']:+.1f}%" if _finite(r["diff_rel"]) and not shown.ratio else "-",
                     fmt(r["diff_n"]), "yes" if r["significant"] else "no"])
    return [doc.Heading(2, f"Paired differences against `{labels.arm(exp.baseline)}`"),
            doc.table(header, rows[:300])]


def _theory(summary: pd.DataFrame, labels: Labels) -> list[doc.Block]:
    part = summary[summary["analytic"].notna()]
    if part.empty:
        return []
    rows = []
    for r in part.itertuples():
        shown = labels.metric(r.metric)
        rows.append([labels.arm(r.arm), str(r.point), shown.label, mean_pm(shown, r.mean, r.half_width),
                     shown.value(r.analytic, 4), "yes" if r.ci_low <= r.analytic <= r.ci_high else "no"])
    return [doc.Heading(2, "Simulation against queueing theory (M/M/c)"),
            doc.Para("Where a service is exactly an M/M/c queue (see `docs/experiments.md`)."),
            doc.table(["arm", "point", "metric", "simulated", "analytic", "in CI"], rows[:200])]


def _precision(summary: pd.DataFrame, exp, labels: Labels) -> list[doc.Block]:
    part = summary[summary["metric"].isin(summary.attrs["metrics"])]
    if part.empty or part["reps_needed"].isna().all():
        return []
    worst = part.groupby("metric", sort=False).agg(reps=("reps_needed", "max"), rel=("rel_half_width", "max"))
    rows = [[labels.metric(m).label, f"{100 * v.rel:.1f}%" if _finite(v.rel) else "-", fmt(v.reps)]
            for m, v in worst.iterrows()]
    return [doc.Heading(2, "Precision"),
            doc.Para(f"Worst relative CI half-width over arms and design points, and the replications "
                     f"needed for {exp.spec.precision:.0%} (this sweep ran {exp.replications}; "
                     f"`podsim sweep --until-precision {exp.spec.precision:g}` adds them in rounds)."),
            doc.table(["metric", "relative half-width", "replications needed"], rows)]


def _failed(table: pd.DataFrame) -> list[doc.Block]:
    failed = table[table["status"] != "ok"]
    if failed.empty:
        return []
    rows = [[r.run_id, str(r.error).splitlines()[0][:160]] for r in failed.itertuples()][:50]
    return [doc.Heading(2, "Failed runs"),
            doc.Para(f"{len(failed)} run(s) failed; they are excluded from every statistic."),
            doc.table(["run_id", "error"], rows)]


def report_blocks(exp, table: pd.DataFrame, summary: pd.DataFrame,
                  figures: Sequence[tuple[str, Path]] = ()) -> list[doc.Block]:
    """Every block of the report, Answer first."""
    from .answer import answer_lines
    from .compare import factor_effects
    labels = Labels.of(exp)
    metrics = [m for m in exp.metrics if m.name in summary.attrs.get("metrics", [])]
    effects = factor_effects(table, exp, [m.name for m in metrics]) if exp.factors and metrics else None
    blocks: list[doc.Block] = [doc.Heading(1, exp.name)]
    if exp.spec.description:
        blocks.append(doc.Para(" ".join(exp.spec.description.split())))
    answer = answer_lines(exp, table, metrics, effects, labels) if metrics else []
    blocks += [doc.Heading(2, "Answer"),
               doc.Bullets(tuple(answer)) if answer else doc.Para("No successful run: no answer.")]
    blocks += _setup(exp, table, labels)
    if not summary.empty:
        blocks += _overall(exp, table, labels)
        blocks += _per_point(summary, table, exp, labels)
        blocks += _effects(effects, exp, labels)
        blocks += _differences(summary, exp, labels)
        blocks += _theory(summary, labels)
        blocks += _precision(summary, exp, labels)
    blocks += _failed(table)
    if figures:
        blocks.append(doc.Heading(2, "Figures"))
        blocks += [doc.Image(title, path) for title, path in figures]
    return blocks


def write_report(exp, table: pd.DataFrame, out: Path, summary: Optional[pd.DataFrame] = None,
                 figures: bool = True) -> Path:
    """Write ``out/report.md``, ``out/report.html`` and ``out/figures/*.png``;
    return the Markdown report's path. Reads the stored time series
    (``out/timeseries/``); never simulates."""
    from .store import atomic_write_text
    out = Path(out)
    summary = summary if summary is not None else summary_for_report(exp, table)
    figure_list: list[tuple[str, Path]] = []
    if figures and not summary.empty:
        from ..plots.sweep import save_figures
        figure_list = save_figures(exp, summary, out / "figures", timeseries_dir=out / "timeseries")
    blocks = report_blocks(exp, table, summary, figure_list)
    path = out / "report.md"
    atomic_write_text(path, doc.to_markdown(blocks, out))
    atomic_write_text(out / "report.html", doc.to_html(blocks, title=exp.name))
    return path

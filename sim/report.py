"""The report of an experiment: ``DIR/report.md`` with the ranked table,
paired differences against the baseline, theory beside simulation, the
precision reached, failed runs, and the figures (relative image links).
Also the plain-text ranked table ``podsim sweep`` prints.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd


def fmt(value, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, '-' for NaN/None."""
    if value is None:
        return "-"
    if isinstance(value, (bool,)):
        return "yes" if value else "no"
    if isinstance(value, (int,)) and not isinstance(value, bool):
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


def _pm(mean, half) -> str:
    return fmt(mean) if half is None or (isinstance(half, float) and math.isnan(half)) \
        else f"{fmt(mean)} ± {fmt(half, 2)}"


def _diff(row, metric: str) -> str:
    mean = row.get(f"{metric} diff_mean")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    low, high = row.get(f"{metric} diff_ci_low"), row.get(f"{metric} diff_ci_high")
    star = " *" if bool(row.get(f"{metric} significant")) else ""
    rel = row.get(f"{metric} diff_rel")
    rel_text = f" ({100 * rel:+.1f}%)" if rel is not None and math.isfinite(rel) else ""
    return f"{fmt(mean)} [{fmt(low, 3)}, {fmt(high, 3)}]{rel_text}{star}"


def ranked_rows(ranked: pd.DataFrame, max_metrics: int = 4) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the ranked table (shared by text and Markdown)."""
    metric = ranked.attrs["metric"]
    metrics = [m for m in ranked.attrs["metrics"] if m in ranked.columns][:max_metrics]
    factors = [f for f in ranked.attrs.get("factors", []) if f in ranked.columns
               and ranked[f].nunique(dropna=False) > 1]
    baseline = ranked.attrs.get("baseline")
    short = [f.split(".")[-1] for f in factors]
    header = ["rank", "arm", *[s if short.count(s) == 1 else f for s, f in zip(short, factors)]]
    header += [f"{m} (±CI)" for m in metrics]
    if baseline:
        header.append(f"Δ {metric} vs {baseline} [CI]")
    rows = []
    for _, row in ranked.iterrows():
        cells = [str(row["rank"]), str(row["arm"]), *[fmt(row[f]) for f in factors]]
        cells += [_pm(row[m], row.get(f"{m} ±")) for m in metrics]
        if baseline:
            cells.append(_diff(row, metric))
        rows.append(cells)
    return header, rows


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def ranked_text(ranked: pd.DataFrame, limit: int = 30) -> str:
    """The ranked table as aligned text (best first)."""
    header, rows = ranked_rows(ranked)
    text = text_table(header, rows[:limit])
    if len(rows) > limit:
        text += f"\n... {len(rows) - limit} more rows in the report"
    direction = "lower" if ranked.attrs.get("direction") != "maximize" else "higher"
    note = f"ranked by {ranked.attrs['metric']} ({direction} is better)"
    if ranked.attrs.get("baseline"):
        note += "; * the paired CI excludes 0"
    return f"{text}\n{note}"


def summary_for_report(exp, table: pd.DataFrame) -> pd.DataFrame:
    """The experiment's metrics plus what the figures need (cost and p99)."""
    from .experiment.stats import summarize, with_derived
    extra = [m for m in ("latency_s.p99", "pod_seconds") if m in with_derived(table).columns]
    metrics = list(dict.fromkeys([m.name for m in exp.metrics] + extra))
    summary = summarize(table, exp, metrics=metrics)
    summary.attrs["metrics"] = [m.name for m in exp.metrics if m.name in metrics]
    summary.attrs["all_metrics"] = metrics
    return summary


def write_report(exp, table: pd.DataFrame, out: Path, summary: Optional[pd.DataFrame] = None,
                 figures: bool = True, runs_dir: Optional[Path] = None) -> Path:
    """Write ``out/report.md`` and ``out/figures/*.png``; return the report's path."""
    from .experiment.stats import ranked
    out = Path(out)
    summary = summary if summary is not None else summary_for_report(exp, table)
    figure_list = []
    if figures:
        from .plots.sweep import save_figures
        runs_dir = runs_dir or (out / "runs")
        figure_list = save_figures(exp, summary, out / "figures", runs_dir=runs_dir)
    ok = int((table["status"] == "ok").sum())
    failed = table[table["status"] != "ok"]
    spec = exp.spec
    lines = [f"# {exp.name}", ""]
    if spec.description:
        lines += [spec.description.strip(), ""]
    lines += [
        f"- scenario: `{exp.scenario_source or 'inline'}` ({exp.base.name})",
        f"- arms: {', '.join(f'`{a}`' for a in exp.arms)}"
        + (f" (baseline `{exp.baseline}`)" if exp.baseline else ""),
        f"- design points: {len(exp.points)}"
        + (f" over {', '.join(f'`{c}`' for c in exp.factor_columns)}" if exp.factor_columns else ""),
        f"- replications: {exp.replications}, seed {exp.seed}, common random numbers: "
        f"{'yes' if spec.common_random_numbers else 'no'}",
        f"- runs: {len(table)} stored, {ok} ok, {len(failed)} failed",
        "",
    ]
    if summary.empty:
        lines += ["No successful run: nothing to rank.", ""]
    else:
        rank = ranked(summary)
        header, rows = ranked_rows(rank, max_metrics=6)
        direction = "lower" if rank.attrs["direction"] != "maximize" else "higher"
        lines += [f"## Ranking by `{rank.attrs['metric']}` ({direction} is better)", "",
                  f"Mean ± half-width of the {summary.attrs['confidence']:.0%} confidence interval "
                  "over replications." + (" Δ: paired difference against the baseline under common "
                                           "random numbers; * where its CI excludes 0." if exp.baseline
                                           else ""), "",
                  markdown_table(header, rows), ""]
        lines += _differences(summary, exp)
        lines += _theory(summary)
        lines += _precision(summary, exp)
    if len(failed):
        lines += ["## Failed runs", "", markdown_table(
            ["run_id", "error"], [[r.run_id, str(r.error).splitlines()[0][:160]]
                                  for r in failed.itertuples()][:50]), ""]
    if figure_list:
        lines += ["## Figures", ""]
        for title, path in figure_list:
            lines += [f"### {title}", "", f"![{title}]({path.relative_to(out).as_posix()})", ""]
    path = out / "report.md"
    tmp = out / ".report.md.tmp"
    tmp.write_text("\n".join(lines).rstrip() + "\n")
    tmp.replace(path)
    return path


def _differences(summary: pd.DataFrame, exp) -> list[str]:
    if not exp.baseline:
        return []
    part = summary[(summary["arm"] != exp.baseline) & (summary["metric"].isin(summary.attrs["metrics"]))]
    if part.empty:
        return []
    many = part["point"].nunique() > 1
    header = ["arm", *(["point"] if many else []), "metric", "Δ mean", f"{summary.attrs['confidence']:.0%} CI",
              "relative", "n", "CI excludes 0"]
    rows = [[r.arm, *([str(r.point)] if many else []), r.metric, fmt(r.diff_mean),
             f"[{fmt(r.diff_ci_low)}, {fmt(r.diff_ci_high)}]",
             f"{100 * r.diff_rel:+.1f}%" if math.isfinite(r.diff_rel) else "-",
             fmt(r.diff_n), "yes" if r.significant else "no"] for r in part.itertuples()]
    return [f"## Paired differences against `{exp.baseline}`", "", markdown_table(header, rows[:200]), ""]


def _theory(summary: pd.DataFrame) -> list[str]:
    part = summary[summary["analytic"].notna()]
    if part.empty:
        return []
    rows = [[r.arm, str(r.point), r.metric, _pm(r.mean, r.half_width), fmt(r.analytic),
             "yes" if r.ci_low <= r.analytic <= r.ci_high else "no"] for r in part.itertuples()]
    return ["## Simulation against queueing theory (M/M/c)", "",
            "Where a service is exactly an M/M/c queue (see `docs/experiments.md`).", "",
            markdown_table(["arm", "point", "metric", "simulated", "analytic", "in CI"], rows[:200]), ""]


def _precision(summary: pd.DataFrame, exp) -> list[str]:
    part = summary[summary["metric"].isin(summary.attrs["metrics"])]
    if part.empty or part["reps_needed"].isna().all():
        return []
    worst = part.groupby("metric", sort=False)["reps_needed"].max()
    rows = [[m, fmt(v)] for m, v in worst.items()]
    return ["## Precision", "",
            f"Replications needed for a CI half-width within {exp.spec.precision:.0%} of the mean "
            f"(worst arm and point; this sweep ran {exp.replications}).", "",
            markdown_table(["metric", "replications needed"], rows), ""]

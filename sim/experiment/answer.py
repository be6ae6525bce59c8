"""The "Answer" of a report: a few sentences written from the numbers.

- the best arm by the first metric, averaged over the design points, with its
  CI, and the arms it is tied with (paired differences not significant) with
  the replications that would resolve them;
- what the best arm costs in every other metric against the baseline (or the
  runner-up when the best is the baseline), each a paired difference with CI;
- what each factor level changes against its reference level, over all arms,
  and which factor moves the first metric most;
- how many differences are not resolved.

Every number comes with its unit and a confidence interval; a difference whose
interval contains 0 is called "not resolved", never a win.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import pandas as pd

from .compare import ALL_ARMS, ALL_LEVELS, paired, rank_arms, replication_matrix
from .labels import Labels, MetricDisplay, number
from .spec import Experiment, Metric


def difference_text(shown: MetricDisplay, mean: float, low: float, high: float, rel: float,
                    significant: bool) -> str:
    """``+12 ms [3, 20] (+4.1%)``, flagged ``not resolved`` when the CI contains 0."""
    text = f"{shown.delta(mean)} {shown.interval(low, high)}"
    if not shown.ratio and rel is not None and math.isfinite(rel):
        text += f" ({100 * rel:+.1f}%)"
    return text + ("" if significant else " (not resolved)")


def _resolve_note(reps: float) -> str:
    return f"about {number(reps, 3)} replications would resolve it" if math.isfinite(reps) else \
        "no difference seen: more replications are unlikely to resolve it"


def ranking_line(ranking: pd.DataFrame, labels: Labels) -> str:
    """``1 `a` · =1 `b` · 3 `c```: ranks with ties marked."""
    return " · ".join(f"{r.tie}{r.rank} `{labels.arm(r.key)}`" for r in ranking.itertuples())


def _best(exp: Experiment, table: pd.DataFrame, first: Metric, labels: Labels,
          confidence: float) -> tuple[list[str], Optional[pd.DataFrame]]:
    points = list(range(len(exp.points)))
    ranking = rank_arms(table, first.name, first.direction, list(exp.arms), points, confidence)
    if ranking.empty or len(exp.arms) < 2:
        return [], None
    shown = labels.metric(first.name)
    top = ranking[ranking["rank"] == 1]
    lead = top.iloc[0]
    over = f"averaged over {len(points)} design points, " if len(points) > 1 else ""
    text = (f"**Best by {shown.label}: `{labels.arm(lead.key)}`**, {shown.value(lead['mean'])} "
            f"({confidence:.0%} CI {shown.value(lead.ci_low)} to {shown.value(lead.ci_high)}; "
            f"{over}{int(lead.n)} replications).")
    lines = [text]
    for row in top.iloc[1:].itertuples():
        lines.append(f"Tied with `{labels.arm(row.key)}`: {shown.label} "
                     f"{shown.delta(row.diff_mean)} {shown.interval(row.diff_ci_low, row.diff_ci_high)} "
                     f"against `{labels.arm(lead.key)}`, not resolved; {_resolve_note(row.reps_to_resolve)}.")
    lines.append(f"Ranking by {shown.label} ({'higher' if first.direction == 'maximize' else 'lower'} "
                 f"is better; = marks a tie with the arm ranked above): {ranking_line(ranking, labels)}.")
    return lines, ranking


def _costs(exp: Experiment, table: pd.DataFrame, metrics: Sequence[Metric], ranking: pd.DataFrame,
           labels: Labels, confidence: float) -> list[str]:
    best = ranking.iloc[0].key
    other = exp.baseline if exp.baseline and exp.baseline != best else (
        ranking.iloc[1].key if len(ranking) > 1 else None)
    if other is None:
        return []
    points = range(len(exp.points))
    parts = []
    for metric in metrics:
        matrix = replication_matrix(table, metric.name)
        if matrix.empty:
            continue
        d = paired(matrix, [(best, p) for p in points], [(other, p) for p in points], confidence)
        if d.n < 2:
            continue
        shown = labels.metric(metric.name)
        parts.append(f"{shown.label} {difference_text(shown, d.mean, d.ci_low, d.ci_high, d.rel, d.significant)}")
    if not parts:
        return []
    role = "the baseline" if other == exp.baseline else "the runner-up"
    return [f"**What `{labels.arm(best)}` changes against {role} `{labels.arm(other)}`** "
            f"(paired, {confidence:.0%} CI): " + "; ".join(parts) + "."]


def _factors(exp: Experiment, effects: pd.DataFrame, metrics: Sequence[Metric],
             labels: Labels) -> list[str]:
    if effects is None or effects.empty:
        return []
    scope = ALL_ARMS if len(exp.arms) > 1 else next(iter(exp.arms))
    main = effects[(effects["at"] == ALL_LEVELS) & (effects["arm"] == scope)]
    lines = []
    for (factor, level), group in main.groupby(["factor", "level"], sort=False):
        reference = group["reference"].iloc[0]
        parts = []
        for metric in metrics:
            row = group[group["metric"] == metric.name]
            if row.empty or row["n"].iloc[0] < 2:
                continue
            r = row.iloc[0]
            shown = labels.metric(metric.name)
            parts.append(f"{shown.label} {difference_text(shown, r.diff_mean, r.diff_ci_low, r.diff_ci_high, r.diff_rel, bool(r.significant))}")
        if parts:
            where = "over all arms" if scope == ALL_ARMS else f"arm `{labels.arm(scope)}`"
            lines.append(f"**{labels.factor_name(factor)} {labels.level(factor, level)} vs "
                         f"{labels.level(factor, reference)}** ({where}): " + "; ".join(parts) + ".")
    first = metrics[0]
    rows = main[(main["metric"] == first.name) & main["significant"]]
    shown = labels.metric(first.name)
    if len(rows):
        size = (rows["diff_mean"].abs() if shown.ratio else rows["diff_rel"].abs()).fillna(0)
        r = rows.loc[size.idxmax()]
        lines.insert(0, f"**The factor that matters most for {shown.label}: {labels.factor_name(r.factor)}** "
                        f"({labels.level(r.factor, r.level)} vs {labels.level(r.factor, r.reference)}: "
                        f"{difference_text(shown, r.diff_mean, r.diff_ci_low, r.diff_ci_high, r.diff_rel, True)}).")
    else:
        lines.insert(0, f"**No factor level changes {shown.label} resolvably** at these replications.")
    return lines


def _unresolved(exp: Experiment, ranking: Optional[pd.DataFrame], effects: Optional[pd.DataFrame],
                metrics: Sequence[Metric], labels: Labels) -> list[str]:
    lines = []
    if ranking is not None:
        ties = ranking[ranking["tie"] == "="]
        if len(ties):
            pairs = ", ".join(f"`{labels.arm(r.key)}` = `{labels.arm(r.versus)}`" for r in ties.itertuples())
            lines.append(f"Arm ties on {labels.metric(metrics[0].name).label}: {pairs}.")
    if effects is not None and not effects.empty:
        main = effects[(effects["at"] == ALL_LEVELS) & (effects["n"] >= 2)]
        open_ = main[~main["significant"]]
        if len(open_):
            need = open_["reps_to_resolve"].dropna()
            tail = f"; resolving them all would take up to about {number(need.max())} replications" \
                if len(need) else ""
            lines.append(f"{len(open_)} of {len(main)} factor-level differences (per arm and over all arms, "
                         f"every metric) are not resolved at {exp.replications} replications{tail}.")
    if not lines:
        return []
    return ["**Not resolved:** " + " ".join(lines)]


def answer_lines(exp: Experiment, table: pd.DataFrame, metrics: Sequence[Metric],
                 effects: Optional[pd.DataFrame], labels: Labels,
                 confidence: Optional[float] = None) -> list[str]:
    """The Answer as Markdown bullet texts (empty when nothing ran)."""
    confidence = confidence or exp.spec.confidence
    metrics = [m for m in metrics if not replication_matrix(table, m.name).empty]
    if not metrics:
        return []
    lines, ranking = _best(exp, table, metrics[0], labels, confidence)
    if ranking is not None:
        lines += _costs(exp, table, metrics, ranking, labels, confidence)
    lines += _factors(exp, effects, metrics, labels)
    lines += _unresolved(exp, ranking, effects, metrics, labels)
    if metrics[0].name.split(".")[0] == "latency_s":
        lines.append("Caution: `latency_s` covers successful requests only, so an arm that fails fast "
                     "can win it; rank by `latency_all_s.*` or `slo.good_ratio` when they are available.")
    return lines

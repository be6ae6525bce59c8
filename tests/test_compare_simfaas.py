"""podsim's functions agree with SimFaaS (issue 14, part 2): cold-start
probability, mean instances and mean running instances on points of the
grid (arrival rates 0.01-10/s, keep-alive 10 s and 10 min, and SimFaaS's own
README example), each within the 99 % Welch interval of the difference over
replications (``sim.compare.simfaas``): the tolerance comes from the
replications, not a guess. The full grid: ``podsim compare simfaas``."""
from __future__ import annotations

import pytest

pytest.importorskip("simfaas", reason="simfaas is installed by the dev extra (.ci/run does)")

from sim.compare.simfaas import compare, table  # noqa: E402

POINTS = [(0.01, 0.5, 1.5, 600.0), (1.0, 0.5, 1.5, 10.0), (0.9, 1.991, 2.244, 600.0)]


@pytest.mark.statistical
def test_podsim_agrees_with_simfaas_on_the_lambda_case():
    frame = compare(POINTS, replications=5, arrivals=10_000)
    assert frame["agrees"].all(), "\n" + table(frame)
    # and the agreement is close, not only statistically unresolved
    assert (frame["relative"].abs() < 0.25).all(), "\n" + table(frame)


def test_low_load_cold_start_probability_matches_exp_minus_lambda_t_in_both():
    """At 0.01/s with a 10 s keep-alive and 0.5 s work, P(cold) ~ exp(-0.01 x 10.5)."""
    import math
    frame = compare([(0.01, 0.5, 1.5, 10.0)], replications=3, arrivals=3_000)
    row = frame[frame["metric"] == "prob_cold"].iloc[0]
    expected = math.exp(-0.01 * 10.5)
    assert row["simfaas"] == pytest.approx(expected, abs=0.02)
    assert row["podsim"] == pytest.approx(expected, abs=0.02)

"""Tests for sim.cost: hand-computed vectors at the default list prices.

Lambda vector from the semantics page (section 5) and AWS's pricing-page
example: 60 M requests x 28 ms x 1 GB -> $12 + $28.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.cost import (
    CLOUD_RUN_PRICES,
    KUBERNETES_PRICES,
    LAMBDA_PRICES,
    CloudRunPrices,
    KubernetesPrices,
    LambdaPrices,
    billed_milliseconds,
    cloud_run_cost,
    kubernetes_cost,
    lambda_cost,
)


def test_default_prices():
    assert (LAMBDA_PRICES.usd_per_million_requests, LAMBDA_PRICES.usd_per_gb_second,
            LAMBDA_PRICES.billing_granularity_ms) == (0.20, 0.0000166667, 1.0)
    assert (CLOUD_RUN_PRICES.usd_per_vcpu_second, CLOUD_RUN_PRICES.usd_per_gib_second,
            CLOUD_RUN_PRICES.usd_per_million_requests) == (0.000024, 0.0000025, 0.40)
    assert (KUBERNETES_PRICES.usd_per_vcpu_hour, KUBERNETES_PRICES.usd_per_gib_hour) \
        == (0.04048, 0.004445)


# --- Lambda --------------------------------------------------------------------
def test_lambda_60m_requests_28ms_1gb():
    """60e6 x $0.20/1e6 = $12; 60e6 x 0.028 s x 1 GB = 1.68e6 GB-s x $0.0000166667
    = $28.000056."""
    cost = lambda_cost(60_000_000, 0.028, 1.0)
    assert cost["requests"] == pytest.approx(12.0, rel=1e-12)
    assert cost["compute"] == pytest.approx(28.000056, rel=1e-9)
    assert cost["compute"] == pytest.approx(28.0, abs=1e-4)
    assert cost["total"] == pytest.approx(40.000056, rel=1e-9)


def test_lambda_per_invocation_array_matches_the_scalar_form():
    durations = np.full(1000, 0.028)
    assert lambda_cost(1000, durations, 1.0) == pytest.approx(lambda_cost(1000, 0.028, 1.0))


def test_lambda_rounds_each_duration_up_to_1ms_before_summing():
    """1.2 ms bills 2 ms; 1.0 ms bills 1 ms; 0.1 ms bills 1 ms: 4 ms in all
    (summing first would give ceil(2.3) = 3 ms). At 1 GB: 0.004 GB-s x
    $0.0000166667 = $6.66668e-8; requests 3 x $0.2e-6 = $6e-7."""
    assert list(billed_milliseconds([0.0012, 0.001, 0.0001])) == [2.0, 1.0, 1.0]
    cost = lambda_cost(3, [0.0012, 0.001, 0.0001], 1.0)
    assert cost["compute"] == pytest.approx(0.004 * 0.0000166667, rel=1e-12)
    assert cost["requests"] == pytest.approx(6e-7, rel=1e-12)


def test_billed_milliseconds_float_noise_and_granularity():
    assert float(billed_milliseconds(0.028)) == 28.0          # 0.028*1000 = 28.000000000000004
    assert float(billed_milliseconds(0.0281)) == 29.0
    assert float(billed_milliseconds(0.0)) == 0.0
    assert float(billed_milliseconds(0.25, granularity_ms=100)) == 300.0   # 100 ms era
    with pytest.raises(ValueError):
        billed_milliseconds([-0.001])
    with pytest.raises(ValueError):
        billed_milliseconds([float("inf")])


def test_lambda_cold_start_init_is_billed_with_the_invocation():
    """Cold start: INIT 180.4 ms + handler 20.1 ms = 200.5 ms -> 201 ms; warm 20.1 ms -> 21 ms.
    512 MB = 0.5 GB: (201 + 21) ms = 0.222 s x 0.5 GB = 0.111 GB-s x $0.0000166667."""
    cost = lambda_cost(2, [0.1804 + 0.0201, 0.0201], 0.5)
    assert cost["compute"] == pytest.approx(0.111 * 0.0000166667, rel=1e-9)


def test_lambda_zero_requests_cost_zero():
    assert lambda_cost(0, [], 1.0) == {"requests": 0.0, "compute": 0.0, "total": 0.0}
    assert lambda_cost(0, 0.5, 1.0)["total"] == 0.0


def test_lambda_custom_prices_and_validation():
    arm = LambdaPrices(usd_per_million_requests=0.20, usd_per_gb_second=0.0000133334)
    assert lambda_cost(1_000_000, 1.0, 1.0, arm)["compute"] == pytest.approx(13.3334)
    with pytest.raises(ValueError):
        lambda_cost(-1, 0.1, 1.0)
    with pytest.raises(ValueError):
        lambda_cost(1, 0.1, -1.0)


@given(st.lists(st.floats(0, 900, allow_nan=False), max_size=50), st.floats(0.125, 10.24))
def test_lambda_total_is_the_sum_and_never_below_unrounded(durations, memory_gb):
    cost = lambda_cost(len(durations), durations, memory_gb)
    assert cost["total"] == pytest.approx(cost["requests"] + cost["compute"])
    floor = sum(durations) * memory_gb * LAMBDA_PRICES.usd_per_gb_second
    assert cost["compute"] >= floor * (1 - 1e-9) - 1e-15


# --- Cloud Run -----------------------------------------------------------------
def test_cloud_run_hand_computed():
    """10 M requests, 200 ms each, 1 vCPU, 0.5 GiB, concurrency 1 (no sharing):
    2e6 vCPU-s x $0.000024 = $48; 1e6 GiB-s x $0.0000025 = $2.50;
    10 x $0.40 = $4; total $54.50."""
    cost = cloud_run_cost(vcpu_seconds=2e6, gib_seconds=1e6, requests=10_000_000)
    assert cost["cpu"] == pytest.approx(48.0)
    assert cost["memory"] == pytest.approx(2.5)
    assert cost["requests"] == pytest.approx(4.0)
    assert cost["total"] == pytest.approx(54.5)


def test_cloud_run_zero_and_custom_prices():
    assert cloud_run_cost(0, 0, 0)["total"] == 0.0
    custom = CloudRunPrices(usd_per_vcpu_second=0.0000336, usd_per_gib_second=0.0000035,
                           usd_per_million_requests=0.40)
    assert cloud_run_cost(1000, 2000, 0, custom)["total"] == pytest.approx(0.0336 + 0.007)
    with pytest.raises(ValueError):
        cloud_run_cost(-1, 0, 0)
    with pytest.raises(ValueError):
        cloud_run_cost(0, 0, 1.5)


# --- Kubernetes ----------------------------------------------------------------
def test_kubernetes_node_hours():
    """3 nodes for 24 h at $0.192/h (e.g. m5.xlarge on demand): 72 x 0.192 = $13.824."""
    cost = kubernetes_cost(node_hours=72, node_price_per_hour=0.192)
    assert cost == pytest.approx({"nodes": 13.824, "cpu": 0.0, "memory": 0.0, "total": 13.824})


def test_kubernetes_pod_requests_at_fargate_prices():
    """10 pods of 0.5 vCPU / 1 GiB for 24 h: 120 vCPU-h x $0.04048 = $4.8576;
    240 GiB-h x $0.004445 = $1.0668; total $5.9244."""
    cost = kubernetes_cost(vcpu_hours=10 * 0.5 * 24, gib_hours=10 * 1.0 * 24)
    assert cost["cpu"] == pytest.approx(4.8576)
    assert cost["memory"] == pytest.approx(1.0668)
    assert cost["total"] == pytest.approx(5.9244)
    assert cost["nodes"] == 0.0


def test_kubernetes_custom_prices_and_partial_requests():
    autopilot_like = KubernetesPrices(usd_per_vcpu_hour=0.05, usd_per_gib_hour=0.005)
    assert kubernetes_cost(vcpu_hours=10, prices=autopilot_like)["total"] == pytest.approx(0.5)
    assert kubernetes_cost(gib_hours=100, prices=autopilot_like)["total"] == pytest.approx(0.5)
    assert kubernetes_cost(node_hours=0, node_price_per_hour=1.0)["total"] == 0.0


@pytest.mark.parametrize("kwargs", [
    {},
    {"node_hours": 1.0},
    {"node_price_per_hour": 1.0},
    {"node_hours": 1.0, "node_price_per_hour": 1.0, "vcpu_hours": 1.0},
    {"vcpu_hours": -1.0},
    {"node_hours": float("nan"), "node_price_per_hour": 1.0},
])
def test_kubernetes_rejects_ambiguous_or_bad_input(kwargs):
    with pytest.raises(ValueError):
        kubernetes_cost(**kwargs)

"""Prices for the summary's ``cost`` block (USD), with list-price defaults
(:mod:`sim.cost`, looked up 2026-12-02; pass your own: prices change)."""
from __future__ import annotations

from pydantic import Field

from .base import Spec
from .. import cost as _cost


class PricesSpec(Spec):
    """``prices``: Kubernetes pods by request (EKS on Fargate's list prices),
    AWS Lambda and Google Cloud Run (request-based billing). Nodes are priced
    by ``cluster.node_cost_per_hour``."""

    vcpu_hour: float = Field(_cost.KUBERNETES_PRICES.usd_per_vcpu_hour, ge=0)
    gib_hour: float = Field(_cost.KUBERNETES_PRICES.usd_per_gib_hour, ge=0)
    lambda_per_million_requests: float = Field(_cost.LAMBDA_PRICES.usd_per_million_requests, ge=0)
    lambda_gb_second: float = Field(_cost.LAMBDA_PRICES.usd_per_gb_second, ge=0)
    cloud_run_vcpu_second: float = Field(_cost.CLOUD_RUN_PRICES.usd_per_vcpu_second, ge=0)
    cloud_run_gib_second: float = Field(_cost.CLOUD_RUN_PRICES.usd_per_gib_second, ge=0)
    cloud_run_per_million_requests: float = Field(_cost.CLOUD_RUN_PRICES.usd_per_million_requests, ge=0)

"""Cost arithmetic: what a run's usage would cost on AWS Lambda, Google Cloud
Run and Kubernetes, with the prices as parameters.

Pure functions over usage totals a run already records (invocations and
their durations, vCPU- and GiB-seconds, node- or pod-hours); every result is
a dict of USD parts whose ``total`` is the sum of the other parts. Prices
are list prices, on demand, first tier, no free tier, no discounts: compare
designs with them, do not predict a bill.

Default prices, looked up on 2026-12-02 in stored copies of the pages below
(the copies' own crawl dates are not known; prices change -- pass your own):

* AWS Lambda, x86, us-east-1, first tier (aws.amazon.com/lambda/pricing;
  AWS whitepaper "How AWS Pricing Works", Lambda): $0.20 per 1M requests,
  $0.0000166667 per GB-second; duration "rounded up to the nearest 1 ms"
  (since 2020-12, AWS News Blog "1 ms billing granularity"); a GB-second is
  1024 MB configured for 1 s. INIT (cold start) duration is billed like
  handler duration for on-demand ZIP functions on managed runtimes since
  2025-08-01 (AWS Compute Blog "AWS Lambda standardizes billing for INIT
  Phase", 2025-04); it already was for container images, custom runtimes and
  provisioned concurrency.
* Google Cloud Run, request-based billing ("CPU only allocated during
  request processing"), Tier 1 regions (cloud.google.com/run/pricing):
  $0.00002400 per vCPU-second, $0.00000250 per GiB-second, $0.40 per million
  requests; instance time is rounded up to 100 ms. The vCPU price was read
  on Google's page; the GiB-second and request prices on third-party
  summaries of it (a Cloud Run cost calculator page; cloudchipr.com's
  "Cloud Run Pricing in 2025"), the official table being cut off in the
  stored copy.
* Kubernetes per pod request: Amazon EKS on AWS Fargate, Linux/x86,
  us-east-1 (aws.amazon.com/fargate/pricing): $0.04048 per vCPU-hour,
  $0.004445 per GB-hour, billed per second with a 1-minute minimum per pod.
  Read on third-party summaries quoting the AWS page (vantage.sh
  "AWS Fargate Pricing Explained"; wring.co, 2026-03; factualminds.com,
  "as of June 2026"), which agree. Per node there is no default: pass the
  node type's on-demand hourly price.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

PRICES_RETRIEVED = "2026-12-02"  # date the defaults below were looked up (see module docstring)

_NS_IN_MS = 1e-6  # ms: a duration this close above a whole ms bills that ms (float noise)


@dataclass(frozen=True, slots=True)
class LambdaPrices:
    """AWS Lambda on-demand prices: per request, per GB-second of duration, and
    the duration billing granularity (1 ms since 2020-12)."""

    usd_per_million_requests: float
    usd_per_gb_second: float
    billing_granularity_ms: float = 1.0


@dataclass(frozen=True, slots=True)
class CloudRunPrices:
    """Cloud Run request-based billing prices (per vCPU-second, GiB-second, million requests)."""

    usd_per_vcpu_second: float
    usd_per_gib_second: float
    usd_per_million_requests: float


@dataclass(frozen=True, slots=True)
class KubernetesPrices:
    """Per-pod-request prices: per vCPU-hour and GiB-hour requested."""

    usd_per_vcpu_hour: float
    usd_per_gib_hour: float


# aws.amazon.com/lambda/pricing, x86, us-east-1, first 6 billion GB-s/month.
LAMBDA_PRICES = LambdaPrices(usd_per_million_requests=0.20, usd_per_gb_second=0.0000166667)
# cloud.google.com/run/pricing, request-based billing, Tier 1.
CLOUD_RUN_PRICES = CloudRunPrices(usd_per_vcpu_second=0.00002400,
                                  usd_per_gib_second=0.00000250,
                                  usd_per_million_requests=0.40)
# aws.amazon.com/fargate/pricing, EKS/ECS on Fargate, Linux/x86, us-east-1 (AWS says "GB").
KUBERNETES_PRICES = KubernetesPrices(usd_per_vcpu_hour=0.04048, usd_per_gib_hour=0.004445)


def _amount(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def billed_milliseconds(durations_s: Union[float, np.ndarray],
                        granularity_ms: float = 1.0) -> np.ndarray:
    """Each duration (seconds) rounded UP to a whole multiple of
    ``granularity_ms``, in ms: ``ceil(d_ms / g) * g``. A duration within 1 ns
    above a multiple bills that multiple (so 0.028 s bills 28 ms, not 29);
    1.2 ms bills 2 ms; 0 bills 0. Raises on negative or non-finite values."""
    g = _amount("granularity_ms", granularity_ms)
    if g <= 0:
        raise ValueError(f"granularity_ms must be > 0, got {granularity_ms!r}")
    d_ms = np.asarray(durations_s, dtype=float) * 1000.0
    if not np.all(np.isfinite(d_ms)) or np.any(d_ms < 0):
        raise ValueError("durations must be finite and >= 0")
    return np.maximum(0.0, np.ceil((d_ms - _NS_IN_MS) / g)) * g


def lambda_cost(requests: int, billed_durations_s: Union[float, np.ndarray], memory_gb: float,
                prices: LambdaPrices = LAMBDA_PRICES) -> dict[str, float]:
    """AWS Lambda on-demand cost of ``requests`` invocations::

        requests = requests * usd_per_million_requests / 1e6
        compute  = sum(ceil_1ms(d)) / 1000 * memory_gb * usd_per_gb_second
        total    = requests + compute

    ``billed_durations_s`` is one duration per invocation in seconds -- the
    handler duration, plus the INIT duration for cold starts (billed since
    2025-08-01) -- or a single number meaning every one of the ``requests``
    invocations took that long. Each duration is rounded up to 1 ms
    (``prices.billing_granularity_ms``) *before* summing
    (:func:`billed_milliseconds`). ``memory_gb`` is the configured memory in
    MB / 1024.

    Vector: 60 M requests x 28 ms x 1 GB -> $12 requests + $28.00 compute
    (1.68e6 GB-s x $0.0000166667 = $28.000056).

    Not modelled: free tier (1M requests, 400k GB-s a month), the cheaper tiers
    past 6 billion GB-s a month, arm64 prices, provisioned concurrency,
    ephemeral storage beyond 512 MB, data transfer.
    """
    if isinstance(requests, bool) or not isinstance(requests, (int, np.integer)) or requests < 0:
        raise ValueError(f"requests must be an int >= 0, got {requests!r}")
    memory = _amount("memory_gb", memory_gb)
    billed = billed_milliseconds(billed_durations_s, prices.billing_granularity_ms)
    if billed.ndim == 0:
        total_ms = float(billed) * int(requests)
    else:
        total_ms = float(billed.sum())
    request_usd = int(requests) * prices.usd_per_million_requests / 1e6
    compute_usd = total_ms / 1000.0 * memory * prices.usd_per_gb_second
    return {"requests": request_usd, "compute": compute_usd, "total": request_usd + compute_usd}


def cloud_run_cost(vcpu_seconds: float, gib_seconds: float, requests: int,
                   prices: CloudRunPrices = CLOUD_RUN_PRICES) -> dict[str, float]:
    """Google Cloud Run request-based billing::

        cpu      = vcpu_seconds * usd_per_vcpu_second
        memory   = gib_seconds * usd_per_gib_second
        requests = requests * usd_per_million_requests / 1e6
        total    = cpu + memory + requests

    ``vcpu_seconds`` / ``gib_seconds`` are billable instance time x allocated
    vCPU / GiB. Under request-based billing an instance is billable while it
    starts, serves at least one request, or shuts down, rounded up to 100 ms
    -- concurrent requests on one instance share that time; the caller
    aggregates it (this function does no rounding).

    Not modelled: free tier (180k vCPU-s, 360k GiB-s, 2M requests a month),
    Tier 2 region prices, instance-based billing, min-instance idle rates,
    committed use discounts, networking.
    """
    if isinstance(requests, bool) or not isinstance(requests, (int, np.integer)) or requests < 0:
        raise ValueError(f"requests must be an int >= 0, got {requests!r}")
    cpu = _amount("vcpu_seconds", vcpu_seconds) * prices.usd_per_vcpu_second
    memory = _amount("gib_seconds", gib_seconds) * prices.usd_per_gib_second
    request_usd = int(requests) * prices.usd_per_million_requests / 1e6
    return {"requests": request_usd, "cpu": cpu, "memory": memory,
            "total": request_usd + cpu + memory}


def kubernetes_cost(node_hours: Optional[float] = None,
                    node_price_per_hour: Optional[float] = None,
                    vcpu_hours: Optional[float] = None,
                    gib_hours: Optional[float] = None,
                    prices: KubernetesPrices = KUBERNETES_PRICES) -> dict[str, float]:
    """Kubernetes compute cost, in exactly one of two modes:

    * per node (self-managed nodes, GKE Standard, EKS on EC2):
      ``nodes = node_hours * node_price_per_hour`` -- you pay for nodes
      whether or not pods fill them;
    * per pod request (EKS on Fargate, GKE Autopilot):
      ``cpu = vcpu_hours * usd_per_vcpu_hour``,
      ``memory = gib_hours * usd_per_gib_hour`` where the hours are summed
      pod *requests* x time (either may be omitted, counting 0).

    Returns ``nodes``, ``cpu``, ``memory`` (0 for the mode not used) and
    ``total``. Giving both modes, or neither, raises: they price the same
    capacity twice.

    Not modelled: the cluster fee ($0.10 per cluster-hour on EKS and GKE),
    Fargate's 1-minute minimum per pod and Autopilot's request rounding,
    storage, load balancers, data transfer, spot and committed discounts.
    """
    per_node = node_hours is not None or node_price_per_hour is not None
    per_pod = vcpu_hours is not None or gib_hours is not None
    if per_node == per_pod:
        raise ValueError("give either node_hours and node_price_per_hour, "
                         "or vcpu_hours and/or gib_hours")
    nodes = cpu = memory = 0.0
    if per_node:
        if node_hours is None or node_price_per_hour is None:
            raise ValueError("node_hours and node_price_per_hour go together")
        nodes = _amount("node_hours", node_hours) * _amount("node_price_per_hour",
                                                             node_price_per_hour)
    else:
        if vcpu_hours is not None:
            cpu = _amount("vcpu_hours", vcpu_hours) * prices.usd_per_vcpu_hour
        if gib_hours is not None:
            memory = _amount("gib_hours", gib_hours) * prices.usd_per_gib_hour
    return {"nodes": nodes, "cpu": cpu, "memory": memory, "total": nodes + cpu + memory}

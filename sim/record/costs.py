"""The summary's ``cost`` block: what the run's usage would cost at the
scenario's ``prices`` (:mod:`sim.cost` does the arithmetic).

- ``pods``: every service's pods by request, ``cpu_request`` and ``memory``
  x pod-seconds (EKS-on-Fargate-like per-pod pricing);
- ``nodes``: node-hours x ``cluster.node_cost_per_hour`` (with a cluster);
- ``functions.NAME``: AWS Lambda (requests and billed GB-seconds) or Cloud
  Run (requests, and vCPU- and GiB-seconds of busy instances);
- ``total``: the nodes if the scenario prices them, else the pods, plus
  every function.
"""
from __future__ import annotations

from .. import cost as _cost


def cost_block(scenario, summary: dict) -> dict:
    prices = scenario.prices
    vcpu_h = gib_h = 0.0
    for name, spec in scenario.services.items():
        hours = summary["services"][name]["pod_seconds"] / 3600.0
        vcpu_h += spec.pod.cpu_request_cores * hours
        gib_h += spec.pod.memory * hours
    pods = _cost.kubernetes_cost(vcpu_hours=vcpu_h, gib_hours=gib_h,
                                 prices=_cost.KubernetesPrices(prices.vcpu_hour, prices.gib_hour))["total"]
    cluster = summary.get("cluster")
    nodes = cluster["cost"] if cluster is not None else 0.0
    functions = {name: function_cost(spec, summary["functions"][name], prices)
                 for name, spec in scenario.functions.items()}
    kubernetes = nodes if cluster is not None and scenario.cluster.node_cost_per_hour > 0 else pods
    return {"total": kubernetes + sum(f["total"] for f in functions.values()),
            "pods": pods, "nodes": nodes, "functions": functions}


def function_cost(spec, block: dict, prices) -> dict:
    """``{requests, compute, total}`` of one function's invocations."""
    if spec.billing == "lambda":
        lam = _cost.LambdaPrices(prices.lambda_per_million_requests, prices.lambda_gb_second)
        requests = block["invocations"] * lam.usd_per_million_requests / 1e6
        compute = block["billed_gb_seconds"] * lam.usd_per_gb_second
    else:
        busy_s = block["busy_instance_seconds"]
        requests = block["invocations"] * prices.cloud_run_per_million_requests / 1e6
        compute = busy_s * (spec.cpu_cores * prices.cloud_run_vcpu_second
                            + spec.memory * prices.cloud_run_gib_second)
    return {"requests": requests, "compute": compute, "total": requests + compute}

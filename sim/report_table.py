"""Readable text tables of a run's summary, for ``podsim run``."""
from __future__ import annotations

from typing import Optional

from .units import format_duration


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else format_duration(value)


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def summary_table(summary: dict) -> str:
    """The headline numbers and one line per service."""
    req, lat = summary["requests"], summary["latency_s"]
    failed = {k: v for k, v in req.items()
              if k not in ("total", "ok", "failed") and v}
    lines = [
        f"scenario {summary['scenario']!r}  seed {summary['seed']}  "
        f"window {format_duration(summary['warmup_s'])}..{format_duration(summary['duration_s'])}  "
        f"({summary['wall_s']:.2f}s wall, {summary['events']:,} events)",
        f"requests  {req['total']:,}  ok {req['ok']:,}  success {_pct(summary['success_ratio'])}"
        + (f"  ({', '.join(f'{k} {v:,}' for k, v in failed.items())})" if failed else ""),
        f"rates     offered {summary['offered_rps']:.1f}/s  goodput {summary['goodput_rps']:.1f}/s  "
        f"attempts/request {summary['attempts_per_request'] or 0:.2f}",
        f"latency   mean {_ms(lat['mean'])}  p50 {_ms(lat['p50'])}  p90 {_ms(lat['p90'])}  "
        f"p99 {_ms(lat['p99'])}  p99.9 {_ms(lat['p999'])}  max {_ms(lat['max'])}",
        "",
    ]
    header = (f"{'service':<16}{'arrivals':>10}{'ok':>10}{'failed':>8}{'waited':>8}{'wait':>9}"
              f"{'p50':>9}{'p99':>9}{'cpu':>7}{'replicas':>10}{'pod-s':>9}")
    lines += [header, "-" * len(header)]
    for name, svc in summary["services"].items():
        failed_count = svc["rejected"] + svc["timeout"] + svc["error"] + svc.get("breaker_open", 0)
        rep = svc["replicas"]
        lines.append(
            f"{name:<16}{svc['arrivals']:>10,}{svc['ok']:>10,}{failed_count:>8,}"
            f"{_pct(svc['waited_ratio']):>8}{_ms(svc['queue_wait_s']['mean']):>9}"
            f"{_ms(svc['latency_s']['p50']):>9}{_ms(svc['latency_s']['p99']):>9}"
            f"{_pct(svc['cpu_utilization']):>7}{rep['mean']:>6.1f}/{rep['max']:<3}"
            f"{svc['pod_seconds']:>9,.0f}")
    return "\n".join(lines)

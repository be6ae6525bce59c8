"""Parsing of the unit-bearing quantities in scenario files.

Durations: a bare number is seconds; a string may carry a unit
(``250us``, ``20ms``, ``15s``, ``5m``, ``2h``, ``1d``) or several, as Go's
``time.ParseDuration`` writes them (``1h30m``, ``2m30s``).
CPU: a bare number is cores; a string may use Kubernetes quantities
(``500m`` millicores, ``2`` cores, ``1.5``).

Both parsers raise ``ValueError`` with a short message; the spec layer turns
that into ``path: problem (got VALUE)``.
"""
from __future__ import annotations

import math
import re

_DURATION_UNITS_S = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0,
    "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0,
}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*([a-zµ]*)\s*$")
_PART_RE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h|d)")
_COMPOUND_RE = re.compile(r"^(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|ms|s|m|h|d))+$")
_CPU_RE = re.compile(rf"^\s*({_NUMBER})\s*(m?)\s*$")


def _finite(x: float, what: str) -> float:
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite")
    return x


def parse_duration(value: object) -> float:
    """Return ``value`` as seconds (float).

    >>> parse_duration("20ms"), parse_duration(3), parse_duration("5m"), parse_duration("1h30m")
    (0.02, 3.0, 300.0, 5400.0)
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 250ms, 15s or 5m")
    if isinstance(value, (int, float)):
        return _finite(float(value), "a duration")
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match:
            number, unit = match.groups()
            unit = unit or "s"
            if unit in _DURATION_UNITS_S:
                return _finite(float(number) * _DURATION_UNITS_S[unit], "a duration")
            raise ValueError(f"unknown duration unit {unit!r} (use us, ms, s, m, h, d)")
        text = value.strip()
        if _COMPOUND_RE.match(text):  # Go's time.ParseDuration form: 1h30m, 2m30s
            return sum(float(n) * _DURATION_UNITS_S[u] for n, u in _PART_RE.findall(text))
    raise ValueError("expected a duration such as 250ms, 15s, 5m or 1h30m")


def parse_cpu(value: object) -> float:
    """Return ``value`` as CPU cores (float), accepting Kubernetes quantities.

    >>> parse_cpu("500m"), parse_cpu(2), parse_cpu("1.5")
    (0.5, 2.0, 1.5)
    """
    if isinstance(value, bool):
        raise ValueError("expected CPU cores such as 1, 0.5 or 500m")
    if isinstance(value, (int, float)):
        return _finite(float(value), "a CPU quantity")
    if isinstance(value, str):
        match = _CPU_RE.match(value)
        if match:
            number, milli = match.groups()
            return float(number) / (1000.0 if milli else 1.0)
    raise ValueError("expected CPU cores such as 1, 0.5 or 500m")


def format_duration(seconds: float) -> str:
    """A short human form of a duration, for tables and plot labels."""
    if seconds == 0:
        return "0s"
    magnitude = abs(seconds)
    if magnitude < 1e-6:
        return f"{seconds * 1e9:.3g}ns"
    if magnitude < 1e-3:
        return f"{seconds * 1e6:.3g}us"
    if magnitude < 1:
        return f"{seconds * 1e3:.3g}ms"
    if magnitude < 120:
        return f"{seconds:.3g}s"
    if magnitude < 7200:
        return f"{seconds / 60:.3g}m"
    return f"{seconds / 3600:.3g}h"


_QUANTITY_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][-+]?\d+|[numkMGTPE]?)\s*$")
_QUANTITY_SUFFIX = {
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "P": 1e15, "E": 1e18, "Ki": 2.0 ** 10, "Mi": 2.0 ** 20, "Gi": 2.0 ** 30, "Ti": 2.0 ** 40,
    "Pi": 2.0 ** 50, "Ei": 2.0 ** 60,
}


def parse_quantity(value: object) -> float:
    """Return a Kubernetes resource quantity (apimachinery ``resource.Quantity``) as a float.

    A bare number is itself; a string is a signed decimal number with one
    suffix: decimal SI (``n u m k M G T P E``), binary SI (``Ki Mi Gi Ti Pi
    Ei``) or a decimal exponent (``1e3``, ``5E-1``).

    >>> parse_quantity("500m"), parse_quantity("1k"), parse_quantity("2Gi"), parse_quantity(3)
    (0.5, 1000.0, 2147483648.0, 3.0)
    """
    if isinstance(value, bool):
        raise ValueError("expected a quantity such as 10, 500m, 1k or 2Gi")
    if isinstance(value, (int, float)):
        return _finite(float(value), "a quantity")
    if isinstance(value, str):
        match = _QUANTITY_RE.match(value)
        if match:
            number, suffix = match.groups()
            if suffix in _QUANTITY_SUFFIX:
                return _finite(float(number) * _QUANTITY_SUFFIX[suffix], "a quantity")
            return _finite(float(f"{number}e{suffix[1:]}"), "a quantity")  # 1e3, 5E-1
    raise ValueError("expected a quantity such as 10, 500m, 1k or 2Gi")


def parse_memory_gb(value: object) -> float:
    """Memory in GB (Lambda's GB-seconds: 1 GB = 1024 MB): a bare number is GB;
    ``1024MB`` / ``2GB`` as Lambda's console writes them; a Kubernetes quantity
    (``1024Mi``, ``2Gi``) is converted (``1024Mi`` = 1 GB).

    >>> parse_memory_gb("1024Mi"), parse_memory_gb(2), parse_memory_gb("512MB")
    (1.0, 2.0, 0.5)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite(float(value), "a memory size")
    if isinstance(value, str):
        text = value.strip()
        for suffix, per_gb in (("MB", 1024.0), ("GB", 1.0)):  # Lambda's console: 1,024 MB = 1 GB
            if text.endswith(suffix):
                try:
                    return _finite(float(text[:-2]) / per_gb, "a memory size")
                except ValueError:
                    break
        try:
            return parse_quantity(text) / 2.0 ** 30
        except ValueError:
            pass
    raise ValueError("expected a memory size such as 1024MB, 1024Mi, 2Gi or a number of GB")

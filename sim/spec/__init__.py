"""The scenario as immutable, validated data (layer 1: no SimPy here)."""
from .distributions import Dist
from .loader import load, read_yaml, validate
from .overrides import apply_overrides, get_path, parse_assignment, set_path
from .scenario import Scenario

__all__ = ["Dist", "Scenario", "apply_overrides", "get_path", "load", "parse_assignment",
           "read_yaml", "set_path", "validate"]

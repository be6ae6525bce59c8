"""Tests for sim.policies.scheduling (CPU parts of kube-scheduler's
noderesources fit_test.go / least_allocated_test.go)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.policies.scheduling import (
    NodeCapacity,
    choose_node,
    feasible_nodes,
    fits,
    least_allocated_score,
    to_millicores,
)


def test_fits_boundaries():
    assert fits(1.0, 1.0)
    assert not fits(1.0, 1.001)
    assert fits(0.3, 0.1 + 0.2)  # millicore rounding absorbs float noise
    assert fits(-0.5, 0.0)       # a zero request always fits (fitsRequest)
    assert not fits(-0.5, 0.1)


@pytest.mark.parametrize("name,alloc,req,pod,expected", [
    ("nothing scheduled, resources requested, differently sized machines (4000)", 4.0, 0.0, 3.0, 25),
    ("nothing scheduled, resources requested, differently sized machines (6000)", 6.0, 0.0, 3.0, 50),
    ("resources requested, pods scheduled with resources", 10.0, 6.0, 3.0, 10),
    ("requested resources exceed node capacity", 4.0, 3.0, 3.0, 0),
    ("zero node resources", 0.0, 0.0, 1.0, 0),
    ("empty node, tiny pod", 4.0, 0.0, 0.001, 99),
])
def test_least_allocated_score_cpu_cases(name, alloc, req, pod, expected):
    assert least_allocated_score(alloc, req, pod) == expected


def test_zero_request_scored_as_100m():
    assert least_allocated_score(1.0, 0.0, 0.0) == 90


def test_choose_node_most_free_wins_then_name():
    nodes = [NodeCapacity("b", 4.0, 2.0), NodeCapacity("a", 4.0, 2.0), NodeCapacity("c", 8.0, 1.0)]
    assert choose_node(nodes, 1.0).name == "c"
    assert choose_node(nodes[:2], 1.0).name == "a"  # tie -> smallest name
    assert choose_node([NodeCapacity("x", 1.0, 0.9)], 0.5) is None
    assert choose_node([], 0.5) is None


def test_integer_score_ties_resolve_by_name():
    # 0.455 and 0.459 free fractions both score 45 -> tie, as in kube-scheduler.
    nodes = [NodeCapacity("z", 1.0, 0.045), NodeCapacity("y", 1.0, 0.041)]
    assert {least_allocated_score(n.allocatable_cpu, n.requested_cpu, 0.5) for n in nodes} == {45}
    assert choose_node(nodes, 0.5).name == "y"


def test_node_capacity_validation_and_free():
    assert NodeCapacity("n", 2.0, 0.5).free_cpu == 1.5
    with pytest.raises(ValueError):
        NodeCapacity("n", -1.0)


node_st = st.builds(NodeCapacity, st.text("abcdef", min_size=1, max_size=3),
                    st.integers(0, 16_000).map(lambda m: m / 1000),
                    st.integers(0, 16_000).map(lambda m: m / 1000))


@settings(max_examples=300, deadline=None)
@given(st.lists(node_st, max_size=8, unique_by=lambda n: n.name),
       st.integers(0, 8000).map(lambda m: m / 1000))
def test_choose_node_is_feasible_and_maximal(nodes, request):
    chosen = choose_node(nodes, request)
    feasible = feasible_nodes(nodes, request)
    if not feasible:
        assert chosen is None
        return
    assert chosen in feasible
    best = max(least_allocated_score(n.allocatable_cpu, n.requested_cpu, request) for n in feasible)
    score = least_allocated_score(chosen.allocatable_cpu, chosen.requested_cpu, request)
    assert score == best
    assert chosen.name == min(n.name for n in feasible
                              if least_allocated_score(n.allocatable_cpu, n.requested_cpu, request) == best)
    assert to_millicores(request) <= 0 or to_millicores(request) <= to_millicores(chosen.free_cpu)

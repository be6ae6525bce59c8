"""Kafka consumer-group partition assignment for one topic.

Pure functions over partition counts and member ids; no clock, no randomness.
Partitions are the integers ``0 .. partitions - 1``; an assignment maps every
member id to the ascending list of partitions it owns (idle members map to
``[]``).

Sources imitated (apache/kafka, clients module):

* ``clients/consumer/RangeAssignor.java`` -- ``assignPartitions``,
  ``TopicAssignmentState`` (``numPartitionsPerConsumer = P / C``,
  ``remainingConsumersWithExtraPartition = P % C``), ``assignRanges``,
  ``maxAssignable``; member order from
  ``consumer/internals/AbstractPartitionAssignor.java`` ``MemberInfo.compareTo``.
* ``consumer/internals/AbstractStickyAssignor.java`` --
  ``ConstrainedAssignmentBuilder`` (the path taken when every member subscribes
  to the same topics, always the case for one topic), and
  ``clients/consumer/CooperativeStickyAssignor.java`` ``adjustAssignment``.

Worked example -- P=12, members c0, c1, c2 with the range assignment
``{c0: 0-3, c1: 4-7, c2: 8-11}``; c0 leaves. :func:`sticky_assignment` gives
targets 6/6; c1 keeps 4-7 and c2 keeps 8-11, and the unowned 0-3 go to c1
(0, 1) then c2 (2, 3): only c0's four partitions move. :func:`range_assignment`
on {c1, c2} instead gives c1 0-5, c2 6-11, so 6 and 7 move from c1 to c2 too.
"""
from __future__ import annotations

from typing import Mapping, Sequence


def _check(partitions: int, consumers: Sequence[str]) -> list[str]:
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 0:
        raise ValueError(f"partitions must be an int >= 0, got {partitions!r}")
    if isinstance(consumers, str):
        raise TypeError("consumers must be a sequence of member ids, not one string")
    members = sorted(consumers)
    if len(set(members)) != len(members):
        raise ValueError(f"consumer ids must be unique, got {list(consumers)!r}")
    return members


def target_sizes(partitions: int, consumers: Sequence[str]) -> dict[str, int]:
    """Balanced partition count per member, as RangeAssignor computes it.

    Members are sorted by id (Python ``str`` order; see :func:`range_assignment`);
    with ``n = P // C`` and ``e = P % C`` the first ``e`` sorted members get
    ``n + 1`` and the rest ``n``. Sizes sum to ``P`` and differ by at most 1.
    Zero consumers -> ``{}``.
    """
    members = _check(partitions, consumers)
    if not members:
        return {}
    per_member, extra = divmod(partitions, len(members))
    return {m: per_member + (1 if i < extra else 0) for i, m in enumerate(members)}


def range_assignment(partitions: int, consumers: Sequence[str]) -> dict[str, list[int]]:
    """Kafka ``RangeAssignor`` for one topic (no racks, no static members).

    Partitions in numeric order are cut into contiguous ranges; sorted member
    ``i`` gets ``n + (1 if i < e else 0)`` of them (``n = P // C``,
    ``e = P % C``). Every member is a key; members beyond ``P`` get ``[]``.
    Zero consumers -> ``{}``.

    Ordering: Kafka sorts ``MemberInfo`` by ``group.instance.id`` when both
    members are static (static before dynamic), else by ``member.id`` with
    ``String.compareTo`` -- so ``"c10" < "c2"``. Python compares code points,
    Java UTF-16 units; the two agree except for ids holding characters beyond
    U+FFFF. Static membership and rack-aware matching are not modelled.
    """
    sizes = target_sizes(partitions, consumers)
    assignment: dict[str, list[int]] = {}
    start = 0
    for member, size in sizes.items():  # insertion order is sorted order
        assignment[member] = list(range(start, start + size))
        start += size
    return assignment


def owners(assignment: Mapping[str, Sequence[int]]) -> dict[int, str]:
    """Partition -> owning member. A partition listed under two members is an
    invalid assignment and raises ``ValueError``."""
    owner: dict[int, str] = {}
    for member, parts in assignment.items():
        for p in parts:
            if p in owner:
                raise ValueError(f"partition {p} owned by both {owner[p]!r} and {member!r}")
            owner[p] = member
    return owner


def moved_partitions(before: Mapping[str, Sequence[int]],
                     after: Mapping[str, Sequence[int]]) -> set[int]:
    """Partitions whose owner differs between two assignments.

    Includes partitions that gain an owner (unowned before) and partitions
    that lose theirs (owned before, unowned after). Under the cooperative
    protocol these are exactly the partitions paused by a rebalance; under
    the eager protocol every partition is paused regardless.
    """
    old, new = owners(before), owners(after)
    return {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}


def sticky_assignment(partitions: int, consumers: Sequence[str],
                      previous: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Simplified cooperative-sticky assignment for one topic.

    1. Targets are :func:`target_sizes` (the range sizes: sorted members, the
       first ``P % C`` get one more).
    2. Each current member keeps its previously owned partitions, lowest
       numbers first, up to its target. Previously owned partitions that no
       longer exist (``>= P``), owners no longer in the group, and partitions
       claimed by two previous owners (Kafka's same-generation
       ``partitionsWithMultiplePreviousOwners``, invalidated for both) are
       unowned.
    3. Unowned partitions, ascending, fill members below target in sorted order
       (each member is filled to its target before the next).

    Invariants: every partition assigned exactly once when ``C >= 1``; sizes
    differ by at most 1; a surviving member whose previous count does not
    exceed its target keeps all of it; the moved set equals the set of
    partitions not kept in step 2, whatever the order of step 3.

    Differences from ``AbstractStickyAssignor.ConstrainedAssignmentBuilder``
    (Kafka keeps the same balance and the same "keep lowest partitions first"
    rule, ``assignOwnedPartitions`` sorting owned partitions by number):

    * Who gets the ``maxQuota = ceil(P/C)`` slots: Kafka gives them to the
      first members, in ``currentAssignment`` (``HashMap``) iteration order,
      that already own ``>= maxQuota`` partitions, then to members filled up
      during round-robin; here they are fixed to the first ``P % C`` members
      in sorted order. So a member that owned ``maxQuota`` partitions but sorts
      late is trimmed to ``minQuota`` here and can move one partition more
      than Kafka would.
    * Filling: Kafka hands unowned partitions out round-robin (one at a time)
      over the sorted under-``minQuota`` members, then to members at exactly
      ``minQuota`` (``assignRoundRobin``); here each member is filled in turn.
      The moved set is the same; only which member gets which unowned
      partition differs.
    * Not modelled: generations (a higher-generation claim wins over a lower),
      rack-aware filling, several topics, the ``GeneralAssignmentBuilder``
      path (unequal subscriptions), and the cooperative two-round handoff:
      ``CooperativeStickyAssignor.adjustAssignment`` leaves a partition
      transferring from a live owner unassigned in the first rebalance and
      assigns it in a follow-up one; this function returns the final state.
    """
    sizes = target_sizes(partitions, consumers)
    claims: dict[int, list[str]] = {}
    for member, parts in previous.items():
        for p in set(parts):
            claims.setdefault(p, []).append(member)
    kept: dict[str, list[int]] = {}
    for member, size in sizes.items():
        valid = sorted(p for p in set(previous.get(member, ()))
                       if 0 <= p < partitions and len(claims[p]) == 1)
        kept[member] = valid[:size]
    taken = {p for parts in kept.values() for p in parts}
    free = iter(p for p in range(partitions) if p not in taken)
    assignment: dict[str, list[int]] = {}
    for member, size in sizes.items():
        parts = list(kept[member])
        while len(parts) < size:
            parts.append(next(free))
        assignment[member] = sorted(parts)
    return assignment

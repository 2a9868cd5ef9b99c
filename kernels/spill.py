"""Nearest-first assignment with spill-over, in rounds: the engine's fast assignment policy.

DESIGN §7 in its plainest reading: every market sends its demand to its nearest region; what does not
fit spills to its next-nearest region, and so on. Round ``r`` offers every market's remaining demand to
its ``r``-th nearest region (by RTT); a region asked for more than it has left shares it out in
proportion to the requests of that round. Earlier rounds come first, so a region serves the markets
for which it is the nearest before those for which it is the second choice.

Unlike :func:`kernels.assign_by_latency` (an exact lexicographic min-cost flow), this is a policy, not
an optimum: when markets compete for a region, a different split can put more demand within the
latency target. It runs in at most ``n`` rounds of element-wise work on ``[batch, markets]`` arrays,
which is what lets the engine evaluate a hundred thousand network states per run; ``README`` reports
how far it is from the exact optimum on the default scenario.

Orders are given per *state* (``order[u, m, :]``: regions by RTT for market ``m`` in topology state
``u``), since many batch elements share one topology. Runs on NumPy or CuPy (not yet run on a GPU).
"""
from __future__ import annotations

from typing import NamedTuple

from kernels.backend import scatter_add, xp_of


class Spill(NamedTuple):
    """The assignment as a sparse list of grants: ``mw[k]`` of market ``market[k]`` in element
    ``element[k]`` went to region ``region[k]`` at RTT ``rtt[k]``; ``unmet[b, m]`` MW found no capacity;
    ``served[b, m]`` MW found some."""

    element: object
    market: object
    region: object
    rtt: object
    mw: object
    served: object
    unmet: object

    def dense(self, n_regions: int):
        """alloc[b, m, n] (MW), for tests and small batches."""
        xp = xp_of(self.mw)
        B, M = self.unmet.shape
        alloc = xp.zeros(B * M * n_regions)
        scatter_add(xp, alloc, (self.element * M + self.market) * n_regions + self.region, self.mw)
        return alloc.reshape(B, M, n_regions)


def region_order(rtt):
    """Regions by increasing RTT for each market: ``[..., m, n]`` int (unreachable ones last)."""
    xp = xp_of(rtt)
    return xp.argsort(rtt, axis=-1, kind="stable").astype(xp.int32)


def assign_nearest_first(demand, capacity, rtt_state, order_state, state,
                         max_rounds: int | None = None) -> Spill:
    """Assign demand [B, M] to capacity [B, N] nearest-first; element b uses topology state[b].

    ``rtt_state`` [U, M, N] (inf = unreachable) and ``order_state`` [U, M, N] from :func:`region_order`.
    Only (element, market) pairs with demand left take part in a round, so the cost follows the spill:
    most markets are served by their nearest region in round 0 and drop out.
    """
    xp = xp_of(demand, capacity, rtt_state)
    B, M = demand.shape
    N = capacity.shape[1]
    state = xp.asarray(state)
    sorted_rtt = xp.take_along_axis(rtt_state, order_state, axis=2)  # [U, M, N], per state only
    demand = xp.asarray(demand, dtype=xp.float64)
    b, m = xp.nonzero(demand > 0)  # the active (element, market) pairs
    left = demand[b, m]
    rem_c = xp.array(capacity, dtype=xp.float64).reshape(-1)
    unmet = xp.zeros(B * M, dtype=xp.float64)
    parts = []
    for r in range(min(N, max_rounds or N)):  # host-known bound
        st = state[b]
        region = order_state[st, m, r]  # each pair's r-th nearest region
        rtt = sorted_rtt[st, m, r]
        request = xp.where(rtt < xp.inf, left, 0.0)
        slot = b * N + region
        asked = xp.zeros(B * N, dtype=xp.float64)
        scatter_add(xp, asked, slot, request)
        share = xp.where(asked > 0, xp.minimum(1.0, rem_c / xp.where(asked > 0, asked, 1.0)), 0.0)
        grant = request * share[slot]
        given = grant > 0
        parts.append((b[given], m[given], region[given], rtt[given], grant[given]))
        left = left - grant
        rem_c = xp.maximum(rem_c - asked * share, 0.0)  # rounding: never negative capacity
        room = rem_c.reshape(B, N).sum(axis=1) > 1e-9
        going = (left > 1e-9) & room[b]
        scatter_add(xp, unmet, (b * M + m)[~going], left[~going])  # nothing more for these pairs
        b, m, left = b[going], m[going], left[going]
        if b.size == 0:  # one host sync per round
            break
    scatter_add(xp, unmet, b * M + m, left)  # rounds exhausted: what is left found no region
    element, market, region, rtt, mw = (xp.concatenate(p) for p in zip(*parts)) if parts else \
        (xp.zeros(0, dtype=int),) * 3 + (xp.zeros(0),) * 2
    unmet = unmet.reshape(B, M)
    return Spill(element, market, region, rtt, mw, demand - unmet, unmet)

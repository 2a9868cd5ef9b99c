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
    order_flat = order_state.reshape(-1)
    sorted_rtt = xp.take_along_axis(rtt_state, order_state, axis=2).reshape(-1)  # [U*M*N], per state only
    demand = xp.asarray(demand, dtype=xp.float64)
    b0, m0 = xp.nonzero(demand > 0)  # the (element, market) pairs that ask for anything
    want = demand[b0, m0]
    # Per active pair: its id, demand left, element, and where its row of orders starts (flat).
    pair, left, b, row = xp.arange(want.size), want.copy(), b0, (state[b0] * M + m0) * N
    rem_c = xp.array(capacity, dtype=xp.float64).reshape(-1)  # [B*N] capacity left
    room = rem_c.reshape(B, N).sum(axis=1)  # [B] capacity left per element
    grants = []
    for r in range(min(N, max_rounds or N)):  # host-known bound
        region = order_flat[row + r]  # each pair's r-th nearest region
        slot = b * N + region
        # Only pairs whose r-th region is reachable and not yet full can get anything this round.
        useful = xp.nonzero((rem_c[slot] > 0) & (sorted_rtt[row + r] < xp.inf))[0]
        ub, uslot, request = b[useful], slot[useful], left[useful]
        # requests per (element, region): dense over the elements asking this round only (ub is sorted)
        first = xp.concatenate([xp.ones(min(1, ub.size), dtype=bool), ub[1:] != ub[:-1]])
        local = xp.cumsum(first) - 1
        active = ub[first]
        local_slot = local * N + region[useful]
        asked = xp.zeros(active.size * N, dtype=xp.float64)
        scatter_add(xp, asked, local_slot, request)
        asked = asked[local_slot]
        have = rem_c[uslot]
        share = xp.minimum(1.0, have / asked)  # asked >= request > 1e-9 here
        grant = request * share
        rem_c[uslot] = xp.maximum(have - asked * share, 0.0)  # pairs sharing a slot write the same value
        taken = xp.zeros(active.size, dtype=xp.float64)
        scatter_add(xp, taken, local, grant)
        room[active] -= taken
        grants.append((pair[useful], grant, xp.full(grant.size, r, dtype=xp.int32)))
        left[useful] -= grant
        going = (left > 1e-9) & (room[b] > 1e-9)
        pair, left, b, row = pair[going], left[going], b[going], row[going]
        if pair.size == 0:  # one host sync per round
            break
    if grants:
        pair, mw, rank = (xp.concatenate(g) for g in zip(*grants))
    else:
        pair, mw, rank = xp.zeros(0, dtype=int), xp.zeros(0), xp.zeros(0, dtype=xp.int32)
    element, market = b0[pair], m0[pair]
    at = (state[element] * M + market) * N + rank
    region, rtt = order_flat[at], sorted_rtt[at]
    served = xp.zeros(want.size, dtype=xp.float64)
    scatter_add(xp, served, pair, mw)
    unmet = xp.zeros(B * M, dtype=xp.float64)
    unmet[b0 * M + m0] = want - served  # what no round could place
    unmet = unmet.reshape(B, M)
    return Spill(element, market, region, rtt, mw, demand - unmet, unmet)

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

Round 0 involves every (element, market) pair and serves most of the demand, so it is dense
(``[batch, markets]`` arrays, no index lists); later rounds only carry the pairs with demand left, as
a sparse list. The result keeps the same split: what each market's nearest region serves, dense, and
the spilled grants, sparse.

Orders are given per *state* (``order[u, m, :]``: regions by RTT for market ``m`` in topology state
``u``), since many batch elements share one topology. Runs on NumPy or CuPy (not yet run on a GPU).
"""
from __future__ import annotations

from typing import NamedTuple

from kernels.backend import scatter_add, stable_argsort, xp_of

LEFT_MW = 1e-9  # demand (or room) below this is done: it takes no further round


class Spill(NamedTuple):
    """The assignment. Round 0, dense ``[B, M]``: each market's nearest region ``nearest`` served
    ``nearest_mw`` at ``nearest_rtt``. Later rounds, sparse: ``mw[k]`` of market ``market[k]`` in
    element ``element[k]`` spilled to region ``region[k]`` at RTT ``rtt[k]``. ``served[b, m]`` MW
    found capacity, ``unmet[b, m]`` MW found none."""

    nearest: object
    nearest_rtt: object
    nearest_mw: object
    element: object
    market: object
    region: object
    rtt: object
    mw: object
    served: object
    unmet: object

    def grants(self, round_0=None):
        """The grants as one sparse list ``(element, market, region, rtt, mw)``: the round-0 grants
        where ``round_0`` [B, M] is true (default: every one above 0 MW), then the spilled ones."""
        xp = xp_of(self.mw)
        b, m = xp.nonzero(self.nearest_mw > 0 if round_0 is None else round_0)
        return (xp.concatenate([b, self.element]), xp.concatenate([m, self.market]),
                xp.concatenate([self.nearest[b, m], self.region]),
                xp.concatenate([self.nearest_rtt[b, m], self.rtt]),
                xp.concatenate([self.nearest_mw[b, m], self.mw]))

    def dense(self, n_regions: int):
        """alloc[b, m, n] (MW), for tests and small batches."""
        xp = xp_of(self.mw)
        B, M = self.unmet.shape
        b, m, region, _, mw = self.grants()
        alloc = xp.zeros(B * M * n_regions)
        scatter_add(xp, alloc, (b * M + m) * n_regions + region, mw)
        return alloc.reshape(B, M, n_regions)


def region_order(rtt):
    """Regions by increasing RTT for each market: ``[..., m, n]`` int (unreachable ones last)."""
    xp = xp_of(rtt)
    return stable_argsort(xp, rtt).astype(xp.int32)


def _share(xp, have, asked):
    """Each request's share of a region it asked for, and what the region has left: all of the request
    when the region has room for every request, else ``have / asked`` of it (requests are prorated)."""
    short = asked > have  # here asked > 0
    share = xp.where(short, have / xp.where(short, asked, 1.0), 1.0)
    return share, xp.where(short, 0.0, have - asked)


def assign_nearest_first(demand, capacity, rtt_state, order_state, state,
                         max_rounds: int | None = None, sorted_rtt=None) -> Spill:
    """Assign demand [B, M] to capacity [B, N] nearest-first; element b uses topology state[b].

    ``rtt_state`` [U, M, N] (inf = unreachable) and ``order_state`` [U, M, N] from :func:`region_order`;
    ``sorted_rtt`` (optional) is ``rtt_state`` in that order, for callers that keep it per state.
    Only (element, market) pairs with demand left take part in a round after the first, so the cost
    follows the spill: most markets are served by their nearest region in round 0 and drop out.
    """
    xp = xp_of(demand, capacity, rtt_state)
    B, M = demand.shape
    N = capacity.shape[1]
    state = xp.asarray(state)
    if sorted_rtt is None:
        sorted_rtt = xp.take_along_axis(rtt_state, order_state, axis=2)
    order_flat, sorted_flat = order_state.reshape(-1), sorted_rtt.reshape(-1)
    demand = xp.asarray(demand, dtype=xp.float64)
    rem_c = xp.array(capacity, dtype=xp.float64).reshape(-1)  # [B*N] capacity left
    rounds = min(N, max_rounds or N)

    # Round 0, dense: every market asks its nearest region.
    nearest, nearest_rtt = order_state[state, :, 0], sorted_rtt[state, :, 0]  # [B, M]
    slot = (xp.arange(B)[:, None] * N + nearest).reshape(-1)
    request = xp.where(nearest_rtt < xp.inf, demand, 0.0).reshape(-1)
    asked = xp.zeros(B * N, dtype=xp.float64)
    scatter_add(xp, asked, slot, request)
    share, rem_c = _share(xp, rem_c, asked)
    nearest_mw = request * share[slot]
    left_mw = demand.reshape(-1) - nearest_mw  # [B*M], what rounds >= 1 start from
    room = rem_c.reshape(B, N).sum(axis=1)  # [B] capacity left per element

    # Rounds >= 1, sparse: per pair still asking, its flat id b * M + m, demand left, element, and
    # where its row of orders starts (flat).
    pair = xp.nonzero((left_mw > LEFT_MW) & (xp.repeat(room, M) > LEFT_MW))[0]
    b = pair // M
    left, row = left_mw[pair], (state[b] * M + pair % M) * N
    grants = []
    for r in range(1, rounds):  # host-known bound
        if pair.size == 0:  # one host sync per round
            break
        region = order_flat[row + r]  # each pair's r-th nearest region
        slot = b * N + region
        # Only pairs whose r-th region is reachable and not yet full can get anything this round.
        useful = xp.nonzero((rem_c[slot] > 0) & (sorted_flat[row + r] < xp.inf))[0]
        ub, uslot, request = b[useful], slot[useful], left[useful]
        # requests per (element, region): dense over the elements asking this round only (ub is sorted)
        first = xp.concatenate([xp.ones(min(1, ub.size), dtype=bool), ub[1:] != ub[:-1]])
        local = xp.cumsum(first) - 1
        active = ub[first]
        local_slot = local * N + region[useful]
        asked = xp.zeros(active.size * N, dtype=xp.float64)
        scatter_add(xp, asked, local_slot, request)
        share, rem_c[uslot] = _share(xp, rem_c[uslot], asked[local_slot])  # a shared slot: same value
        grant = request * share
        taken = xp.zeros(active.size, dtype=xp.float64)
        scatter_add(xp, taken, local, grant)
        room[active] -= taken
        grants.append((pair[useful], grant, xp.full(grant.size, r, dtype=xp.int32)))
        left[useful] -= grant
        going = (left > LEFT_MW) & (room[b] > LEFT_MW)
        pair, left, b, row = pair[going], left[going], b[going], row[going]
    if grants:
        pair, mw, rank = (xp.concatenate(g) for g in zip(*grants))
    else:
        pair, mw, rank = xp.zeros(0, dtype=xp.int64), xp.zeros(0), xp.zeros(0, dtype=xp.int32)
    element, market = pair // M, pair % M
    at = (state[element] * M + market) * N + rank
    scatter_add(xp, left_mw, pair, -mw)  # what no round could place
    unmet = xp.maximum(left_mw, 0.0).reshape(B, M)
    return Spill(nearest, nearest_rtt, nearest_mw.reshape(B, M), element, market, order_flat[at],
                 sorted_flat[at], mw, demand - unmet, unmet)

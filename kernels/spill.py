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

from kernels.backend import xp_of


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
        from kernels.backend import xp_of

        xp = xp_of(self.mw)
        B, M = self.unmet.shape
        alloc = xp.zeros(B * M * n_regions)
        _scatter_add(xp, alloc, (self.element * M + self.market) * n_regions + self.region, self.mw)
        return alloc.reshape(B, M, n_regions)


def region_order(rtt):
    """Regions by increasing RTT for each market: ``[..., m, n]`` int (unreachable ones last)."""
    xp = xp_of(rtt)
    return xp.argsort(rtt, axis=-1, kind="stable").astype(xp.int32)


def assign_nearest_first(demand, capacity, rtt_state, order_state, state,
                         max_rounds: int | None = None) -> Spill:
    """Assign demand [B, M] to capacity [B, N] nearest-first; element b uses topology state[b].

    ``rtt_state`` [U, M, N] (inf = unreachable) and ``order_state`` [U, M, N] from :func:`region_order`.
    Rounds stop early once no element has demand left that a reachable region could still take; each
    round only touches the elements still active (compacted), so cost follows the spill, not n.
    """
    xp = xp_of(demand, capacity, rtt_state)
    B, M = demand.shape
    N = capacity.shape[1]
    state = xp.asarray(state)
    sorted_rtt = xp.take_along_axis(rtt_state, order_state, axis=2)  # [U, M, N], per state only
    rem_d = xp.array(demand, dtype=xp.float64)
    rem_c = xp.array(capacity, dtype=xp.float64)
    parts = []
    active = xp.arange(B)
    for r in range(min(N, max_rounds or N)):  # host-known bound
        st = state[active]
        choice = order_state[st, :, r]  # [k, M]: each active element's r-th nearest region
        rtt = sorted_rtt[st, :, r]
        request = xp.where(rtt < xp.inf, rem_d[active], 0.0)
        k = active.size
        asked = xp.zeros(k * N, dtype=xp.float64)
        _scatter_add(xp, asked, (xp.arange(k)[:, None] * N + choice).ravel(), request.ravel())
        asked = asked.reshape(k, N)
        cap = rem_c[active]
        share = xp.where(asked > 0, xp.minimum(1.0, cap / xp.where(asked > 0, asked, 1.0)), 0.0)
        grant = request * xp.take_along_axis(share, choice, axis=1)
        row, market = xp.nonzero(grant > 0)
        parts.append((active[row], market, choice[row, market], rtt[row, market], grant[row, market]))
        rem_d[active] -= grant
        rem_c[active] = xp.maximum(cap - asked * share, 0.0)  # rounding: never negative capacity
        still = (rem_d[active] > 1e-9).any(axis=1) & (rem_c[active].sum(axis=1) > 1e-9)
        active = active[still]
        if active.size == 0:  # one host sync per round
            break
    element, market, region, rtt, mw = (xp.concatenate(p) for p in zip(*parts))
    return Spill(element, market, region, rtt, mw, xp.asarray(demand, dtype=xp.float64) - rem_d, rem_d)


def _scatter_add(xp, target, index, values) -> None:
    if xp.__name__ == "numpy":
        target += xp.bincount(index, weights=values, minlength=target.size)
    else:  # CuPy
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(target, index, values)

"""Footprint variants side by side: the scenario plus extra sites, hundreds of variants in one batch.

A *variant* is the scenario's footprint plus a list of extra sites (new regions). Every variant is
linked into the backbone by the scenario's own network builder
(:func:`sim.model.network.build_network`, the rule any new site follows: whatever links it adds, or
drops, is what the variant gets) and evaluated on exactly the demand samples and capacity plan of a run
(:class:`sim.engine.calendar.Engine` prepares both), for every curve and sample at the chosen months.

How the batch is laid out. All variants share one node numbering: the footprint's regions, then the
extra sites (a variant with fewer extras than the longest pads with dummy nodes that have no link and
no capacity). Each (variant, set of regions open that month) is one *topology state*: the shortest
paths of every state come from one batched :func:`kernels.apsp` call, the market-to-region RTTs from the
engine's own :func:`sim.engine.evaluate.market_rtt_ms`, and every element (variant x month x curve x
sample) is assigned by one call of the engine's policy :func:`kernels.spill.assign_nearest_first` per
memory-sized chunk of variants. No Python loop runs over candidates in the arithmetic; the loop over
variants only builds their graphs.

What it simplifies against a full run (``sim.run``), and why a ranking of sites hardly moves:

- the intact network: random failures and scripted events are left out. They take a link or a region
  out for hours to weeks a year; every candidate is judged on the same intact network, so they shift
  all candidates alike and rarely reorder them.
- propagation RTT only: no M/M/1 queueing on links. On the default backbone queueing adds well under a
  millisecond on most paths until a link nears saturation; a test checks the result against a full run
  with queueing made negligible (huge links), where the two agree to rounding.
- the months evaluated are a parameter (advise uses each December while the site is open); a run
  integrates every month.
- an extra site's MW come on top of the scenario's build plan (a new investment), from its opening
  month; the plan of the other regions does not change.

The arrays follow the engine's backend (NumPy or CuPy: the shortest paths and the assignment run on the
device, per-chunk results come back to the host once); the CuPy path has not yet run on a GPU.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import kernels
from kernels.backend import scatter_add
from kernels.spill import assign_nearest_first, region_order
from sim.config import month_number
from sim.engine.calendar import Engine
from sim.engine.evaluate import market_rtt_ms
from sim.errors import InputError
from sim.model.catalogue import Region
from sim.model.geo import great_circle_km
from sim.model.latency import access_rtt_ms
from sim.model.network import build_network, network_arrays

BYTES_PER_PAIR = 8 * 16  # float64 temporaries per (element, market) in an assignment chunk (measured order)
BYTES_PER_NODE = 8 * 8  # and per (element, region)


@dataclass(frozen=True)
class Site:
    """An extra site: a new region at a place, with its IT capacity and opening month."""

    id: str
    name: str
    country: str
    lat: float
    lon: float
    capacity_mw: float
    opens: str | None = None  # 'YYYY-MM'; None: open from the start of the horizon
    jurisdiction: str = ""
    cost_per_mw_usd: float | None = None
    population: int | None = None

    def region(self, mw_per_zone: float) -> Region:
        zones = max(1, int(round(self.capacity_mw / mw_per_zone)))
        return Region(self.id, self.name, self.country, self.lat, self.lon, zones,
                      "new" if self.opens else "existing", self.opens, self.capacity_mw, "candidate site")


@dataclass
class Outcome:
    """What a batch of variants yields (host arrays). v: variant, t: evaluated month, c: curve,
    s: sample, m: market, n: node (regions, then extra sites and dummies)."""

    months: list[int]  # month indices evaluated
    weights: np.ndarray  # [T] weight of each month in time averages (sums to 1)
    within_mw: np.ndarray  # [V, T, C, S] demand served within the SLO
    served_mw: np.ndarray  # [V, T, C, S]
    unmet_mw: np.ndarray  # [V, T, C, S]
    market_served_mw: np.ndarray  # [V, C, S, M] time-weighted mean over the months
    market_rtt_weighted: np.ndarray  # [V, C, S, M] time-weighted mean of MW x RTT (ms) of served demand
    market_at_last_mw: np.ndarray  # [V, C, S, M] MW served by the variant's last node (its newest site)
    region_load_mw: np.ndarray | None = None  # [V, T, C, S, n] when asked for
    capacity_mw: np.ndarray | None = None  # [V, T, C, n] with the region loads

    def mean_over_months(self, values: np.ndarray) -> np.ndarray:
        """Time-weighted mean over the month axis (axis 1) of a [V, T, ...] array."""
        return np.tensordot(self.weights, values, axes=([0], [1]))


@dataclass
class PlanningBase:
    """A scenario prepared once for many variants: its world, demand samples and capacity plan."""

    engine: Engine
    slo_ms: float
    mw_per_zone: float
    base_access_rtt: np.ndarray = field(repr=False)  # [M, N] access leg from each market to each region

    @classmethod
    def prepare(cls, scenario, samples: int, seed: int | None = None, backend: str = "numpy") -> PlanningBase:
        """The scenario's demand and capacity exactly as a run draws them (same samples and seed),
        without failures, events or N-1 (variants are judged on the intact network)."""
        try:
            xp = kernels.get_xp(backend)
        except (RuntimeError, ValueError) as err:
            raise InputError("--backend", "", str(err)) from None
        if samples < 1:
            raise InputError("--samples", "", "must be at least 1")
        quiet = scenario.model_copy(update={
            "failures": scenario.failures.model_copy(update={"enabled": False}), "events": [],
            "analysis": scenario.analysis.model_copy(update={"n_minus_1": False})})
        quiet._source = scenario.source
        engine = Engine(quiet, samples, scenario.seed if seed is None else seed, xp, progress=False)
        access = access_rtt_ms(engine.world.market_region_km, scenario.latency, user=True)
        return cls(engine, scenario.analysis.slo_rtt_ms, scenario.footprint.mw_per_zone, access)

    # ------------------------------------------------------------------ shorthands
    @property
    def scenario(self):
        return self.engine.scenario

    @property
    def months(self) -> list[str]:
        return self.engine.months

    @property
    def curves(self) -> list[str]:
        return self.engine.curves

    @property
    def regions(self) -> list[Region]:
        return self.engine.world.regions

    @property
    def markets(self):
        return self.engine.world.markets

    def month_index(self, month: str | None) -> int:
        """Index of a 'YYYY-MM' month in the horizon (0 for None: open from the start)."""
        return 0 if month is None else month_number(month) - month_number(self.months[0])

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, variants: list[list[Site]], months: list[int], weights: np.ndarray | None = None,
                 region_load: bool = False) -> Outcome:
        """Evaluate every variant (a list of extra sites each) at the month indices ``months``, for all
        curves and samples; ``weights`` (default equal) weigh the months in time averages."""
        weights = np.full(len(months), 1.0 / len(months)) if weights is None else np.asarray(weights, float)
        layout = _Layout.build(self, variants)
        states = layout.states(self, months)
        per_variant = len(months) * len(self.curves) * self.engine.samples
        step = max(1, self._elements_per_chunk() // per_variant)
        parts = [self._evaluate_chunk(layout, states, months, weights, range(lo, min(lo + step, len(variants))),
                                      region_load) for lo in range(0, len(variants), step)]
        joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        return Outcome(list(months), weights, **joined)

    def _elements_per_chunk(self) -> int:
        m, n = len(self.markets), len(self.regions) + 2
        budget = 0.25 * self.engine.max_memory_gb * 2**30
        return max(1, int(budget // (m * BYTES_PER_PAIR + n * BYTES_PER_NODE)))

    def _evaluate_chunk(self, layout: _Layout, states: _States, months: list[int], weights: np.ndarray,
                        chunk: range, region_load: bool) -> dict[str, np.ndarray]:
        xp, eng = self.engine.xp, self.engine
        V, T, C, S, M, n = len(chunk), len(months), len(self.curves), eng.samples, len(self.markets), layout.n
        B = V * T * C * S
        demand = np.stack([eng.paths.market_at(t) for t in months])  # [T, C, S, M]
        demand = np.broadcast_to(demand[None], (V, T, C, S, M)).reshape(B, M)
        node_mw = layout.capacity(self, chunk, months)  # [V, T, C, n]
        capacity = np.broadcast_to(node_mw[:, :, :, None, :], (V, T, C, S, n)).reshape(B, n)
        state = np.repeat(states.index[chunk.start: chunk.stop].reshape(-1), C * S)  # [B]
        spill = assign_nearest_first(xp.asarray(demand), xp.asarray(capacity), states.rtt, states.order,
                                     xp.asarray(state), sorted_rtt=states.sorted_rtt)
        # Round 0 (each market's nearest region) is dense [B, M]; the spill-over is a sparse grant list.
        near_mw, near_rtt = spill.nearest_mw, spill.nearest_rtt.astype(xp.float64)
        pair = spill.element * M + spill.market

        def per_pair(dense, sparse):
            out = xp.array(dense, dtype=xp.float64).reshape(-1)
            scatter_add(xp, out, pair, sparse)
            return kernels.to_numpy(out).reshape(V, T, C, S, M)

        rtt = spill.rtt.astype(xp.float64)
        within = per_pair(near_mw * (near_rtt <= self.slo_ms), spill.mw * (rtt <= self.slo_ms))
        rtt_weighted = per_pair(near_mw * xp.where(near_mw > 0, near_rtt, 0.0), spill.mw * rtt)
        at_last = per_pair(near_mw * (spill.nearest == n - 1), spill.mw * (spill.region == n - 1))
        served = kernels.to_numpy(spill.served).reshape(V, T, C, S, M)
        unmet = kernels.to_numpy(spill.unmet).reshape(V, T, C, S, M)
        out = {"within_mw": within.sum(axis=-1), "served_mw": served.sum(axis=-1),
               "unmet_mw": unmet.sum(axis=-1)}
        for name, values in (("market_served_mw", served), ("market_rtt_weighted", rtt_weighted),
                             ("market_at_last_mw", at_last)):
            out[name] = np.tensordot(weights, values, axes=([0], [1]))  # [V, C, S, M]
        if region_load:
            load = xp.zeros(B * n, dtype=xp.float64)
            scatter_add(xp, load, (xp.arange(B)[:, None] * n + spill.nearest).reshape(-1), near_mw.reshape(-1))
            scatter_add(xp, load, spill.element * n + spill.region, spill.mw)
            out["region_load_mw"] = kernels.to_numpy(load).reshape(V, T, C, S, n)
            out["capacity_mw"] = node_mw
        return out


@dataclass
class _States:
    """Distinct topology states of a batch, stacked (xp arrays), and each (variant, month)'s state."""

    index: np.ndarray  # [V, T] int: state of each variant in each evaluated month
    rtt: object  # [U, M, n] float32
    order: object  # [U, M, n] int32
    sorted_rtt: object  # [U, M, n] float32


@dataclass
class _Layout:
    """The node numbering shared by a batch of variants, and each variant's graph per set of open sites.

    Node j < N is the footprint's region j; node N + i is a variant's i-th extra site (a dummy, with no
    link and no capacity, where the variant has fewer). Before an extra site opens, the variant is the
    footprint without it: its graph is built from the sites open that month (a site not built yet must
    not change the network, even where a nearest-neighbour rule would have linked other regions to it).
    """

    n: int
    extras: list[list[Site]]
    access_rtt: np.ndarray  # [V, M, n] access leg from each market to each node (inf for dummies)
    graphs: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)  # open extras -> [n, n] weights

    @classmethod
    def build(cls, base: PlanningBase, variants: list[list[Site]]) -> _Layout:
        N, width = len(base.regions), max((len(v) for v in variants), default=0)
        n = N + width
        access = np.full((len(variants), len(base.markets), n), np.inf)
        access[:, :, :N] = base.base_access_rtt
        m_lat = np.array([m.lat for m in base.markets])
        m_lon = np.array([m.lon for m in base.markets])
        for v, sites in enumerate(variants):
            for j, site in enumerate(sites):
                km = great_circle_km(m_lat, m_lon, site.lat, site.lon)
                access[v, :, N + j] = access_rtt_ms(km, base.scenario.latency, user=True)
        return cls(n, [list(v) for v in variants], access)

    def open_sites(self, base: PlanningBase, months: list[int]) -> np.ndarray:
        """[V, T, width] True where a variant's i-th extra site is open in the month."""
        width = self.n - len(base.regions)
        opens = np.full((len(self.extras), width), np.iinfo(np.int64).max)
        for v, sites in enumerate(self.extras):
            opens[v, : len(sites)] = [base.month_index(s.opens) for s in sites]
        return opens[:, None, :] <= np.asarray(months)[None, :, None]

    def down(self, base: PlanningBase, months: list[int]) -> np.ndarray:
        """[V, T, n] True for nodes out of service: regions and sites not yet open, and dummies."""
        regions_down = base.engine.open_month[None, :] > np.asarray(months)[:, None]  # [T, N]
        regions_down = np.broadcast_to(regions_down[None], (len(self.extras),) + regions_down.shape)
        return np.concatenate([regions_down, ~self.open_sites(base, months)], axis=2)

    def capacity(self, base: PlanningBase, chunk: range, months: list[int]) -> np.ndarray:
        """[V, T, C, n] MW per node: the scenario's plan for its regions, each extra site's MW once open."""
        N, C = len(base.regions), len(base.curves)
        cap = np.zeros((len(chunk), len(months), C, self.n))
        cap[:, :, :, :N] = np.transpose(base.engine.capacity_mw[:, months, :], (1, 0, 2))[None]
        down = self.down(base, months)[chunk.start: chunk.stop]  # [V, T, n]
        for i, v in enumerate(chunk):
            for j, site in enumerate(self.extras[v]):
                cap[i, :, :, N + j] = site.capacity_mw
        return np.where(down[:, :, None, :], 0.0, cap)

    def weights(self, base: PlanningBase, v: int, open_mask: np.ndarray) -> np.ndarray:
        """[n, n] one-way link weights of variant ``v`` with the extra sites of ``open_mask`` built."""
        sites = [s for s, is_open in zip(self.extras[v], open_mask) if is_open]
        key = tuple(s.id for s in sites)
        if key not in self.graphs:
            N = len(base.regions)
            nodes = np.concatenate([np.arange(N), N + np.flatnonzero(open_mask[: len(self.extras[v])])])
            weight = np.full((self.n, self.n), np.inf)
            np.fill_diagonal(weight, 0.0)
            weight[np.ix_(nodes, nodes)] = _variant_weights(base, sites, [r.id for r in base.regions])
            self.graphs[key] = weight
        return self.graphs[key]

    def states(self, base: PlanningBase, months: list[int]) -> _States:
        """Shortest paths and market RTTs of every distinct (variant, open set), in one batch."""
        xp = base.engine.xp
        down, built = self.down(base, months), self.open_sites(base, months)  # [V, T, n], [V, T, width]
        keys: dict[tuple[int, bytes], int] = {}
        index = np.empty(down.shape[:2], dtype=np.int64)
        for v in range(down.shape[0]):
            for t in range(down.shape[1]):
                index[v, t] = keys.setdefault((v, down[v, t].tobytes()), len(keys))
        first = [(v, int(np.flatnonzero(index[v] == u)[0])) for u, (v, _) in enumerate(keys)]
        weight = np.stack([self.weights(base, v, built[v, t]) for v, t in first])  # [U, n, n]
        mask = np.stack([down[v, t] for v, t in first])  # [U, n]
        weight[np.broadcast_to(mask[:, :, None] | mask[:, None, :], weight.shape)] = np.inf
        weight[:, np.arange(self.n), np.arange(self.n)] = 0.0
        dist, _ = kernels.apsp(xp.asarray(weight))
        _, rtt = market_rtt_ms(self.access_rtt[[v for v, _ in first]], kernels.to_numpy(dist), ~mask)
        order = region_order(rtt)  # host, on the float64 RTTs, as the engine orders them
        sorted_rtt = np.take_along_axis(rtt, order, axis=2)
        return _States(index, xp.asarray(rtt, dtype=xp.float32), xp.asarray(order),
                       xp.asarray(sorted_rtt, dtype=xp.float32))


def _variant_weights(base: PlanningBase, sites: list[Site], ids: list[str]) -> np.ndarray:
    """One-way link weights of the footprint plus ``sites``, linked by the scenario's network builder
    (the run's own network when there is no extra site, whatever its source)."""
    if not sites:
        return base.engine.world.arrays.weight_ms
    regions = base.regions + [s.region(base.mw_per_zone) for s in sites]
    graph = build_network(regions, base.scenario.topology, base.scenario.latency)
    return network_arrays(graph, ids + [s.id for s in sites]).weight_ms

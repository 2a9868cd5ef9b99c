"""One evaluation of the network for a whole batch of states, in a fixed set of kernel calls.

A *state* is what is out of service (failed, or not yet open), written as a bit mask: bit ``s < S`` for
segment ``s`` (one system on one link), bit ``S + k`` for corridor ``k`` (every segment in it), bit
``S + K + j`` for region ``j`` (:attr:`Network.region_bit0`). :meth:`Network.state_arrays` turns the bits
into what the evaluation needs: which links are out, each link's capacity (the sum over its segments in
service; a link leaves the graph when none is, or when a region at either end is down) and which regions
are down. States repeat a lot (most samples run on the intact network most of the time), so the topology
work is done once per distinct topology (links and regions in service) and cached: shortest paths and
next hops (:func:`kernels.apsp`), each market's access region (its nearest region in service) and the
market-to-region RTTs; states that differ only in link capacities (a failed system on a link that stays
up) share them.

Per batch element (a curve x sample x state) the evaluation is DESIGN §7-8:
1. assign demand to regions nearest-first within capacity (:func:`kernels.spill.assign_nearest_first`);
2. user traffic (served MW x Gbit/s per MW, from the serving region back to the market's access region)
   plus east-west traffic (gravity model, routed once per distinct capacity and state) onto directed arcs;
3. M/M/1 queueing delay per arc (:func:`kernels.mm1_wait`) at the capacity the state leaves the link,
   added along each path to the RTT;
4. demand counts as served within the target when its RTT including queueing meets it.
The assignment uses propagation RTTs; queueing then re-classifies on-time vs late (one pass of the
fixed point, documented in the README). An overloaded arc (rho >= 1) has infinite delay: what crosses
it is late, never NaN. Steps 1-2 do not depend on link capacities, so *twins* (elements of one sample
that differ only in them) share them and only steps 3-4 run per element.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from kernels import apsp, mm1_wait, to_numpy
from kernels.backend import repeat_each, scatter_add, stable_argsort, unique_inverse
from kernels.paths import loads_by_state, loads_on_hops, paths_differ, walk_arcs
from kernels.spill import Spill, assign_nearest_first, region_order
from sim.model.network import NetworkArrays

BITS_PER_GBIT = 1e9
COMPUTE_CHUNK = 256  # states whose shortest paths are computed in one batched call
WALKERS_PER_CALL = 2_000_000  # origin-destination pairs walked at once (~ 100 MB of index arrays)
TRIP_HOPS_KEPT = 8_000_000  # hops of user trips held between the load pass and the delay pass (~128 MB)


@dataclass
class Batch:
    """Per element: its topology state (row of the stacked states), demand and capacity."""

    state: np.ndarray  # [B] int, index into the stacked state arrays
    demand_mw: object  # [B, M] (xp)
    capacity_mw: object  # [B, N] (xp), already zero for regions out of service
    # [B] int or None: elements with the same state and the same group have the same capacity (e.g.
    # the curve), which lets east-west traffic be grouped without comparing capacity rows
    capacity_group: np.ndarray | None = None
    # Fingerprint of the state most elements route like (the month's intact network): east-west
    # traffic is routed on it once and only moved where another state's paths differ. None: route
    # every state in full.
    reference: bytes | None = None
    # [B] int or None: for each element, an element of the batch with the same assignment (same demand,
    # same regions in service and routes; only link capacities may differ, which the assignment does not
    # see): the assignment is computed once for both
    twin: np.ndarray | None = None


@dataclass
class Metrics:
    """What one evaluation yields per batch element (xp arrays)."""

    region_load_mw: object  # [B, N]
    within_mw: object  # [B, M]
    late_mw: object
    unmet_mw: object
    spilled_mw: object  # served by a region other than the market's access region
    rtt_weighted: object  # [B, M] sum of MW x RTT (ms) of served demand; inf when it crossed an overload
    link_load_gbps: object  # [B, L] the busier direction
    link_delay_ms: object  # [B, L] M/M/1 wait of the busier direction (inf when overloaded)
    link_util: object  # [B, L] busier direction's load over the capacity the state leaves (0 when out)

    FIELDS = ("region_load_mw", "within_mw", "late_mw", "unmet_mw", "spilled_mw", "rtt_weighted",
              "link_load_gbps", "link_delay_ms", "link_util")


@dataclass
class States:
    """Topology arrays of a list of distinct states, stacked on axis 0 (xp arrays)."""

    rtt_ms: object  # [U, M, N] market -> region RTT; inf where unreachable or out of service
    access: object  # [U, M] int, each market's access region (-1 if every region is down)
    region_up: object  # [U, N] bool
    order: object  # [U, M, N] regions by RTT for each market
    next_hop: object  # [U, N, N]
    sorted_rtt: object  # [U, M, N] rtt_ms in that order
    link_capacity_gbps: object  # [U, L] capacity left on each link (0 where out of service)
    topology: np.ndarray | None = None  # [U] host int: states with the same id share routes and regions up


class Network:
    """The static network of a run and the cache of its topology states."""

    def __init__(self, arrays: NetworkArrays, access_rtt_ms: np.ndarray, xp, slo_ms: float,
                 user_gbps_per_mw: float, east_west, mean_packet_bytes: float, cache_bytes: float = 2**28):
        self.arrays, self.xp, self.slo_ms = arrays, xp, slo_ms
        self.n_links, self.n_regions = len(arrays.link_ids), len(arrays.node_ids)
        self.n_segments, self.n_corridors = arrays.n_segments, arrays.n_corridors
        # segment s adds seg_capacity_gbps[s] to its link while in service: capacity = up @ this
        self._segment_capacity = np.zeros((self.n_segments, self.n_links))
        self._segment_capacity[np.arange(self.n_segments), arrays.seg_link] = arrays.seg_capacity_gbps
        self._corridor_member = arrays.corridor_member.astype(np.int32)  # [K, S]
        self.n_markets = access_rtt_ms.shape[0]
        self.access_rtt_ms = access_rtt_ms  # [M, N] host
        self.user_gbps_per_mw = user_gbps_per_mw
        self.east_west = east_west  # callable: capacity_mw [B, N] (xp) -> Gbit/s [B, N, N]
        self.packets_per_gbit = BITS_PER_GBIT / (8.0 * mean_packet_bytes)
        self._canon: dict[bytes, bytes] = {}  # state key -> fingerprint (a hash)
        self._small: OrderedDict[bytes, tuple] = OrderedDict()  # fingerprint -> state arrays, LRU
        self._key_of: dict[bytes, bytes] = {}  # fingerprint -> a key that produces it (to recompute)
        self._topology: OrderedDict[bytes, tuple] = OrderedDict()  # links / regions out -> shared arrays, LRU
        self._lock = threading.RLock()  # evaluations may run on several threads; the caches are shared
        self.cache_states = max(16, int(cache_bytes // self.state_bytes))
        # shortest paths of a chunk of states hold ~6 float64 [n, n] temporaries each
        self.compute_states = int(max(1, min(COMPUTE_CHUNK, self.cache_states // 2,
                                             cache_bytes // (48 * self.n_regions ** 2))))

    @property
    def region_bit0(self) -> int:
        """Bit of region 0 (segments, then corridors, then regions)."""
        return self.n_segments + self.n_corridors

    @property
    def n_bits(self) -> int:
        return self.region_bit0 + self.n_regions

    @property
    def state_bytes(self) -> int:
        """Memory of one cached topology state (RTTs, orders, next hops, access, up mask, capacities)."""
        n, m = self.n_regions, self.n_markets
        return 4 * (3 * m * n + n * n + m) + n + 8 * self.n_links

    def state_arrays(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What states ``bits [U, n_bits]`` (bool) leave in service: ``(link_out [U, L], link capacity in
        Gbit/s [U, L], region_down [U, N])``. A segment is down when its own bit or its corridor's is set;
        a link keeps the capacity of its segments in service and is out when none is, or when a region at
        either end is down (then its capacity is 0)."""
        a, seg_end = self.arrays, self.n_segments
        corridor_down = bits[:, seg_end: self.region_bit0].astype(np.int32) @ self._corridor_member > 0
        segment_up = ~(bits[:, :seg_end] | corridor_down)
        capacity = segment_up.astype(np.float64) @ self._segment_capacity
        region_down = bits[:, self.region_bit0:]
        link_out = (capacity <= 0) | region_down[:, a.edge_u] | region_down[:, a.edge_v]
        return link_out, np.where(link_out, 0.0, capacity), region_down

    # ---------------------------------------------------------------- failures by name
    def failure_names(self, what: str) -> list[str]:
        """Names of the elements that can fail: 'link' ids, 'system' names, 'corridor' names, 'region' ids."""
        a = self.arrays
        return {"link": a.link_ids, "system": sorted(set(a.seg_system)), "corridor": a.corridor_names,
                "region": a.node_ids}[what]

    def bits_of(self, what: str, name: str) -> np.ndarray | None:
        """State bits that take ``name`` out of service (None if there is no such element): a link's or a
        system's segments, a corridor's bit, a region's bit. Links are named 'a~b' in either order."""
        a = self.arrays
        if what == "link":
            ids = {lid: i for i, lid in enumerate(a.link_ids)}
            ids.update({"~".join(reversed(lid.split("~"))): i for lid, i in ids.items()})
            return a.segments_of_link(ids[name]) if name in ids else None
        if what == "system":
            segments = a.segments_of_system(name)
            return segments if segments.size else None
        names = a.corridor_names if what == "corridor" else a.node_ids
        if name not in names:
            return None
        return np.array([(self.n_segments if what == "corridor" else self.region_bit0) + names.index(name)])

    # ---------------------------------------------------------------- topology states
    def canonical(self, keys: list[bytes]) -> list[bytes]:
        """Fingerprint of each state: states with the same shortest paths, regions in service and link
        capacities are the same state (a cut link that carries no shortest path, or a failed system whose
        link is out anyway, changes nothing), so they share it.

        Thread-safe; shortest paths are computed outside the lock, so months evaluated side by side
        do not wait for each other's (a state two threads both miss is computed twice, harmlessly)."""
        with self._lock:
            missing = [k for k in dict.fromkeys(keys) if k not in self._canon]
        if not missing:
            with self._lock:
                return [self._canon[k] for k in keys]
        # A state whose links and regions in service are those of a state already computed (a failed
        # system on a link that stays up) shares its shortest paths and market orders: only the
        # capacities are its own. Shortest paths are computed once per such topology.
        topology, capacity = self._topologies(missing)
        with self._lock:
            first = {t: k for k, t in zip(missing, topology) if t not in self._topology}
        new = list(dict.fromkeys(first.values()))
        for lo in range(0, len(new), self.compute_states):
            part = new[lo: lo + self.compute_states]
            computed = self._compute(part)
            with self._lock:
                for key, (fingerprint, small) in zip(part, computed):
                    self._remember_topology(topology[missing.index(key)], small)
        with self._lock:
            for key, t, cap in zip(missing, topology, capacity):
                if t in self._topology:
                    self._topology.move_to_end(t)
                prefix, shared = self._topology.get(t) or self._recompute_topology(key, t)
                fingerprint = hashlib.blake2b(prefix + cap.tobytes(), digest_size=16).digest()
                self._canon[key] = fingerprint
                self._key_of.setdefault(fingerprint, key)
                if fingerprint not in self._small:
                    self._remember(fingerprint, shared + (self.xp.asarray(cap),))
            return [self._canon[k] for k in keys]

    def _topologies(self, keys: list[bytes]) -> tuple[list[bytes], np.ndarray]:
        """Per state key: the bytes of its (link out, region down) masks, and its link capacities."""
        link_out, capacity, region_down = self.state_arrays(self._bits(keys))
        topology = [np.packbits(o).tobytes() + np.packbits(d).tobytes() for o, d in zip(link_out, region_down)]
        return topology, capacity

    def _remember_topology(self, topology: bytes, small: tuple) -> None:
        """Keep a computed state's topology arrays (all but the capacities) for the states that share it;
        the fingerprint prefix is that of :meth:`_compute` (next hops, regions down)."""
        region_down = ~to_numpy(small[3]).astype(bool)
        prefix = to_numpy(small[4]).tobytes() + np.packbits(region_down).tobytes()
        self._topology[topology] = (prefix, small[:6])
        while len(self._topology) > self.cache_states:
            self._topology.popitem(last=False)

    def _recompute_topology(self, key: bytes, topology: bytes) -> tuple[bytes, tuple]:
        """The topology arrays of ``key`` when the bounded cache has let them go (rare): compute again.
        Called with the lock held; the lock is re-entrant."""
        (_, small), = self._compute([key])
        self._remember_topology(topology, small)
        return self._topology[topology]

    def _bits(self, keys: list[bytes]) -> np.ndarray:
        """State keys as a bool array ``[U, n_bits]``."""
        bits = np.unpackbits(np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), -1), axis=1,
                             bitorder="little")
        return bits[:, : self.n_bits].astype(bool)

    def states(self, fingerprints: list[bytes]) -> States:
        """Stack the topology arrays of distinct states (fingerprints from :meth:`canonical`)."""
        xp = self.xp
        with self._lock:
            found = {f: self._small[f] for f in fingerprints if f in self._small}
            for f in found:
                self._small.move_to_end(f)
            evicted = [f for f in dict.fromkeys(fingerprints) if f not in found]
            keys = [self._key_of[f] for f in evicted]
        for lo in range(0, len(evicted), self.compute_states):  # recompute what the bounded cache let go
            part = evicted[lo: lo + self.compute_states]
            computed = self._compute(keys[lo: lo + self.compute_states])
            with self._lock:
                for f, (_, small) in zip(part, computed):
                    found[f] = small
                    self._remember(f, small)
        small = [found[f] for f in fingerprints]
        rtt, access, order, up, next_hop, sorted_rtt, capacity = (xp.stack([s[i] for s in small]) for i in range(7))
        ids: dict[int, int] = {}  # states sharing a topology share its arrays (see canonical)
        topology = np.array([ids.setdefault(id(s[4]), len(ids)) for s in small], dtype=np.int64)
        return States(rtt, access, up, order, next_hop, sorted_rtt, capacity, topology)

    def _remember(self, fingerprint: bytes, small: tuple) -> None:
        self._small[fingerprint] = small
        while len(self._small) > self.cache_states:
            self._small.popitem(last=False)

    def _compute(self, keys: list[bytes]) -> list[tuple[bytes, tuple]]:
        xp, a = self.xp, self.arrays
        link_out, capacity, region_down = self.state_arrays(self._bits(keys))
        weight = np.broadcast_to(a.weight_ms, (len(keys),) + a.weight_ms.shape).copy()
        u_idx, l_idx = np.nonzero(link_out)
        weight[u_idx, a.edge_u[l_idx], a.edge_v[l_idx]] = np.inf
        weight[u_idx, a.edge_v[l_idx], a.edge_u[l_idx]] = np.inf
        dist, next_hop = apsp(xp.asarray(weight))
        next_hop_host = to_numpy(next_hop)
        access, rtt = self._market_rtt(to_numpy(dist), ~region_down)
        order = region_order(rtt)
        sorted_rtt = np.take_along_axis(rtt, order, axis=2)
        out = []
        for i in range(len(keys)):
            fingerprint = hashlib.blake2b(next_hop_host[i].tobytes() + np.packbits(region_down[i]).tobytes()
                                          + capacity[i].tobytes(), digest_size=16).digest()
            out.append((fingerprint, (xp.asarray(rtt[i], dtype=xp.float32), xp.asarray(access[i]),
                                      xp.asarray(order[i]), xp.asarray(~region_down[i]), next_hop[i],
                                      xp.asarray(sorted_rtt[i], dtype=xp.float32), xp.asarray(capacity[i]))))
        return out

    def _market_rtt(self, dist_ms: np.ndarray, region_up: np.ndarray):
        """Access region (nearest in service) and RTT to every region, per state (host arrays)."""
        return market_rtt_ms(self.access_rtt_ms, dist_ms, region_up)

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, states: States, batch: Batch) -> Metrics:
        """Assignment, traffic, queueing and SLO accounting for every element of ``batch``.

        Demand served by its market's access region (round 0 of the assignment: the access region is
        the nearest) neither travels nor queues, and is counted on dense ``[B, M]`` arrays. Everything
        else works on the sparse list of grants that spilled, so the cost follows the demand that
        moves, not elements x markets x regions.

        Twins (``batch.twin``: elements that differ only in link capacities, a failed system on a link
        that stays up) share everything up to the link loads, which the assignment and the routing do not
        see: that part runs once per *primary* element; queueing and what depends on it run per element.
        """
        B = len(batch.state)
        twin = np.arange(B) if batch.twin is None else np.asarray(batch.twin)
        primary, prim_of = np.unique(twin, return_inverse=True)
        state = np.asarray(batch.state)
        if len(primary) < B:
            p = self.xp.asarray(primary)
            batch = Batch(state[primary], batch.demand_mw[p], batch.capacity_mw[p],
                          None if batch.capacity_group is None else np.asarray(batch.capacity_group)[primary],
                          batch.reference)
        return self._per_element(states, state, self._routed(states, batch), prim_of.ravel())

    def _routed(self, states: States, batch: Batch) -> "_Routed":
        """Assignment, grants and link loads (east-west and user traffic) of the batch, no queueing."""
        xp, n = self.xp, self.n_regions
        state = xp.asarray(batch.state)
        spill = assign_nearest_first(batch.demand_mw, batch.capacity_mw, states.rtt_ms, states.order, state,
                                     sorted_rtt=states.sorted_rtt)
        home_dense = xp.maximum(states.access[state], 0)  # [B, M]
        near_mw, b, m, region, rtt_ms, mw = _split_grants(xp, spill, home_dense)
        home = home_dense[b, m]
        # Grants served away from their market's access region travel: user traffic flows from the
        # serving region back to the access region, and queueing adds on the way there and back.
        # Grants sharing (element, region, access region) share their path: walk it once.
        far = xp.nonzero(region != home)[0]
        trip, trip_of = unique_inverse(xp, (b[far] * n + region[far]) * n + home[far])
        user_gbps = xp.zeros(trip.size, dtype=xp.float64)
        scatter_add(xp, user_gbps, trip_of, mw[far] * self.user_gbps_per_mw)
        grant_trip = xp.full(b.size, -1, dtype=xp.int64)
        grant_trip[far] = trip_of
        loads, spans, walks = self._user_trips(states, state, trip, user_gbps, self._east_west_loads(states, batch))
        return _Routed(spill, near_mw, b, m, region, rtt_ms, mw, home, grant_trip, trip, state, loads, spans, walks)

    def _per_element(self, states: States, state: np.ndarray, r: "_Routed", prim_of: np.ndarray) -> Metrics:
        """Queueing and metrics of every element; element e shares the routed part of ``prim_of[e]``."""
        xp, n, m_count = self.xp, self.n_regions, self.n_markets
        B, P = prim_of.size, r.loads.shape[0]
        members = np.argsort(prim_of, kind="stable")  # elements grouped by primary, the primary first
        count = np.bincount(prim_of, minlength=P)
        start = np.cumsum(count) - count
        rank = np.empty(B, dtype=np.int64)
        rank[members] = np.arange(B) - np.repeat(start, count)
        pick = xp.asarray(prim_of)
        capacity = states.link_capacity_gbps[xp.asarray(state)]  # [B, L] what the element's state leaves
        loads = r.loads if P == B else r.loads[pick]
        service_pps = xp.repeat(capacity * self.packets_per_gbit, 2, axis=1)  # arcs 2l, 2l + 1: link l
        wait_ms = mm1_wait(loads * self.packets_per_gbit, service_pps)
        wait_ms *= 1000.0
        both_ways_ms = wait_ms[:, 0::2] + wait_ms[:, 1::2]  # [B, links]: arcs 2l and 2l + 1 are link l
        queue_ms, pair_start = self._trip_queues(states, r, both_ways_ms, xp.asarray(members),
                                                 xp.asarray(start), xp.asarray(count))
        # every element's grants: its primary's, in their order
        g_src, g_elem = _expand_rows(xp, r.b, pick, P)
        b, m, region, mw, home = g_elem, r.m[g_src], r.region[g_src], r.mw[g_src], r.home[g_src]
        rtt_ms = r.rtt_ms[g_src]
        trip = r.grant_trip[g_src]
        far = xp.nonzero(trip >= 0)[0]
        rtt_ms[far] += queue_ms[pair_start[trip[far]] + xp.asarray(rank)[b[far]]]
        spill = r.spill
        nearest, nearest_rtt = spill.nearest[pick], spill.nearest_rtt[pick]
        near_mw, served, unmet = r.near_mw[pick], spill.served[pick], spill.unmet[pick]
        grant_market = b * m_count + m

        def per_market(values):  # finite values: a plain scatter
            out = xp.zeros(B * m_count, dtype=xp.float64)
            scatter_add(xp, out, grant_market, values)
            return out.reshape(B, m_count)

        within = near_mw * (nearest_rtt <= self.slo_ms) + per_market(mw * (rtt_ms <= self.slo_ms))
        region_load = xp.zeros(B * n, dtype=xp.float64)
        scatter_add(xp, region_load, (xp.arange(B)[:, None] * n + nearest).reshape(-1), near_mw.reshape(-1))
        scatter_add(xp, region_load, b * n + region, mw)
        near_rtt_weighted = near_mw * xp.where(near_mw > 0, nearest_rtt, 0.0)  # no 0 x inf
        rtt_weighted = near_rtt_weighted + _sum_by(xp, grant_market, mw * rtt_ms, B * m_count).reshape(B, m_count)
        busier = xp.maximum(loads[:, 0::2], loads[:, 1::2])
        util = busier / xp.where(capacity > 0, capacity, 1.0)  # a link out of service carries nothing
        return Metrics(region_load.reshape(B, n), within, served - within, unmet,
                       served - near_mw - per_market(mw * (region == home)), rtt_weighted, busier,
                       xp.maximum(wait_ms[:, 0::2], wait_ms[:, 1::2]), util)

    def _walk(self, states: States, state, trip, sl):
        n = self.n_regions
        tb, serving, access_region = trip[sl] // (n * n), (trip[sl] // n) % n, trip[sl] % n
        return walk_arcs(state[tb], serving, access_region, states.next_hop, self.arrays.arc_index)

    def _user_trips(self, states: States, state, trip, user_gbps, loads):
        """Route user trips (``trip`` = (element * n + serving region) * n + access region) onto
        ``loads`` [B, arcs] (which holds the east-west traffic): returns (loads, the trips' slices, their
        walks). Trips go in slices whose paths (at most n hops each) fit the hop budget; the walks are kept
        for the queueing while they fit, and walked again otherwise (None)."""
        n, arcs, B = self.n_regions, 2 * self.n_links, loads.shape[0]
        step = max(1, TRIP_HOPS_KEPT // n)
        spans = [slice(lo, lo + step) for lo in range(0, trip.size, step)]
        walks, kept = [], 0
        for sl in spans:
            back = self._walk(states, state, trip, sl)
            loads += loads_on_hops(back, trip[sl] // (n * n), user_gbps[sl], arcs, B)
            kept += back.walker.size
            walks.append(back if kept <= TRIP_HOPS_KEPT else None)
        return loads, spans, walks

    def _trip_queues(self, states: States, r: "_Routed", both_ways_ms, members, start, count):
        """Queueing there and back of every (element, trip) pair, in ms, and where each trip's pairs
        start: the pairs of trip t are its primary's elements (``members[start[p]: start[p] + count[p]]``)
        in order. Requests retrace the path of the responses (on symmetric links the reverse of a shortest
        path is one), so a trip queues on both directions of every link of its one path."""
        xp, n = self.xp, self.n_regions
        per_trip = count[r.trip // (n * n)]  # elements sharing each trip's primary
        pair_start = xp.cumsum(per_trip) - per_trip
        queue_ms = xp.zeros(int(per_trip.sum()), dtype=xp.float64)
        for sl, back in zip(r.spans, r.walks):
            back = back if back is not None else self._walk(states, r.state, r.trip, sl)
            trip_of_hop = back.walker + sl.start
            hop, offset = repeat_each(xp, per_trip[trip_of_hop])  # each hop once per element of its trip
            trip_of_pair_hop = trip_of_hop[hop]
            pair = pair_start[trip_of_pair_hop] + offset
            element = members[start[r.trip[trip_of_pair_hop] // (n * n)] + offset]
            scatter_add(xp, queue_ms, pair, both_ways_ms[element, back.arc[hop] // 2])
            blocked = xp.nonzero(back.unreachable)[0] + sl.start  # no path: inf for each of its pairs
            if blocked.size:
                which, offset = repeat_each(xp, per_trip[blocked])
                queue_ms[pair_start[blocked][which] + offset] = xp.inf
        return queue_ms, pair_start

    def _east_west_loads(self, states: States, batch: Batch):
        """East-west traffic depends only on (capacity, state): route it once per distinct pair
        (curves with the same build plan share it), then gather.

        With a reference state (``batch.reference``, the month's intact network), each distinct
        capacity is routed on the reference once, and each (capacity, state) group only moves the
        pairs whose path the state changes (:func:`kernels.paths.paths_differ`).
        """
        xp = self.xp
        capacity = to_numpy(batch.capacity_mw)
        if batch.capacity_group is not None:
            key = np.asarray(batch.state, dtype=np.int64) * (int(np.max(batch.capacity_group)) + 1) \
                + batch.capacity_group
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        else:
            key = np.concatenate([np.asarray(batch.state, dtype=np.float64)[:, None], capacity], axis=1)
            _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        group_state = np.asarray(batch.state)[first]
        group_capacity = capacity[first]
        if batch.reference is None:
            loads = self._route_east_west(group_capacity, group_state, states.next_hop)
        else:
            reference = self.states([batch.reference]).next_hop  # [1, n, n]
            caps, cap_of = _unique_rows(group_capacity)
            loads = self._route_east_west(caps, np.zeros(len(caps), dtype=np.int64), reference)
            loads = loads[xp.asarray(cap_of)]
            loads += self._reroute_east_west(caps, cap_of, group_state, states.next_hop, reference)
            loads = xp.maximum(loads, 0.0)  # flows moved off an arc leave rounding residue, not load
        return loads[xp.asarray(inverse.ravel())]

    def _group_step(self) -> int:
        return max(1, WALKERS_PER_CALL // (self.n_regions ** 2))  # bound the walkers held at once

    def _route_east_west(self, capacity: np.ndarray, state: np.ndarray, next_hop):
        """Loads [G, arcs] of every pair's gravity flow for capacity row g, routed by next_hop[state[g]]."""
        xp, arcs, step = self.xp, 2 * self.n_links, self._group_step()
        loads = xp.zeros((len(capacity), arcs), dtype=xp.float64)
        for lo in range(0, len(capacity), step):
            flows = self.east_west(xp.asarray(capacity[lo: lo + step]))  # [g, n, n]
            g, s, d = xp.nonzero(flows)
            loads[lo: lo + step] = loads_by_state(g, s, d, flows[g, s, d], xp.asarray(state[lo: lo + step]),
                                                  next_hop, self.arrays.arc_index, arcs, flows.shape[0])
        return loads

    def _reroute_east_west(self, caps: np.ndarray, cap_of: np.ndarray, state: np.ndarray, next_hop, reference):
        """Per group g (capacity ``caps[cap_of[g]]``, routing ``next_hop[state[g]]``): the flow of every
        pair whose path differs from the reference's, added along its own path and taken off the
        reference path ([G, arcs]). Gravity flows are computed once per distinct capacity."""
        xp, arcs, step = self.xp, 2 * self.n_links, self._group_step()
        flows_by_cap = self.east_west(xp.asarray(caps))  # [K, n, n]
        out = xp.zeros((len(cap_of), arcs), dtype=xp.float64)
        # groups whose state routes exactly like the reference (a failed system on a link that stays up)
        # move nothing: only the others are compared pair by pair
        moved = to_numpy((next_hop != reference).reshape(len(next_hop), -1).any(axis=1))[np.asarray(state)]
        rows = np.flatnonzero(moved)
        for lo in range(0, len(rows), step):
            part = rows[lo: lo + step]
            st = xp.asarray(np.asarray(state)[part])
            g, s, d = xp.nonzero(paths_differ(next_hop[st], reference[0]))  # never i == j
            if g.size == 0:
                continue
            flows = flows_by_cap[xp.asarray(cap_of[part])[g], s, d]
            target = xp.asarray(part)
            out[target] += loads_by_state(g, s, d, flows, st, next_hop, self.arrays.arc_index, arcs, len(st))
            out[target] -= loads_by_state(g, s, d, flows, xp.zeros(len(st), dtype=xp.int64), reference,
                                          self.arrays.arc_index, arcs, len(st))
        return out


def market_rtt_ms(access_rtt_ms: np.ndarray, dist_ms: np.ndarray, region_up: np.ndarray):
    """Each market's access region and its RTT to every region, per topology state (host arrays).

    ``access_rtt_ms`` [M, N] (or [U, M, N], one per state) is the access leg from each market to each
    region; ``dist_ms`` [U, N, N] the one-way shortest paths; ``region_up`` [U, N]. A market enters at
    its nearest region in service and crosses the network from there: RTT = access leg + 2 x path.
    Returns (access [U, M], -1 where every region is down; rtt [U, M, N], inf to regions out of service).
    """
    legs = access_rtt_ms if access_rtt_ms.ndim == 3 else access_rtt_ms[None]
    access_rtt = np.where(region_up[:, None, :], legs, np.inf)  # [U, M, N]
    access = np.argmin(access_rtt, axis=2)
    none_up = ~region_up.any(axis=1)
    states = np.arange(len(region_up))[:, None]
    leg = np.take_along_axis(access_rtt, access[..., None], axis=2)  # [U, M, 1]
    rtt = leg + 2.0 * dist_ms[states, access]  # [U, M, N]
    rtt = np.where(region_up[:, None, :], rtt, np.inf)
    access = np.where(none_up[:, None], -1, access)
    return access, rtt


class _Routed(NamedTuple):
    """What a batch's primaries share with their twins: the assignment, the grants (``b`` indexes the
    primaries), each grant's trip (-1: served at its access region) and the link loads with the walks."""

    spill: Spill
    near_mw: object
    b: object
    m: object
    region: object
    rtt_ms: object
    mw: object
    home: object
    grant_trip: object
    trip: object
    state: object
    loads: object
    spans: list
    walks: list


def _expand_rows(xp, owner, pick, P: int):
    """Rows of a list owned by ``P`` primaries (``owner[k]``), repeated for ``B`` elements (element e gets
    the rows of ``pick[e]``, in their order): (source row, element) per repeated row."""
    B = pick.size
    if B == P:  # every element is its own primary
        return xp.arange(owner.size), owner
    counts = xp.bincount(owner, minlength=P) if owner.size else xp.zeros(P, dtype=xp.int64)
    order = stable_argsort(xp, owner)
    starts = xp.cumsum(counts) - counts
    element, offset = repeat_each(xp, counts[pick])
    return order[starts[pick][element] + offset], element


def _split_grants(xp, spill, home):
    """Round-0 grants served by the access region ``home`` [B, M] stay dense (``near_mw`` [B, M]); all
    others go on one sparse list ``(b, m, region, rtt_ms, mw)`` with the spilled grants, RTTs in float64
    for the queueing to come. A round-0 grant lands elsewhere only when another region ties with the
    access region on RTT and comes first in the order: then it travels like a spill."""
    elsewhere = (spill.nearest != home) & (spill.nearest_mw > 0)
    b, m, region, rtt_ms, mw = spill.grants(elsewhere)
    return xp.where(elsewhere, 0.0, spill.nearest_mw), b, m, region, rtt_ms.astype(xp.float64), mw


def unique_keys(keys: list[bytes]) -> tuple[list[bytes], np.ndarray]:
    """Distinct keys in order of first appearance, and each key's index among them."""
    index: dict[bytes, int] = {}
    inverse = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
    return list(index), inverse


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a 2-D host array (in order of first appearance) and each row's index among
    them, by their bytes: much faster than ``np.unique(axis=0)`` for a few hundred rows."""
    distinct, inverse = unique_keys([row.tobytes() for row in np.ascontiguousarray(rows)])
    first = np.zeros(len(distinct), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(rows))[::-1]
    return rows[first], inverse


def _sum_by(xp, index, values, size: int):
    """Sum of ``values`` per ``index`` (a bincount that keeps inf)."""
    out = xp.zeros(size, dtype=xp.float64)
    finite = xp.isfinite(values)
    scatter_add(xp, out, index, xp.where(finite, values, 0.0))
    blocked = xp.zeros(size, dtype=xp.float64)
    scatter_add(xp, blocked, index, (~finite).astype(xp.float64))
    return xp.where(blocked > 0, xp.inf, out)

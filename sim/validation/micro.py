"""Request-level ("micro") SimPy models: the ground truth the batched ("macro") kernels are checked against.

Two models, both driven by SimPy's event calendar (``simpy.Environment``) with every customer or packet
an explicit event:

* :func:`simulate_queue` -- one FIFO queue with ``c`` servers: Poisson arrivals, exponential or general
  service (M/M/c, M/G/c). It records every customer's wait and the time-integral of the number in system,
  so the mean wait, the wait distribution and Little's law (L = lambda W) can all be measured.
* :func:`simulate_network` -- packets crossing a small network: Poisson packet streams between node pairs,
  shortest-path routes (by propagation delay, computed with networkx, independently of the kernels),
  each directed link a FIFO single-server queue (transmission time = packet length / link rate) followed
  by its propagation delay. Packet lengths are drawn afresh at every link (Kleinrock's independence
  assumption), which makes the network a Jackson network: each link is then exactly an M/M/1 queue, the
  model the macro engine uses (DESIGN §8).

Speed. SimPy processes (generators) cost several calendar events per customer; these models schedule
plain ``Timeout`` events with callbacks instead (two events per customer for a queue, two per packet
hop for the network), and draw all random numbers up front with NumPy. Measured rates are reported by
``infrasim selfcheck``; see docs/validation.md.

:func:`lindley_waits` is a vectorised NumPy reference for the single-server FIFO queue (Lindley's
recursion in closed form); fed the same random numbers, the SimPy model must reproduce it exactly,
which tests the event logic customer by customer.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Callable

import numpy as np
import simpy

ServiceSampler = Callable[[np.random.Generator, int], np.ndarray]


# ------------------------------------------------------------------------------------------ service laws

def exponential_service(service_rate: float) -> ServiceSampler:
    """Exponential service times with mean ``1 / service_rate`` (the M in M/M/c)."""
    return lambda rng, size: rng.exponential(1.0 / service_rate, size)


def deterministic_service(service_rate: float) -> ServiceSampler:
    """Constant service time ``1 / service_rate`` (M/D/c)."""
    return lambda rng, size: np.full(size, 1.0 / service_rate)


def lognormal_service(service_rate: float, cv: float) -> ServiceSampler:
    """Lognormal service times with mean ``1 / service_rate`` and coefficient of variation ``cv`` (M/G/c)."""
    sigma2 = math.log1p(cv * cv)
    mu = -math.log(service_rate) - sigma2 / 2.0
    return lambda rng, size: rng.lognormal(mu, math.sqrt(sigma2), size)


# -------------------------------------------------------------------------------------------- one queue

@dataclass
class QueueRun:
    """What one run of :func:`simulate_queue` measured (times in the unit of 1 / rate).

    ``waits`` and ``sojourns`` cover the customers after the warm-up, in arrival order;
    ``mean_in_system`` is the time average of the number in system over ``[t_start, t_end]`` (from the
    first measured arrival to the last measured departure).
    """

    waits: np.ndarray
    sojourns: np.ndarray
    mean_in_system: float
    t_start: float
    t_end: float
    n_measured: int
    events: int
    wall_s: float
    cpu_s: float = math.nan

    @property
    def events_per_s(self) -> float:
        """Calendar events per CPU second of the simulation loop (robust to other load on the machine)."""
        return self.events / self.cpu_s if self.cpu_s > 0 else float("inf")


class _Queue:
    """Event handlers of a FIFO c-server queue on a SimPy calendar.

    Random numbers are held as NumPy arrays and turned into Python floats a chunk at a time (fast to
    read, small in memory); a waiting customer carries (id, arrival time, service time) in the FIFO.
    """

    CHUNK = 1 << 16

    def __init__(self, env: simpy.Environment, servers: int, inter: np.ndarray, service: np.ndarray, warmup: int):
        self.env, self.servers, self.warmup = env, servers, warmup
        self.inter_all, self.service_all = inter, service
        self.n = len(service)
        self.waits = np.empty(self.n)
        self.base = 0
        self.inter, self.service = self._chunk(0)
        self.waiting: deque[tuple[int, float, float]] = deque()
        self.busy = 0
        self.in_system = 0
        self.area = 0.0  # integral of number-in-system dt over the measured window
        self.last_t = 0.0
        self.t_start = math.nan
        self.t_end = 0.0
        self.measured_left = self.n - warmup  # measured customers not yet departed
        self.window_open = False

    def _chunk(self, base: int) -> tuple[list, list]:
        part = slice(base, base + self.CHUNK)
        return self.inter_all[part].tolist(), self.service_all[part].tolist()

    def on_arrival(self, ev) -> None:
        """Customer ``ev.value`` arrives: start service if a server is free, else join the FIFO."""
        i = ev.value
        env = self.env
        now = env.now
        if self.window_open:
            self.area += self.in_system * (now - self.last_t)
        elif i == self.warmup:
            self.t_start, self.window_open = now, True
        self.last_t = now
        k = i - self.base
        service = self.service[k]
        self.in_system += 1
        if self.busy < self.servers:
            self.busy += 1
            self.waits[i] = 0.0
            env.timeout(service, i).callbacks.append(self.on_departure)
        else:
            self.waiting.append((i, now, service))
        if i + 1 < self.n:
            if k + 1 == len(self.inter):
                self.base += len(self.inter)
                self.inter, self.service = self._chunk(self.base)
                k = -1
            env.timeout(self.inter[k + 1], i + 1).callbacks.append(self.on_arrival)

    def on_departure(self, ev) -> None:
        """Customer ``ev.value`` leaves: the longest-waiting customer, if any, takes the server."""
        env = self.env
        now = env.now
        if self.window_open:
            self.area += self.in_system * (now - self.last_t)
            if ev.value >= self.warmup:
                self.measured_left -= 1
                if self.measured_left == 0:
                    self.t_end, self.window_open = now, False
        self.last_t = now
        self.in_system -= 1
        if self.waiting:
            j, arrived, service = self.waiting.popleft()
            self.waits[j] = now - arrived
            env.timeout(service, j).callbacks.append(self.on_departure)
        else:
            self.busy -= 1


def simulate_queue(arrival_rate: float, servers: int, n_customers: int, seed: int | np.random.SeedSequence = 0,
                   service: ServiceSampler | None = None, service_rate: float | None = None,
                   warmup_customers: int = 0, inter_arrivals: np.ndarray | None = None,
                   service_times: np.ndarray | None = None) -> QueueRun:
    """Simulate a FIFO queue with ``servers`` servers fed by a Poisson stream, customer by customer.

    Give either ``service`` (a sampler, e.g. :func:`lognormal_service`) or ``service_rate``
    (exponential service). ``inter_arrivals`` (gap before each customer) / ``service_times`` may be
    passed to replay given random numbers (then ``arrival_rate`` / ``seed`` are unused for that stream).
    The first ``warmup_customers`` customers are simulated but not measured (the queue starts empty).
    """
    if servers < 1 or n_customers <= warmup_customers:
        raise ValueError("need servers >= 1 and n_customers > warmup_customers")
    if service is None and service_rate is None and service_times is None:
        raise ValueError("give service, service_rate or service_times")
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng_arrive, rng_service = (np.random.default_rng(s) for s in ss.spawn(2))
    if inter_arrivals is None:
        inter_arrivals = rng_arrive.exponential(1.0 / arrival_rate, n_customers)
    if service_times is None:
        service_times = (service or exponential_service(service_rate))(rng_service, n_customers)
    inter_arrivals, service_times = np.asarray(inter_arrivals, float), np.asarray(service_times, float)
    env = simpy.Environment()
    q = _Queue(env, servers, inter_arrivals, service_times, warmup_customers)
    env.timeout(q.inter[0], 0).callbacks.append(q.on_arrival)
    began, began_cpu = time.perf_counter(), time.process_time()
    env.run()
    wall_s, cpu_s = time.perf_counter() - began, time.process_time() - began_cpu
    waits = q.waits[warmup_customers:]
    span = q.t_end - q.t_start
    return QueueRun(waits=waits, sojourns=waits + service_times[warmup_customers:],
                    mean_in_system=q.area / span if span > 0 else 0.0, t_start=q.t_start, t_end=q.t_end,
                    n_measured=n_customers - warmup_customers, events=2 * n_customers, wall_s=wall_s,
                    cpu_s=cpu_s)


def lindley_waits(inter_arrivals: np.ndarray, service_times: np.ndarray) -> np.ndarray:
    """Waits in queue of a single-server FIFO queue that starts empty, vectorised (Lindley's recursion).

    W_0 = 0, W_{k+1} = max(0, W_k + S_k - A_{k+1}) has the closed form W_k = X_k - min_{j<=k} X_j with
    X_k = sum_{j<k} (S_j - A_{j+1}) and X_0 = 0; ``inter_arrivals[k]`` is the gap before customer k.
    """
    steps = np.asarray(service_times[:-1], float) - np.asarray(inter_arrivals[1:], float)
    x = np.concatenate([[0.0], np.cumsum(steps)])
    return x - np.minimum.accumulate(x)


# --------------------------------------------------------------------------------------- batch means

def t_quantile(p: float, dof: int) -> float:
    """Student-t quantile by the Cornish-Fisher expansion about the normal (Abramowitz & Stegun 26.7.5).

    Absolute error below 1e-4 for dof >= 10, which is all batch means use (scipy is not a dependency).
    """
    z = NormalDist().inv_cdf(p)
    g1 = (z ** 3 + z) / 4.0
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96.0
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384.0
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160.0
    return z + g1 / dof + g2 / dof ** 2 + g3 / dof ** 3 + g4 / dof ** 4


@dataclass(frozen=True)
class Interval:
    """A batch-means estimate: mean and the half-width of its two-sided confidence interval."""

    mean: float
    half_width: float
    confidence: float
    batches: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def relative_half_width(self) -> float:
        return self.half_width / abs(self.mean) if self.mean else math.inf


def batch_means(values: np.ndarray, batches: int = 50, confidence: float = 0.99) -> Interval:
    """Confidence interval for the mean of a correlated, stationary sequence by non-overlapping batch means.

    The run is cut into ``batches`` equal batches (a remainder at the start is dropped); batch means
    of long batches are nearly independent and normal, so a Student-t interval on them is valid where a
    naive interval on the correlated raw values would be far too narrow.
    """
    values = np.asarray(values, float)
    size = len(values) // batches
    if size < 1 or batches < 2:
        raise ValueError(f"cannot cut {len(values)} values into {batches} batches")
    means = values[len(values) - size * batches:].reshape(batches, size).mean(axis=1)
    spread = means.std(ddof=1) / math.sqrt(batches)
    return Interval(float(means.mean()), float(t_quantile(0.5 + confidence / 2, batches - 1) * spread),
                    confidence, batches)


# ------------------------------------------------------------------------------------------ a network

@dataclass
class NetworkSpec:
    """A small network for :func:`simulate_network` and its macro twin (times in seconds).

    ``arcs`` are directed (u, v) pairs; ``rate_pps[a]`` is arc a's service rate in packets per second
    (link rate / mean packet length); ``prop_s[a]`` its one-way propagation delay; ``demand_pps`` maps
    (origin, destination) to a Poisson packet rate.
    """

    n_nodes: int
    arcs: list[tuple[int, int]]
    rate_pps: np.ndarray
    prop_s: np.ndarray
    demand_pps: dict[tuple[int, int], float]

    def routes(self) -> dict[tuple[int, int], list[int]]:
        """Arc ids along the shortest path (by propagation delay) of every demand pair, via networkx."""
        import networkx as nx  # noqa: PLC0415

        g = nx.DiGraph()
        g.add_nodes_from(range(self.n_nodes))
        for a, (u, v) in enumerate(self.arcs):
            g.add_edge(u, v, weight=float(self.prop_s[a]), arc=a)
        out = {}
        for (s, d) in self.demand_pps:
            path = nx.dijkstra_path(g, s, d, weight="weight")
            out[(s, d)] = [g.edges[u, v]["arc"] for u, v in zip(path[:-1], path[1:])]
        return out


@dataclass
class NetworkRun:
    """What :func:`simulate_network` measured over the window after the warm-up (seconds)."""

    mean_latency_s: float
    latency_ci: Interval
    latency_by_pair_s: dict[tuple[int, int], float]
    utilisation: np.ndarray
    packets: int
    events: int
    wall_s: float
    cpu_s: float
    latencies: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))

    @property
    def events_per_s(self) -> float:
        """Calendar events per CPU second of the simulation loop."""
        return self.events / self.cpu_s if self.cpu_s > 0 else float("inf")


class _Network:
    """Event handlers of the packet network: per-arc FIFO queue, transmission, then propagation."""

    def __init__(self, env, spec: NetworkSpec, routes: list[list[int]], service_s: list, warmup_s: float):
        self.env, self.routes, self.service_s, self.warmup_s = env, routes, service_s, warmup_s
        self.rate = spec.rate_pps.tolist()
        self.prop = spec.prop_s.tolist()
        n_arcs = len(spec.arcs)
        self.busy = [False] * n_arcs
        self.waiting = [deque() for _ in range(n_arcs)]
        self.busy_since = [0.0] * n_arcs
        self.busy_s = [0.0] * n_arcs
        self.draw = 0  # next unused service draw (one unit-mean draw per packet hop)
        self.done: list[tuple[int, float, float]] = []  # (pair, birth, delivered) of measured packets
        self.gaps: list[list[float]] = []  # per pair, exponential gaps between births
        self.events = 0

    def _transmit(self, arc: int, packet: list, now: float) -> None:
        self.busy[arc] = True
        self.busy_since[arc] = max(now, self.warmup_s)
        ev = self.env.timeout(self.service_s[self.draw] / self.rate[arc], (arc, packet))
        self.draw += 1
        ev.callbacks.append(self.on_sent)

    def enter(self, arc: int, packet: list, now: float) -> None:
        if self.busy[arc]:
            self.waiting[arc].append(packet)
        else:
            self._transmit(arc, packet, now)

    def on_sent(self, ev) -> None:
        self.events += 1
        arc, packet = ev.value
        now = self.env.now
        if now > self.warmup_s:
            self.busy_s[arc] += now - self.busy_since[arc]
        if self.waiting[arc]:
            self._transmit(arc, self.waiting[arc].popleft(), now)
        else:
            self.busy[arc] = False
        hop = self.env.timeout(self.prop[arc], packet)
        hop.callbacks.append(self.on_hop)

    def on_hop(self, ev) -> None:
        self.events += 1
        packet = ev.value  # [pair, birth_s, next hop index]
        route = self.routes[packet[0]]
        packet[2] += 1
        now = self.env.now
        if packet[2] < len(route):
            self.enter(route[packet[2]], packet, now)
        elif packet[1] >= self.warmup_s:
            self.done.append((packet[0], packet[1], now))

    def on_birth(self, ev) -> None:
        self.events += 1
        pair, k = ev.value
        now = self.env.now
        self.enter(self.routes[pair][0], [pair, now, 0], now)
        gaps = self.gaps[pair]
        if k + 1 < len(gaps):  # the pair's next birth: one pending birth per pair keeps the calendar short
            self.env.timeout(gaps[k + 1], (pair, k + 1)).callbacks.append(self.on_birth)


def simulate_network(spec: NetworkSpec, duration_s: float, warmup_s: float, seed: int,
                     batches: int = 50, confidence: float = 0.99) -> NetworkRun:
    """Packet-level simulation of ``spec`` for ``duration_s`` seconds; measures after ``warmup_s``.

    Packets born after the warm-up and delivered before the end are measured (end-to-end latency =
    delivery - birth); an arc's utilisation is its busy time over the measured window. The latency CI is
    by batch means over packets in birth order.
    """
    pairs = list(spec.demand_pps)
    route_map = spec.routes()
    routes = [route_map[p] for p in pairs]
    seeds = np.random.SeedSequence(seed).spawn(len(pairs) + 1)
    env = simpy.Environment()
    hops_expected = sum(spec.demand_pps[p] * len(r) for p, r in zip(pairs, routes)) * duration_s
    service_s = np.random.default_rng(seeds[-1]).exponential(1.0, int(hops_expected * 1.1 + 1000)).tolist()
    net = _Network(env, spec, routes, service_s, warmup_s)
    for k, p in enumerate(pairs):  # Poisson births: exponential gaps, enough to pass duration_s
        rate = spec.demand_pps[p]
        net.gaps.append(np.random.default_rng(seeds[k]).exponential(1.0 / rate, int(rate * duration_s * 1.2 + 100)).tolist())
        env.timeout(net.gaps[k][0], (k, 0)).callbacks.append(net.on_birth)
    began, began_cpu = time.perf_counter(), time.process_time()
    env.run(until=duration_s)
    wall_s, cpu_s = time.perf_counter() - began, time.process_time() - began_cpu
    done = np.asarray(net.done, float).reshape(-1, 3)
    done = done[np.argsort(done[:, 1], kind="stable")]
    latency = done[:, 2] - done[:, 1]
    by_pair = {p: float(latency[done[:, 0] == k].mean()) for k, p in enumerate(pairs)}
    window_s = duration_s - warmup_s
    busy = np.asarray(net.busy_s)
    for a in range(len(spec.arcs)):  # close the busy period still running at the end
        if net.busy[a]:
            busy[a] += duration_s - net.busy_since[a]
    return NetworkRun(mean_latency_s=float(latency.mean()), latency_ci=batch_means(latency, batches, confidence),
                      latency_by_pair_s=by_pair, utilisation=busy / window_s, packets=len(latency),
                      events=net.events, wall_s=wall_s, cpu_s=cpu_s, latencies=latency)

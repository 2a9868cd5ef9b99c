"""The engine: a SimPy calendar over months and failures, evaluating the network in batches.

How a run works (DESIGN §10):

* Demand (per curve, sample, month and market), capacity (per curve, month and region) and every
  sample's failure timeline are drawn up front as arrays.
* SimPy holds the calendar. One process replays failures and repairs at their exact times (per-event
  Python work is O(1): a counter and a bit mask of what is down in that sample). Each change closes a
  *segment*: a stretch of time during which one sample ran in one failure state. Another process ends
  each month: it closes open segments at the boundary and hands the month to a month thread.
* Months do not depend on each other's results, so the calendar runs on while up to one month per
  core is evaluated (NumPy releases the GIL in most of the work); finished months are recorded
  strictly in order, so results do not depend on the number of threads.
* Demand and capacity are constant within a month, so a month's metrics are a time-weighted sum over
  states: the intact network (every sample, in one batch) plus every failure segment of the month (all
  in one batch), weighted by duration. Nothing is bucketed: a 3-hour region outage weighs 3 hours.
* Per month the engine keeps quantiles over samples only (streaming, no per-sample history), plus a
  few running per-sample figures (first saturation month, totals for the horizon).
"""
from __future__ import annotations

import os
import platform
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import simpy
from threadpoolctl import threadpool_limits
from tqdm import tqdm

import kernels
from sim.config import add_months, month_number, month_range
from sim.engine.batches import TimeAverage, evaluate_states, pack_bits
from sim.engine.evaluate import Metrics, Network, unique_keys
from sim.engine.n_minus_1 import n_minus_1
from sim.errors import InputError
from sim.model.demand import demand_paths, east_west_gbps, user_gbps_per_mw
from sim.model.failures import Outages, random_corridor_events, random_link_outages, random_region_outages
from sim.model.latency import access_rtt_ms
from sim.model.supply import supply_plan
from sim.model.world import World, build_world

QUANTILES = (0.1, 0.5, 0.9)
QUANTILE_NAMES = ("p10", "p50", "p90")
FAILURE_STREAM = 0x6661696C  # "fail": spawn key of the failure draws, independent of demand
MAX_THREADS = 4  # months evaluated at once on NumPy (one per core, at most this many)
EVENT_TARGETS = {"link_cut": "link", "system_cut": "system", "corridor_cut": "corridor", "region_outage": "region"}


@dataclass
class Timeline:
    """Every outage of the run as change events, sorted by time: (day, sample, bit, +1 / -1)."""

    day: np.ndarray
    sample: np.ndarray  # -1 = every sample (scripted events)
    bit: np.ndarray
    delta: np.ndarray

    @classmethod
    def from_outages(cls, outages: list[tuple[Outages, int]], horizon_days: float) -> "Timeline":
        starts, ends = [], []
        for o, bit_offset in outages:
            keep = o.start_day < horizon_days
            bit = o.element[keep] + bit_offset
            starts.append((o.start_day[keep], o.sample[keep], bit))
            ends.append((np.minimum(o.end_day[keep], horizon_days), o.sample[keep], bit))
        day, sample, bit = (np.concatenate(column) for column in zip(*starts, *ends))
        delta = np.concatenate([np.ones(len(d), int) for d, _, _ in starts] + [-np.ones(len(d), int) for d, _, _ in ends])
        order = np.lexsort((-delta, day))  # at equal times, failures before repairs
        return cls(day[order], sample[order].astype(int), bit[order].astype(int), delta[order].astype(int))


@dataclass
class MonthLog:
    """Per month: quantiles over samples of every metric, by curve ([3, C, ...] arrays)."""

    quantiles: dict[str, list] = field(default_factory=dict)
    months: list[str] = field(default_factory=list)

    def add(self, month: str, values: dict[str, np.ndarray]) -> None:
        self.months.append(month)
        for name, array in values.items():
            self.quantiles.setdefault(name, []).append(_quantiles(array))


@dataclass(frozen=True)
class Site:
    """What saturation is watched for: a region (from its opening) or zones added to a region (from the
    zones' opening, on the parent region's utilisation)."""

    region: int  # index of the region whose utilisation counts
    site_id: str  # the region id, or the expansion id (``PARENT+YEAR``)
    kind: str  # 'region' | 'zones'
    opens: str  # 'YYYY-MM', or '' for a region open from the start
    from_month: int  # first month index that counts (>= number of months: opens after the horizon)


def _quantiles(array: np.ndarray) -> np.ndarray:
    """P10/P50/P90 over samples (axis 1) of [C, S, K], equal to ``np.quantile(array, QUANTILES, axis=1)``
    (linear method, NaN when a sample is NaN) but from one full sort, which NumPy vectorises and which is
    several times faster than its partition for three quantiles. A figure the same in every sample
    (capacity, broadcast) needs no sorting."""
    if array.strides[1] == 0:
        return np.broadcast_to(array[:, 0], (len(QUANTILES),) + array[:, 0].shape).astype(np.float64)
    ordered = np.sort(np.moveaxis(np.asarray(array, dtype=np.float64), 1, -1), axis=-1)  # [C, K, S], NaN last
    out = []
    for q in QUANTILES:
        at = q * (ordered.shape[-1] - 1)
        lo = int(np.floor(at))
        hi = min(lo + 1, ordered.shape[-1] - 1)
        out.append(_lerp(ordered[..., lo], ordered[..., hi], at - lo))
    result = np.stack(out)  # [3, C, K]
    result[:, np.isnan(ordered[..., -1])] = np.nan
    return result


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Linear interpolation exactly as NumPy's quantile does it (from the nearer end)."""
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, as in NumPy
        diff = b - a
        return b - diff * (1 - t) if t >= 0.5 else a + diff * t


class Engine:
    """One scenario, prepared for simulation: demand, supply, network, failures."""

    def __init__(self, scenario, samples: int, seed: int, xp, progress: bool | None = None,
                 max_memory_gb: float | None = None):
        self.scenario, self.samples, self.seed, self.xp = scenario, samples, seed, xp
        self.progress = progress
        # months evaluated side by side: NumPy releases the GIL in most of an evaluation, so each core
        # takes a month; on CuPy the GPU is the parallel part and one month thread still overlaps the
        # calendar
        self.threads = min(os.cpu_count() or 1, MAX_THREADS) if xp is np else 1
        self.max_memory_gb = max_memory_gb or scenario.analysis.max_memory_gb
        self.world: World = build_world(scenario)
        self.months = month_range(scenario.horizon.start, scenario.horizon.end)
        self.month_start_day = self._month_days()
        self._check_memory()
        self._prepare_demand_supply()
        self._prepare_network()
        self.timeline = self._failure_timeline()

    # ------------------------------------------------------------------ preparation
    def _month_days(self) -> np.ndarray:
        """Day (since the horizon start) on which each month starts, plus the day after the horizon."""
        start = np.datetime64(self.months[0] + "-01")
        firsts = [np.datetime64(m + "-01") for m in self.months + [add_months(self.months[-1], 1)]]
        return np.array([(d - start).astype(int) for d in firsts], dtype=float)

    def n_minus_1_months(self) -> set[int]:
        """Month indices of the N-1 checkpoints: the scenario's, or every December (else the last month)."""
        chosen = self.scenario.analysis.n_minus_1_months
        if chosen:
            return {month_number(m) - month_number(self.months[0]) for m in chosen}
        return {t for t, m in enumerate(self.months) if m.endswith("-12")} or {len(self.months) - 1}

    def fixed_memory_gb(self) -> float:
        """Memory that grows with samples and does not shrink with the batch size (arrays held for
        the whole run: demand paths, failure timelines, per-sample state, a month's figures)."""
        sc, arrays = self.scenario, self.world.arrays
        S, C, T = self.samples, len(sc.demand.curves), len(self.months)
        n, m, links = len(self.world.regions), len(self.world.markets), len(arrays.link_ids)
        years = T / 12.0
        per_km = np.where(arrays.seg_kind == "submarine", sc.failures.submarine_faults_per_1000km_year,
                          sc.failures.terrestrial_faults_per_1000km_year)
        outages = S * years * (float((per_km * arrays.length_km[arrays.seg_link]).sum()) / 1000.0
                               + arrays.n_corridors * sc.failures.corridor_events_per_year
                               + n * sc.failures.region_outages_per_year) if sc.failures.enabled else 0.0
        figures = 4 * n + 7 * m + 4 * links + 2  # metrics kept per (curve, sample) for a month
        bits = arrays.n_segments + arrays.n_corridors + n
        total = (C * S * T * 4 + C * S * (years + 8) * 8  # installed MW, spend
                 + C * S * (n + len(self.world.expansions)) * 20  # per site: saturation, months above, idle
                 + S * bits * 2 + S * (120 + bits // 8)  # down counts, keys
                 + outages * (2 * 32 + 120)  # timeline and segments
                 + 4 * C * S * figures * 8)  # a month's figures, time averages and quantile work
        return total / 2**30

    def _check_memory(self) -> None:
        need = self.fixed_memory_gb()
        if need > 0.5 * self.max_memory_gb:
            raise InputError("--max-memory", "", (
                f"{self.samples} samples need about {need:.2f} GB of run-long arrays, more than half the "
                f"{self.max_memory_gb:g} GB budget (the other half is for evaluation batches); raise "
                f"--max-memory (analysis.max_memory_gb) or lower --samples"))

    def _prepare_demand_supply(self) -> None:
        world, sc = self.world, self.scenario
        self.paths = demand_paths(sc.demand, world.markets, self.months, self.samples, self.seed, lazy=True)
        self.curves = self.paths.curves
        market_region = np.argmin(world.market_region_km, axis=1)
        capacity = np.asarray(supply_plan(sc.supply, world.regions, self.months, self.paths, market_region,
                                          world.expansions), dtype=np.float64)
        capacity = np.broadcast_to(capacity, (len(self.curves),) + capacity.shape[1:]).copy()
        self.capacity_mw = capacity  # [C, T, N] host
        self.open_month = np.array([max(0, month_number(r.opens) - month_number(self.months[0]))
                                    if r.opens else 0 for r in world.regions])
        self.sites = self._sites()

    def _sites(self) -> list[Site]:
        """Every region from its opening, then every announced zone expansion from the zones' opening."""
        world, start = self.world, month_number(self.months[0])
        sites = [Site(i, r.id, "region", r.opens or "", int(self.open_month[i])) for i, r in enumerate(world.regions)]
        index = world.region_index
        sites += [Site(index[e.region_id], e.id, "zones", e.opens or "",
                       max(0, month_number(e.opens) - start) if e.opens else 0)
                  for e in world.expansions if e.region_id in index]
        return sites

    def _prepare_network(self) -> None:
        sc, world, xp = self.scenario, self.world, self.xp
        arrays = world.arrays
        lat = sc.latency
        access_rtt = access_rtt_ms(world.market_region_km, lat, user=True)  # markets are users: last mile
        region_km = xp.asarray(world.region_km)
        self.network = Network(arrays, access_rtt, xp, sc.analysis.slo_rtt_ms, user_gbps_per_mw(sc.traffic),
                               lambda cap: east_west_gbps(cap, region_km, sc.traffic), sc.queueing.mean_packet_bytes,
                               cache_bytes=0.25 * self.max_memory_gb * 2**30)

    def _failure_timeline(self) -> Timeline:
        sc, arrays = self.scenario, self.world.arrays
        horizon_days = float(self.month_start_day[-1])
        net = self.network
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(FAILURE_STREAM,)))
        # one random fault process per segment (a system on a link), over that link's fibre length
        segments = random_link_outages(sc.failures, rng, arrays.length_km[arrays.seg_link],
                                       arrays.seg_kind == "submarine", horizon_days, self.samples)
        regions = random_region_outages(sc.failures, rng, len(self.world.regions), horizon_days, self.samples)
        corridors = random_corridor_events(sc.failures, rng, arrays.n_corridors, horizon_days, self.samples)
        scripted = self._scripted_outages()
        return Timeline.from_outages([(segments, 0), (regions, net.region_bit0), (corridors, net.n_segments),
                                      (scripted, 0)], horizon_days)

    def _scripted_outages(self) -> Outages:
        """Scenario events as outages of every sample (sample -1), in bit numbering: a link or a system
        cut sets the bits of its segments, a corridor cut its corridor's bit, an outage its region's."""
        net = self.network
        start0 = np.datetime64(self.months[0] + "-01")
        rows = []
        for k, event in enumerate(self.scenario.events):
            day = float((np.datetime64(event.start if len(event.start) > 7 else event.start + "-01") - start0)
                        .astype(int))
            what = EVENT_TARGETS[event.kind]
            for target in event.targets:
                bits = net.bits_of(what, target)
                if bits is None:
                    known = ", ".join(sorted(net.failure_names(what))[:12])
                    raise InputError(self.scenario.source, f"events.{k}.targets",
                                     f"unknown {what} {target!r} (known: {known}, ...)")
                rows += [(int(bit), day, day + event.days) for bit in bits]
        if not rows:
            return Outages.empty()
        bit, start, end = (np.array(x) for x in zip(*rows))
        return Outages(np.full(len(rows), -1), bit, start, end)

    # ------------------------------------------------------------------ the calendar
    def run(self) -> "RunState":
        state = RunState(self)
        env = simpy.Environment()
        env.process(self._failures(env, state))
        done = env.process(self._months(env, state))
        bar = tqdm(total=len(self.months), unit="month", disable=self._bar_disabled(), file=sys.stderr,
                   desc=f"{self.scenario.name} ({self.samples} samples)")
        state.on_month = lambda: bar.update(1)
        state.month_worker = ThreadPoolExecutor(self.threads, thread_name_prefix="infrasim-month")
        try:
            # Many small matrix products: one BLAS thread each is faster than a contended pool.
            with threadpool_limits(limits=1, user_api="blas"):
                env.run(until=done)
                state.wait_for_months()
        except KeyboardInterrupt:
            state.interrupted = True
            state.stop_months()
        finally:
            bar.close()
            state.month_worker.shutdown(cancel_futures=True)
        return state

    def _bar_disabled(self) -> bool | None:
        return True if self.progress is False else (None if self.progress is None else False)

    def _failures(self, env: simpy.Environment, state: "RunState"):
        """Replay every failure and repair at its time (the timeline is sorted)."""
        tl = self.timeline
        for day, sample, bit, delta in zip(tl.day.tolist(), tl.sample.tolist(), tl.bit.tolist(), tl.delta.tolist()):
            if day > env.now:
                yield env.timeout(day - env.now)
            state.change(env.now, sample, bit, delta)

    def _months(self, env: simpy.Environment, state: "RunState"):
        """End each month: close its segments and evaluate it."""
        for t in range(len(self.months)):
            yield env.timeout(self.month_start_day[t + 1] - env.now)
            state.close_month(t, env.now)


class RunState:
    """Per-sample failure state, the open segments, and what the run has accumulated so far."""

    def __init__(self, engine: Engine):
        self.engine = engine
        S = engine.samples
        # Per-event work is plain Python on ints (numpy scalar indexing costs more than the logic):
        # how many outages hold each element down, the state as a bit mask, when it began.
        self.count: list[dict[int, int]] = [{} for _ in range(S)]
        self.key: list[int] = [0] * S
        self.since: list[float] = [0.0] * S
        self.down_samples: set[int] = set()
        self.segments: list[tuple[int, int, float, float]] = []
        self.log = MonthLog()
        C, W = len(engine.curves), len(engine.sites)
        self.site_region = np.array([site.region for site in engine.sites], dtype=np.int64)
        self.site_from = np.array([site.from_month for site in engine.sites], dtype=np.int64)
        # per site: the first month above the ceiling at or after the site opens, and how many months
        self.first_saturation = np.full((C, S, W), np.iinfo(np.int32).max, dtype=np.int64)
        self.months_above = np.zeros((C, S, W), dtype=np.int32)
        # idle capacity (capacity - load) per site from its opening, in MW x days, and the days counted
        self.site_idle_mw_days = np.zeros((C, S, W))
        self.site_days = np.zeros(W)
        self.totals = {k: np.zeros((C, S)) for k in ("demand", "within", "late", "unmet", "idle")}  # MW x days
        self.days = 0.0  # days recorded so far
        self.peak_link_util = np.zeros((C, S))
        self.last_month: dict[str, np.ndarray] = {}
        self.interrupted = False
        self.on_month = lambda: None
        self.month_worker: ThreadPoolExecutor | None = None  # set by Engine.run
        self.pending: deque[Future] = deque()  # months handed to the month thread, in order
        self.n_minus_1_rows: list[dict] = []

    # --------------------------------------------------------- failure events (O(1) each)
    def change(self, day: float, sample: int, bit: int, delta: int) -> None:
        samples = range(self.engine.samples) if sample < 0 else (sample,)
        for s in samples:
            counts = self.count[s]
            now = counts.get(bit, 0) + delta
            if now:
                counts[bit] = now
            else:
                del counts[bit]
            if (now > 0) != (now - delta > 0):  # the element went down or came back
                self._close(s, day)
                self.key[s] ^= 1 << bit
                if self.key[s]:
                    self.down_samples.add(s)
                else:
                    self.down_samples.discard(s)

    def _close(self, s: int, day: float) -> None:
        if self.key[s] and day > self.since[s]:
            self.segments.append((s, self.key[s], self.since[s], day))
        self.since[s] = day

    # --------------------------------------------------------- month ends
    def close_month(self, t: int, day: float) -> None:
        """Close the month's segments and hand its evaluation to a month thread. The calendar goes on
        replaying the next months' failures while up to ``engine.threads`` months are evaluated side by
        side; finished months are recorded strictly in order, on this thread."""
        for s in self.down_samples:
            self._close(s, day)
        self.since = [day] * self.engine.samples
        segments, self.segments = self.segments, []
        if self.month_worker is None:
            self._record_month(*self._month(t, segments))
            return
        self.pending.append(self.month_worker.submit(self._month, t, segments))
        while len(self.pending) > self.engine.threads or (self.pending and self.pending[0].done()):
            self._record_next()

    def _month(self, t: int, segments: list) -> tuple[int, dict[str, np.ndarray], list[dict]]:
        """Everything about month t that does not depend on other months (runs on a month thread)."""
        monthly = self._evaluate_month(t, segments)
        rows = n_minus_1(self.engine, t) if self.engine.scenario.analysis.n_minus_1 and \
            t in self.engine.n_minus_1_months() else []
        return t, monthly, rows

    def _record_month(self, t: int, monthly: dict[str, np.ndarray], rows: list[dict]) -> None:
        self._record(t, monthly)
        self.n_minus_1_rows += rows
        self.on_month()

    def _record_next(self) -> None:
        """Record the oldest month in flight (waiting for it); a month that failed stays at the head."""
        result = self.pending[0].result()  # raises what the month raised
        self.pending.popleft()
        self._record_month(*result)

    def wait_for_months(self) -> None:
        while self.pending:
            self._record_next()

    def stop_months(self) -> None:
        """After Ctrl-C: drop months not started; months already being evaluated finish and are kept,
        in order, up to the first one that did not finish."""
        for job in self.pending:
            job.cancel()
        try:
            while self.pending and not self.pending[0].cancelled():
                self._record_next()
        except KeyboardInterrupt:
            pass
        self.pending.clear()

    def _evaluate_month(self, t: int, segments: list) -> dict[str, np.ndarray]:
        """Time-averaged metrics of month t per (curve, sample): [C, S, K] arrays (any thread)."""
        eng = self.engine
        days = eng.month_start_day[t + 1] - eng.month_start_day[t]
        S = eng.samples
        base_bits = np.zeros(eng.network.n_bits, bool)
        base_bits[eng.network.region_bit0:] = eng.open_month > t
        base_key = pack_bits(base_bits)
        base = int.from_bytes(base_key, "little")
        keys = [base_key] + [(base | k).to_bytes(len(base_key), "little") for _, k, _, _ in segments]
        fingerprints = eng.network.canonical(keys)
        # A segment whose state routes exactly like the intact network is the intact network.
        changed = [i for i, f in enumerate(fingerprints[1:]) if f != fingerprints[0]]
        seg_sample = np.array([segments[i][0] for i in changed], dtype=np.int64)
        seg_weight = np.array([(segments[i][3] - segments[i][2]) / days for i in changed])
        unique, state_of = unique_keys([fingerprints[0]] + [fingerprints[i + 1] for i in changed])
        # One element per (sample, state), sorted by sample: a sample back in a state it already had
        # this month (a second cut healed first) adds its time to the same element.
        pairs, inverse = np.unique(seg_sample * len(unique) + state_of[1:], return_inverse=True)
        seg_weight = np.bincount(inverse.ravel(), weights=seg_weight, minlength=len(pairs))
        seg_sample, seg_state = pairs // len(unique), pairs % len(unique)
        sample_ids = np.concatenate([np.arange(S), seg_sample])
        metrics = evaluate_states(eng, unique, t, sample_ids, np.concatenate([np.zeros(S, int), seg_state]),
                                  reference=unique[0])
        base_w = 1.0 - np.bincount(seg_sample, weights=seg_weight, minlength=S)
        weights = np.concatenate([np.clip(base_w, 0.0, 1.0), seg_weight])
        average = TimeAverage(sample_ids, weights, S)
        return {name: average(getattr(metrics, name)) for name in Metrics.FIELDS}

    def _record(self, t: int, mon: dict[str, np.ndarray]) -> None:
        eng = self.engine
        capacity = eng.capacity_mw[:, t, :][:, None, :]  # [C, 1, N]
        utilisation = np.where(capacity > 0, mon["region_load_mw"] / np.where(capacity > 0, capacity, 1), 0.0)
        saturated = (utilisation > eng.scenario.analysis.utilisation_ceiling)[..., self.site_region] \
            & (t >= self.site_from)  # [C, S, W]: a site counts from its own opening
        self.first_saturation = np.where(saturated & (self.first_saturation > t), t, self.first_saturation)
        self.months_above += saturated
        demand = eng.paths.market_at(t).astype(np.float64)
        served_short = (mon["late_mw"] + mon["unmet_mw"]).sum(axis=2) > 1e-6
        idle = np.maximum(capacity - mon["region_load_mw"], 0.0)  # [C, S, N] unused, wherever demand is
        stranded = np.where(served_short[..., None], idle, 0.0)  # unused while some demand is short
        link_util = mon["link_util"]  # time average over the month's states, each at its own capacity
        served = mon["within_mw"] + mon["late_mw"]
        rtt = np.where(served > 0, mon["rtt_weighted"] / np.where(served > 0, served, 1), np.nan)
        days = eng.month_start_day[t + 1] - eng.month_start_day[t]
        for name, value in (("demand", demand.sum(axis=2)), ("within", mon["within_mw"].sum(axis=2)),
                            ("late", mon["late_mw"].sum(axis=2)), ("unmet", mon["unmet_mw"].sum(axis=2)),
                            ("idle", idle.sum(axis=2))):
            self.totals[name] += value * days
        self.days += days
        site_open = t >= self.site_from  # [W]
        self.site_idle_mw_days += idle[..., self.site_region] * (days * site_open)
        self.site_days += days * site_open
        self.peak_link_util = np.maximum(self.peak_link_util, link_util.max(axis=2, initial=0.0))
        # per sample, the last recorded month's totals ([C, S]): each sample's own figures add up
        self.last_month = {"demand": demand.sum(axis=2), "within": mon["within_mw"].sum(axis=2),
                           "late": mon["late_mw"].sum(axis=2), "unmet": mon["unmet_mw"].sum(axis=2),
                           "spilled": mon["spilled_mw"].sum(axis=2), "load": mon["region_load_mw"].sum(axis=2),
                           "capacity": np.broadcast_to(capacity.sum(axis=2), demand.shape[:2]),
                           "idle": idle.sum(axis=2), "stranded": stranded.sum(axis=2)}
        share = np.where(demand > 0, mon["within_mw"] / np.where(demand > 0, demand, 1), 1.0)
        self.log.add(eng.months[t], {
            "demand_total": demand.sum(axis=2)[..., None], "capacity_total": np.broadcast_to(
                capacity.sum(axis=2)[..., None], (len(eng.curves), eng.samples, 1)),
            "region_capacity": np.broadcast_to(capacity, utilisation.shape), "region_load": mon["region_load_mw"],
            "region_util": utilisation, "region_idle": idle, "region_stranded": stranded,
            "link_load": mon["link_load_gbps"], "link_util": link_util, "link_delay": mon["link_delay_ms"],
            "market_demand": demand, "market_within": mon["within_mw"], "market_late": mon["late_mw"],
            "market_unmet": mon["unmet_mw"], "market_spilled": mon["spilled_mw"], "market_rtt": rtt,
            "market_share": share})


def versions() -> dict[str, str]:
    import matplotlib
    import networkx
    import pandas

    from sim._version import __version__

    return {"infrasim": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "simpy": simpy.__version__, "networkx": networkx.__version__, "pandas": pandas.__version__,
            "matplotlib": matplotlib.__version__}


def simulate(scenario, samples: int | None = None, seed: int | None = None, backend: str = "auto",
             progress: bool | None = None, max_memory_gb: float | None = None):
    """Run a validated scenario; returns (engine, state, backend name, runtime_s)."""
    started = time.perf_counter()
    try:
        xp = kernels.get_xp(backend)
    except (RuntimeError, ValueError) as err:
        raise InputError("--backend", "", str(err)) from None
    samples = scenario.samples if samples is None else samples
    if samples < 1:
        raise InputError("--samples", "", "must be at least 1")
    seed = scenario.seed if seed is None else seed
    engine = Engine(scenario, samples, seed, xp, progress, max_memory_gb)
    state = engine.run()
    return engine, state, ("cupy" if xp.__name__ == "cupy" else "numpy"), time.perf_counter() - started


__all__ = ["Engine", "RunState", "Site", "simulate", "versions", "QUANTILE_NAMES"]

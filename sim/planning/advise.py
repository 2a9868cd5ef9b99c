"""Where to build next (``infrasim advise``): greedy selection of new regions among candidate metros.

Each greedy step evaluates, in one batch (:mod:`sim.planning.variants`), the current footprint and the
footprint plus each remaining candidate, for every curve and sample at each December the site is open
(DESIGN §11). A candidate's *gain* is the demand it adds within the latency SLO (MW, time-averaged over
those months) against the current footprint, per sample; it is ranked by the expected gain (mean over
samples, curves weighted alike), or by gain per US$ bn when every candidate has a cost and
``rank_by="gain_per_cost"``. The best candidate joins the footprint and the next step starts from it, so
each pick conditions the next (a second site beside the first gains little).

For each pick the advisor says why: the markets it serves (MW the new site serves, main curve, mean over
samples), the round-trip time it removes for the markets whose served RTT falls most (P50 over samples),
and the region whose saturation it delays most (P50 first month above the utilisation ceiling, from a
month-by-month evaluation of the footprint with and without the pick).

What the evaluation leaves out (failures, link queueing, months between checkpoints) and why that hardly
changes a ranking is in :mod:`sim.planning.variants`; the test suite checks the first pick against an
exhaustive search with full engine runs, and the gain against a full run with the site added.

Known property of the engine's nearest-first policy: adding a site never lowers the demand *served*
(with a connected network, served = min(demand, capacity) in every element), but it can lower the
demand served *within the SLO* in rare cases (a market that moves to the new site competes, in a later
round, for the capacity another market relied on). A candidate's gain can therefore be negative.
"""
from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import add_months, month_number
from sim.errors import InputError
from sim.planning.candidates import DEFAULT_MIN_POPULATION, GEONAMES_CITATION, geonames_candidates, read_candidates
from sim.planning.variants import Outcome, PlanningBase, Site

DEFAULT_TOP = 3
DEFAULT_SAMPLES = 32  # samples per candidate: 32 x 3 curves x 5 Decembers per candidate keeps a step in seconds
DEFAULT_ZONES = 2  # the announced new regions open with two zones each (catalogue: Paris, Sao Paulo, Johor)
QUANTILES = (0.1, 0.5, 0.9)
NOT_WITHIN = "not within horizon"


@dataclass
class Advice:
    """The advisor's answer: every candidate at every step, the picks with their reasons, and a summary."""

    candidates: pd.DataFrame  # one row per (step, candidate, curve)
    picks: pd.DataFrame  # one row per pick
    footprint: pd.DataFrame  # the scenario's regions (for the map)
    sentences: list[str]
    summary: dict = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV tables of an advice folder (name without .csv -> DataFrame)."""
        return {"advise_candidates": self.candidates, "advise_picks": self.picks,
                "advise_footprint": self.footprint}


@dataclass
class _Step:
    """One greedy step's figures per remaining candidate k, curve c and sample s."""

    gain_mw: np.ndarray  # [K, C, S] demand within the SLO added, time-averaged
    unmet_avoided_mw: np.ndarray  # [K, C, S]
    score: np.ndarray  # [K] what the ranking sorts by
    rtt_cut_ms: np.ndarray  # [K, C, M] P50 over samples of the served RTT removed per market
    served_at_site_mw: np.ndarray  # [K, C, M] mean over samples of MW the new site serves per market


def advise(scenario, *, candidates_csv: str | Path | None = None, top: int = DEFAULT_TOP,
           capacity_mw: float | None = None, opens: str | None = None, samples: int = DEFAULT_SAMPLES,
           seed: int | None = None, backend: str = "numpy", min_population: int = DEFAULT_MIN_POPULATION,
           months: str = "december", rank_by: str = "gain") -> Advice:
    """Recommend ``top`` new sites for a validated scenario (see the module docstring)."""
    started = time.perf_counter()
    if scenario.topology.graphml is not None:
        raise InputError(scenario.source, "topology.graphml", "advise links new sites with the default backbone "
                         "builder; a GraphML network has no rule for linking a new site")
    if top < 1:
        raise InputError("--top", "", "must be at least 1")
    base = PlanningBase.prepare(scenario, samples, seed, backend)
    capacity_mw = _capacity(scenario, capacity_mw)
    opens = _opening(base, opens)
    cands = (read_candidates(Path(candidates_csv), capacity_mw, opens) if candidates_csv is not None
             else geonames_candidates(base.regions, capacity_mw, opens, min_population))
    if not cands:
        raise InputError("--min-population", "", f"no GeoNames city of {min_population:,} inhabitants or more "
                         "is free of a region")
    _check_rank(rank_by, cands)
    eval_months, weights = checkpoint_months(base, base.month_index(opens), months)
    picks, rows, pick_rows, sentences = [], [], [], []
    remaining = list(cands)
    for step in range(1, min(top, len(cands)) + 1):
        outcome = base.evaluate([picks] + [picks + [c] for c in remaining], eval_months, weights)
        figures = _step_figures(base, outcome, remaining, capacity_mw, rank_by)
        best = int(np.argmax(figures.score))
        rows += _candidate_rows(base, step, remaining, figures)
        reason = _pick_reason(base, picks, remaining[best], figures, best)
        pick_rows.append(reason)
        sentences.append(reason["sentence"])
        picks.append(remaining.pop(best))
    runtime = time.perf_counter() - started
    summary = _summary(base, scenario, cands, picks, pick_rows, eval_months, capacity_mw, opens, rank_by,
                       candidates_csv, min_population, samples, backend, runtime)
    footprint = pd.DataFrame([dict(region_id=r.id, city=r.city, country=r.country, lat=r.lat, lon=r.lon,
                                   status=r.status, opens=r.opens or "") for r in base.regions])
    return Advice(pd.DataFrame(rows), pd.DataFrame(pick_rows), footprint, sentences, summary)


# ------------------------------------------------------------------------------------ parameters
def _capacity(scenario, capacity_mw: float | None) -> float:
    if capacity_mw is None:
        return DEFAULT_ZONES * scenario.footprint.mw_per_zone
    if not capacity_mw > 0:
        raise InputError("--capacity-mw", "", f"must be > 0 MW, got {capacity_mw:g}")
    return float(capacity_mw)


def _opening(base: PlanningBase, opens: str | None) -> str:
    """The candidates' opening month: given, or the horizon start plus the scenario's supply lead time
    (a site decided now is in service after the build plan's own lead time)."""
    first, last = base.months[0], base.months[-1]
    if opens is None:
        opens = add_months(first, base.scenario.supply.lead_time_months)
    if not isinstance(opens, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", opens):
        raise InputError("--opens", "", f"not a month YYYY-MM: {opens!r}")
    number = month_number(opens)
    if number > month_number(last):
        raise InputError("--opens", "", f"{opens} is after the horizon end {last}")
    return opens if number >= month_number(first) else first


def _check_rank(rank_by: str, cands: list[Site]) -> None:
    if rank_by not in ("gain", "gain_per_cost"):
        raise InputError("--rank-by", "", f"unknown ranking {rank_by!r} (gain | gain_per_cost)")
    if rank_by == "gain_per_cost":
        missing = [c.name for c in cands if c.cost_per_mw_usd is None]
        if missing:
            raise InputError("--rank-by", "", f"gain_per_cost needs cost_per_mw_usd for every candidate "
                             f"(missing for {missing[0]})")


def checkpoint_months(base: PlanningBase, first: int, mode: str) -> tuple[list[int], np.ndarray]:
    """Months evaluated from index ``first`` on and their weights: each December (equal weights, one per
    year; the last month of the horizon when no December follows) or every month (weighted by days)."""
    if mode == "december":
        chosen = [t for t, m in enumerate(base.months) if t >= first and m.endswith("-12")] or [len(base.months) - 1]
        return chosen, np.full(len(chosen), 1.0 / len(chosen))
    if mode == "all":
        days = np.diff(base.engine.month_start_day)[first:]
        return list(range(first, len(base.months))), days / days.sum()
    raise InputError("--months", "", f"unknown choice {mode!r} (december | all)")


# ------------------------------------------------------------------------------------ figures
def main_curve(curves: list[str]) -> int:
    return curves.index("base") if "base" in curves else 0


def _step_figures(base: PlanningBase, out: Outcome, cands: list[Site], capacity_mw: float, rank_by: str) -> _Step:
    gain = out.mean_over_months(out.within_mw[1:] - out.within_mw[:1])  # [K, C, S]
    avoided = out.mean_over_months(out.unmet_mw[:1] - out.unmet_mw[1:])
    score = gain.mean(axis=(1, 2))
    if rank_by == "gain_per_cost":
        capex_busd = np.array([capacity_mw * c.cost_per_mw_usd / 1e9 for c in cands])
        score = score / capex_busd
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a market served in no sample: NaN, then 0
        rtt = out.market_rtt_weighted / out.market_served_mw  # [V, C, S, M] served RTT, NaN where none
        cut = np.nanmedian(rtt[:1] - rtt[1:], axis=2)  # [K, C, M]
    return _Step(gain, avoided, score, np.nan_to_num(cut), out.market_at_last_mw[1:].mean(axis=2))


def _quantiles(values: np.ndarray) -> np.ndarray:
    """P10/P50/P90 over the last axis (samples): [3, ...]."""
    return np.quantile(values, QUANTILES, axis=-1)


def _top_markets(base: PlanningBase, values: np.ndarray, floor: float, count: int = 3) -> list[tuple]:
    """The ``count`` markets with the largest values above ``floor``: [(market id, value)]."""
    order = np.argsort(-values, kind="stable")
    return [(base.markets[m].id, float(values[m])) for m in order[:count] if values[m] > floor]


def _candidate_rows(base: PlanningBase, step: int, cands: list[Site], f: _Step) -> list[dict]:
    rank = np.empty(len(cands), dtype=int)
    rank[np.argsort(-f.score, kind="stable")] = np.arange(1, len(cands) + 1)
    q = _quantiles(f.gain_mw)  # [3, K, C]
    avoided = np.median(f.unmet_avoided_mw, axis=-1)
    c0 = main_curve(base.curves)
    rows = []
    for k, site in enumerate(cands):
        cuts = _top_markets(base, f.rtt_cut_ms[k, c0], 0.5)
        common = dict(step=step, rank=int(rank[k]), candidate_id=site.id, name=site.name, country=site.country,
                      jurisdiction=site.jurisdiction, lat=site.lat, lon=site.lon, population=site.population,
                      capacity_mw=site.capacity_mw, opens=site.opens, score=float(f.score[k]),
                      capex_usd=None if site.cost_per_mw_usd is None else site.capacity_mw * site.cost_per_mw_usd,
                      rtt_cut_top_markets="; ".join(f"{m} -{v:.0f} ms" for m, v in cuts))
        for c, curve in enumerate(base.curves):
            rows.append(dict(common, curve=curve, gain_within_slo_mw_mean=float(f.gain_mw[k, c].mean()),
                             gain_within_slo_mw_p10=float(q[0, k, c]), gain_within_slo_mw_p50=float(q[1, k, c]),
                             gain_within_slo_mw_p90=float(q[2, k, c]), unmet_avoided_mw_p50=float(avoided[k, c])))
    return rows


# ------------------------------------------------------------------------------------ reasons
def _pick_reason(base: PlanningBase, picks: list[Site], site: Site, f: _Step, k: int) -> dict:
    c0 = main_curve(base.curves)
    curve = base.curves[c0]
    q = _quantiles(f.gain_mw[k])  # [3, C]
    served = _top_markets(base, f.served_at_site_mw[k, c0], 0.05)
    cuts = _top_markets(base, f.rtt_cut_ms[k, c0], 0.5)
    region, before, after = saturation_delay(base, picks, site, c0)
    others = ", ".join(f"{name} {q[1, c]:+.1f}" for c, name in enumerate(base.curves) if c != c0)
    text = (f"{len(picks) + 1}. {site.name}, {site.country} ({site.capacity_mw:g} MW from {site.opens}): "
            f"{f.gain_mw[k].mean():+.1f} MW of demand within the {base.slo_ms:g} ms SLO on average "
            f"({curve} curve P50 {q[1, c0]:+.1f} MW, P10 to P90 {q[0, c0]:+.1f} to {q[2, c0]:+.1f}"
            + (f"; P50 {others}" if others else "") + f"), {np.median(f.unmet_avoided_mw[k, c0]):.1f} MW less unmet. ")
    text += (("It serves " + ", ".join(f"{m} ({v:.0f} MW)" for m, v in served)) if served
             else "It serves no market directly (it takes over spilled demand)")
    text += ("; served RTT falls most for " + ", ".join(f"{m} (-{v:.0f} ms)" for m, v in cuts)) if cuts else ""
    text += (f"; it delays the saturation of {region} from {before} to {after} ({curve} curve, P50)."
             if region else f"; it delays no region's saturation within the horizon ({curve} curve, P50).")
    return dict(step=len(picks) + 1, candidate_id=site.id, name=site.name, country=site.country, lat=site.lat,
                lon=site.lon, capacity_mw=site.capacity_mw, opens=site.opens, score=float(f.score[k]),
                gain_within_slo_mw_mean=float(f.gain_mw[k].mean()), curve=curve,
                gain_within_slo_mw_p10=float(q[0, c0]), gain_within_slo_mw_p50=float(q[1, c0]),
                gain_within_slo_mw_p90=float(q[2, c0]),
                unmet_avoided_mw_p50=float(np.median(f.unmet_avoided_mw[k, c0])),
                markets_served="; ".join(f"{m} {v:.1f} MW" for m, v in served),
                rtt_cut_top_markets="; ".join(f"{m} -{v:.0f} ms" for m, v in cuts),
                saturation_delayed=region or "", saturation_before=before or "", saturation_after=after or "",
                sentence=text)


def saturation_delay(base: PlanningBase, picks: list[Site], site: Site, c: int) -> tuple[str, str, str]:
    """The region whose P50 first saturated month (curve ``c``) the site pushes back most, month by month
    over the whole horizon: (region, month before, month after), or ('', '', '') when none moves."""
    months = list(range(len(base.months)))
    out = base.evaluate([picks, picks + [site]], months, region_load=True)
    ceiling = base.scenario.analysis.utilisation_ceiling
    cap = out.capacity_mw[:, :, c][:, :, None, :]  # [2, T, 1, n]
    util = np.where(cap > 0, out.region_load_mw[:, :, c] / np.where(cap > 0, cap, 1.0), 0.0)  # [2, T, S, n]
    first = first_saturation(util > ceiling)  # [2, S, n], T = never
    p50 = np.quantile(first, 0.5, axis=1, method="inverted_cdf")  # [2, n]
    nodes = len(base.regions) + len(picks)
    delay = (p50[1] - p50[0])[:nodes]
    j = int(np.argmax(delay))
    if delay[j] <= 0:
        return "", "", ""
    names = [f"{r.id} ({r.city})" for r in base.regions] + [f"{p.id} ({p.name})" for p in picks]
    return names[j], _month_name(base, p50[0, j]), _month_name(base, p50[1, j])


def first_saturation(saturated: np.ndarray) -> np.ndarray:
    """Index of the first True along axis 1 (months), or the number of months when never: [V, S, n]
    from [V, T, S, n]."""
    T = saturated.shape[1]
    return np.where(saturated.any(axis=1), np.argmax(saturated, axis=1), T)


def _month_name(base: PlanningBase, t) -> str:
    return base.months[int(t)] if int(t) < len(base.months) else NOT_WITHIN


# ------------------------------------------------------------------------------------ summary
def _summary(base, scenario, cands, picks, pick_rows, eval_months, capacity_mw, opens, rank_by, csv,
             min_population, samples, backend, runtime) -> dict:
    source = str(csv) if csv is not None else f"{GEONAMES_CITATION}: cities of {min_population:,}+ inhabitants"
    elements = (len(cands) + 1) * len(eval_months) * len(base.curves) * samples
    return {
        "kind": "advise", "scenario_name": scenario.name, "candidates": len(cands), "candidate_source": source,
        "capacity_mw": capacity_mw, "opens": opens, "months_evaluated": [base.months[t] for t in eval_months],
        "samples": samples, "seed": base.engine.seed, "curves": list(base.curves), "rank_by": rank_by,
        "slo_rtt_ms": base.slo_ms, "backend": backend, "runtime_s": runtime,
        "elements_first_step": elements,
        "picks": [{k: row[k] for k in ("step", "candidate_id", "name", "country", "lat", "lon", "score",
                                       "gain_within_slo_mw_mean", "gain_within_slo_mw_p50", "sentence")}
                  for row in pick_rows],
        "headline": [row["sentence"] for row in pick_rows],
    }

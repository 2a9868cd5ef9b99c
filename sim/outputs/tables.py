"""The tables and the summary of a run, from the engine's finished (or interrupted) state.

:func:`build_results` turns what the engine accumulated (month quantiles, first saturation months, N-1
rows, totals) into the tidy tables of the run folder (docs/ARCHITECTURE.md, "Run folder"), the summary
(summary.json, with the headline sentences of DESIGN §1) and the run metadata (run.json).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.calendar import QUANTILE_NAMES, Engine, RunState, versions
from sim.model.demand import industry_spend_usd_by_year
from sim.model.network import links_table
from sim.model.scenario import dump_resolved
from sim.outputs.results import Results
from sim.outputs.schema import QUANTILE_NOTE, RUN_TABLES, conform, empty

NOT_WITHIN = "not within horizon"


def _tidy(log, name: str, ids: list[str], id_column: str, value_column: str, curves: list[str]) -> pd.DataFrame:
    """[T] list of [3, C, K] quantile arrays -> rows (curve, month, quantile, id, value)."""
    arr = np.stack(log.quantiles[name])  # [T, 3, C, K]
    T, Q, C, K = arr.shape
    t, q, c, k = np.meshgrid(np.arange(T), np.arange(Q), np.arange(C), np.arange(K), indexing="ij")
    frame = {"curve": np.array(curves)[c.ravel()], "month": np.array(log.months)[t.ravel()],
             "quantile": np.array(QUANTILE_NAMES)[q.ravel()]}
    if id_column:
        frame[id_column] = np.array(ids)[k.ravel()]
    frame[value_column] = arr.ravel()
    return pd.DataFrame(frame)


def _joined(log, spec: list[tuple[str, str]], ids: list[str], id_column: str, curves: list[str]) -> pd.DataFrame:
    table = _tidy(log, spec[0][0], ids, id_column, spec[0][1], curves)
    for name, column in spec[1:]:
        table[column] = _tidy(log, name, ids, id_column, column, curves)[column].to_numpy()
    return table


def _month_or_never(index: float, months: list[str]) -> str:
    if not np.isfinite(index) or index >= len(months):
        return NOT_WITHIN
    return months[int(index)]


def _site_rows(engine: Engine, state: RunState, w: int) -> list[dict]:
    """Rows of saturation.csv for site ``w`` (engine.sites order), one per curve."""
    site, months = engine.sites[w], engine.months
    region = engine.world.regions[site.region]
    first = state.first_saturation[:, :, w].astype(float)
    first[first >= len(months)] = np.inf
    rows = []
    for c, curve in enumerate(engine.curves):
        month = np.quantile(first[c], (0.1, 0.5, 0.9), method="inverted_cdf")
        above = np.quantile(state.months_above[c, :, w], (0.1, 0.5, 0.9), method="inverted_cdf")
        row = dict(region_id=region.id, site=site.site_id, city=region.city, country=region.country,
                   kind=site.kind, status="new" if site.kind == "zones" else region.status, opens=site.opens,
                   curve=curve, share_saturated=round(float(np.isfinite(first[c]).mean()), 4))
        row.update({f"saturation_{n}": _month_or_never(v, months) for n, v in zip(QUANTILE_NAMES, month)})
        row.update({f"months_above_{n}": int(v) for n, v in zip(QUANTILE_NAMES, above)})
        row["idle_mw_mean_p50"] = (float(np.median(state.site_idle_mw_days[c, :, w])) / state.site_days[w]
                                   if state.site_days[w] > 0 else float("nan"))
        rows.append(row)
    return rows


def saturation_tables(engine: Engine, state: RunState) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """saturation.csv (every region from its opening, every announced zone expansion from the zones'
    opening), new_zones.csv (its new sites) and summary.json's ``new_zones`` and
    ``existing_regions_saturating``.

    A site saturates in the first month at or after it opens in which its region's time-averaged load
    is above the utilisation ceiling; ``months_above_*`` count such months from the opening. For zones
    added to a region the region's utilisation counts, from the zones' opening (a region full before
    its zones arrive saturates when it is full again, not "at opening").
    """
    rows = [row for w in range(len(engine.sites)) for row in _site_rows(engine, state, w)]
    table = pd.DataFrame(rows, columns=list(RUN_TABLES["saturation"]))
    new = table[table.status == "new"].reset_index(drop=True)
    summary: dict = {}
    for site_id, part in new.groupby("site", sort=False):
        first = part.iloc[0]
        key = first.region_id if first.region_id not in summary else site_id
        summary[key] = {"city": first.city, "country": first.country, "kind": first.kind, "opens": first.opens,
                        "saturation": {r.curve: {n: getattr(r, f"saturation_{n}") for n in QUANTILE_NAMES}
                                       for r in part.itertuples()}}
    return table, new, {"new_zones": summary, "existing_regions_saturating": _existing_saturating(table),
                        "most_idle_regions": _most_idle(engine, state, table)}


def _most_idle(engine: Engine, state: RunState, table: pd.DataFrame, top: int = 5) -> dict[str, list[dict]]:
    """Per curve, the regions with the most idle capacity (capacity - load, wherever demand is) averaged
    from their opening (P50 over samples), with that capacity's share of the region's average capacity."""
    days = np.diff(engine.month_start_day)[:len(state.log.months)]
    index = {site.site_id: w for w, site in enumerate(engine.sites)}
    out: dict[str, list[dict]] = {}
    for c, curve in enumerate(engine.curves):
        part = table[(table.curve == curve) & (table.kind == "region") & (table.idle_mw_mean_p50 > 0)]
        rows = []
        for r in part.sort_values("idle_mw_mean_p50", ascending=False).head(top).itertuples():
            site = engine.sites[index[r.site]]
            counted = days * (np.arange(len(days)) >= site.from_month)
            capacity_mw = float(engine.capacity_mw[c, :len(days), site.region] @ counted / counted.sum())
            rows.append(dict(region_id=r.region_id, city=r.city, idle_mw_mean_p50=float(r.idle_mw_mean_p50),
                             idle_share=float(r.idle_mw_mean_p50) / capacity_mw if capacity_mw > 0 else 0.0))
        out[curve] = rows
    return out


def _existing_saturating(table: pd.DataFrame) -> dict[str, list[dict]]:
    """Per curve, the existing regions whose P50 saturation month is within the horizon, earliest first."""
    existing = table[(table.status == "existing") & (table.saturation_p50 != NOT_WITHIN)]
    out: dict[str, list[dict]] = {}
    for curve in table.curve.unique():
        part = existing[existing.curve == curve].sort_values(["saturation_p50", "region_id"])
        out[str(curve)] = [dict(region_id=r.region_id, city=r.city, saturation_p50=r.saturation_p50,
                                months_above_p50=int(r.months_above_p50)) for r in part.itertuples()]
    return out


def _footprint_tables(engine: Engine) -> dict[str, pd.DataFrame]:
    world = engine.world
    regions = pd.DataFrame([dict(region_id=r.id, city=r.city, country=r.country, lat=r.lat, lon=r.lon,
                                 zones=r.zones, status=r.status, opens=r.opens or "", capacity_mw=r.capacity_mw)
                            for r in world.regions])
    markets = pd.DataFrame([dict(market_id=m.id, name=m.name, bloc=m.bloc, lat=m.lat, lon=m.lon, weight=m.weight)
                            for m in world.markets])
    return {"footprint_regions": regions, "footprint_links": pd.DataFrame(links_table(world.graph)),
            "footprint_markets": markets}


def _quantiles(values: np.ndarray) -> dict[str, float]:
    return {n: float(v) for n, v in zip(QUANTILE_NAMES, np.quantile(values, (0.1, 0.5, 0.9)))}


def build_summary(engine: Engine, state: RunState, links: pd.DataFrame, n1: pd.DataFrame,
                  saturation: dict, backend: str, runtime_s: float) -> dict:
    curves = engine.curves
    share = np.where(state.totals["demand"] > 0, state.totals["within"] / np.where(
        state.totals["demand"] > 0, state.totals["demand"], 1), 1.0)
    last = state.last_month
    summary: dict[str, Any] = {
        "scenario_name": engine.scenario.name,
        "horizon": {"start": engine.months[0], "end": state.log.months[-1] if state.log.months else engine.months[0]},
        "industry_spend_usd_by_year": industry_spend_usd_by_year(engine.scenario.demand),
        **saturation,
        "served_within_slo_share": {c: _quantiles(share[i]) for i, c in enumerate(curves)},
        "served_within_slo_share_last_month": _last_month_share(last, curves),
        "decomposition_p50_sample": _decomposition(last, curves, state.log.months[-1] if state.log.months else ""),
        "quantile_note": QUANTILE_NOTE,
        "unmet_mw_p50": {c: float(np.median(last["unmet"][i])) if last else 0.0 for i, c in enumerate(curves)},
        "stranded_mw_p50": {c: float(np.median(last["stranded"][i])) if last else 0.0 for i, c in enumerate(curves)},
        "spilled_mw_p50": {c: float(np.median(last["spilled"][i])) if last else 0.0 for i, c in enumerate(curves)},
        "idle_mw_p50": {c: float(np.median(last["idle"][i])) if last else 0.0 for i, c in enumerate(curves)},
        "idle_mw_mean_p50": {c: float(np.median(state.totals["idle"][i])) / state.days if state.days else 0.0
                             for i, c in enumerate(curves)},
        "max_link_utilisation": {c: _quantiles(state.peak_link_util[i]) for i, c in enumerate(curves)},
        "most_congested_links": _congested(links),
        "n_minus_1_worst": _worst(n1),
        "slo_rtt_ms": engine.scenario.analysis.slo_rtt_ms,
        "utilisation_ceiling": engine.scenario.analysis.utilisation_ceiling,
        "backend": backend, "samples": engine.samples, "seed": engine.seed, "runtime_s": round(runtime_s, 3),
    }
    summary["headline"] = headline(summary, curves)
    return summary


def _last_month_share(last: dict, curves: list[str]) -> dict:
    """P10/P50/P90 over samples of the share of the last month's demand served within the SLO."""
    if not last:
        return {}
    demand = last["demand"]
    share = np.where(demand > 0, last["within"] / np.where(demand > 0, demand, 1.0), 1.0)
    return {c: _quantiles(share[i]) for i, c in enumerate(curves)}


# summary key -> the engine's per-sample last-month total it reports (RunState.last_month)
DECOMPOSITION = {"demand_mw": "demand", "within_slo_mw": "within", "late_mw": "late", "unmet_mw": "unmet",
                 "spilled_mw": "spilled", "capacity_mw": "capacity", "load_mw": "load", "idle_mw": "idle",
                 "stranded_mw": "stranded"}


def _decomposition(last: dict, curves: list[str], month: str) -> dict:
    """Per curve, one sample's own figures in the last month: the sample whose total demand is the median
    (the lower middle one for an even count). Unlike per-figure quantiles they add up:
    demand = within + late + unmet, and capacity = load + idle (load = within + late)."""
    if not last:
        return {}
    out = {}
    for i, curve in enumerate(curves):
        order = np.argsort(last["demand"][i], kind="stable")
        s = int(order[(len(order) - 1) // 2])
        figures = {name: float(last[total][i, s]) for name, total in DECOMPOSITION.items()}
        out[curve] = {"sample": s, "month": month, **figures}
    return out


def _congested(links: pd.DataFrame, top: int = 5) -> list[dict]:
    if links.empty:
        return []
    p50 = links[links["quantile"] == "p50"]
    peak = p50.groupby(["curve", "link_id"], as_index=False)["utilisation"].max()
    best = peak.sort_values("utilisation", ascending=False).groupby("curve").head(top)
    return [dict(link_id=r.link_id, curve=r.curve, utilisation_p50=float(r.utilisation)) for r in best.itertuples()]


def _worst(n1: pd.DataFrame, top: int = 5) -> list[dict]:
    if n1.empty:
        return []
    worst = n1.sort_values(["unmet_mw", "slo_share_lost"], ascending=False).groupby("curve").head(top)
    return [dict(failure=r.failure, curve=r.curve, month=r.month, unmet_mw=float(r.unmet_mw),
                 slo_share_lost=float(r.slo_share_lost)) for r in worst.itertuples()]


def headline(summary: dict, curves: list[str]) -> list[str]:
    """The five answers of DESIGN §1 in plain sentences."""
    curve = "base" if "base" in curves else curves[0]
    lines = []
    sats = [(k, v["saturation"][curve]["p50"]) for k, v in summary["new_zones"].items()]
    within = [f"{k} {m}" for k, m in sats if m != NOT_WITHIN]
    lines.append(f"Saturation ({curve}, P50): " + (", ".join(within) if within else "no new zone saturates")
                 + (f"; {len(sats) - len(within)} new zone(s) not within the horizon." if len(within) < len(sats) else "."))
    existing = summary.get("existing_regions_saturating", {}).get(curve, [])
    if existing:
        lines.append(f"Existing regions: {len(existing)} run above the ceiling within the horizon ({curve}, P50); "
                     "earliest " + ", ".join(f"{x['region_id']} {x['saturation_p50']} ({x['months_above_p50']} "
                                             "months above)" for x in existing[:5]) + ".")
    slo = summary["served_within_slo_share"][curve]
    text = (f"Latency: {100 * slo['p50']:.1f} % of demand served within {summary['slo_rtt_ms']:.0f} ms over the "
            f"horizon (P10-P90 {100 * slo['p10']:.1f}-{100 * slo['p90']:.1f} %)")
    last = summary.get("served_within_slo_share_last_month", {}).get(curve)
    if last:
        text += (f"; in {summary['horizon']['end']} alone {100 * last['p50']:.1f} % "
                 f"(P10-P90 {100 * last['p10']:.1f}-{100 * last['p90']:.1f} %)")
    lines.append(text + ".")
    links = [x for x in summary["most_congested_links"] if x["curve"] == curve][:3]
    mlu = summary["max_link_utilisation"][curve]
    lines.append(f"Links: peak utilisation P50 {100 * mlu['p50']:.0f} %; most congested "
                 + ", ".join(f"{x['link_id']} ({100 * x['utilisation_p50']:.0f} %)" for x in links) + ".")
    lines.append(f"Shortfall at the horizon end (P50): {summary['unmet_mw_p50'][curve]:,.0f} MW unmet, "
                 f"{summary['spilled_mw_p50'][curve]:,.0f} MW spilled to farther regions, "
                 f"{summary['stranded_mw_p50'][curve]:,.0f} MW stranded.")
    one = summary.get("decomposition_p50_sample", {}).get(curve)
    if one:
        lines.append(f"One sample's own figures at {one['month']} (the median-demand sample; they add up, P50s "
                     f"of parts do not): demand {one['demand_mw']:,.0f} MW = {one['within_slo_mw']:,.0f} within "
                     f"the SLO + {one['late_mw']:,.0f} late + {one['unmet_mw']:,.0f} unmet; capacity "
                     f"{one['capacity_mw']:,.0f} MW = {one['load_mw']:,.0f} load + {one['idle_mw']:,.0f} idle.")
    idle = summary.get("most_idle_regions", {}).get(curve, [])
    lines.append(f"Idle capacity ({curve}, P50): {summary['idle_mw_mean_p50'][curve]:,.0f} MW on average over the "
                 f"horizon, {summary['idle_mw_p50'][curve]:,.0f} MW at its end"
                 + ("; most idle " + ", ".join(f"{x['region_id']} {x['idle_mw_mean_p50']:,.0f} MW "
                                              f"({100 * x['idle_share']:.0f} % of its capacity)" for x in idle[:3])
                    if idle else "") + ".")
    worst = [x for x in summary["n_minus_1_worst"] if x["curve"] == curve][:1]
    if worst:
        w = worst[0]
        lines.append(f"Resilience: worst single failure {w['failure']} ({w['month']}): +{w['unmet_mw']:.0f} MW unmet, "
                     f"{100 * w['slo_share_lost']:.1f} points of on-time share lost.")
    return lines


def build_results(engine: Engine, state: RunState, backend: str, runtime_s: float, started_at: str) -> Results:
    """Tidy tables and the summary from a finished (or interrupted) run."""
    log, curves, world = state.log, engine.curves, engine.world
    tables = _footprint_tables(engine)
    if log.months:
        region_ids = [r.id for r in world.regions]
        tables["demand"] = _joined(log, [("demand_total", "demand_mw"), ("capacity_total", "capacity_mw")],
                                   [""], "", curves)
        tables["regions"] = _joined(log, [("region_capacity", "capacity_mw"), ("region_load", "load_mw"),
                                          ("region_util", "utilisation"), ("region_idle", "idle_mw"),
                                          ("region_stranded", "stranded_mw")],
                                    region_ids, "region_id", curves)
        tables["links"] = _joined(log, [("link_load", "load_gbps"), ("link_util", "utilisation"),
                                        ("link_delay", "queue_delay_ms")], world.arrays.link_ids, "link_id", curves)
        tables["markets"] = _joined(log, [("market_demand", "demand_mw"), ("market_within", "within_slo_mw"),
                                          ("market_late", "late_mw"), ("market_unmet", "unmet_mw"),
                                          ("market_spilled", "spilled_mw"), ("market_rtt", "rtt_ms"),
                                          ("market_share", "within_slo_share")],
                                    [m.id for m in world.markets], "market_id", curves)
    else:
        for name in ("demand", "regions", "links", "markets"):  # interrupted before the first month ended
            tables[name] = empty(name)
    tables["saturation"], tables["new_zones"], saturation = saturation_tables(engine, state)
    tables["n_minus_1"] = pd.DataFrame(state.n_minus_1_rows, columns=list(RUN_TABLES["n_minus_1"]))
    tables = {name: conform(name, tables[name]) for name in RUN_TABLES}
    summary = build_summary(engine, state, tables["links"], tables["n_minus_1"], saturation, backend, runtime_s)
    meta = {"seed": engine.seed, "samples": engine.samples, "backend": backend, "runtime_s": round(runtime_s, 3),
            "started_at": started_at, "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "interrupted": state.interrupted, "months_done": len(log.months), "versions": versions(),
            "scenario_source": engine.scenario.source, "wall_clock": time.strftime("%Y-%m-%d %H:%M:%S")}
    return Results(tables, summary, meta, dump_resolved(engine.scenario, engine.samples, engine.seed, backend),
                   engine.scenario)

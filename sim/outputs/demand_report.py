"""`infrasim demand`: the demand fans and the build plan alone, without the network.

Tables (demand.csv, supply.csv, spend.csv), the printed summary and the fan chart of a scenario's Monte
Carlo demand (:func:`sim.model.demand.demand_paths`) against its capacity plan (:mod:`sim.model.supply`).
The sites and markets are the scenario's world (:func:`sim.model.world.build_world`), as for every other
command: the catalogue's, or a GraphML file's.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from sim.config import month_range
from sim.model.demand import DemandPaths, demand_paths
from sim.model.supply import supply_plan
from sim.model.world import build_world
from sim.outputs.fanchart import plot_demand_fan

QUANTILES = {"p10": 10, "p50": 50, "p90": 90}  # percentiles over samples (p10 = lower)


def _quantile_rows(values: np.ndarray, curves: list[str], labels: list, key: str, value: str):
    """Rows {curve, label, quantile, value} from values [c, s, k]."""
    rows = []
    for q, pct in QUANTILES.items():
        table = np.percentile(values, pct, axis=1)  # [c, k]
        for c, curve in enumerate(curves):
            rows += [{"curve": curve, key: label, "quantile": q, value: float(v)}
                     for label, v in zip(labels, table[c])]
    return rows


def _tables(paths: DemandPaths, capacity: np.ndarray, region_ids: list[str]):
    """demand, supply and spend tables (pandas) of an ``infrasim demand`` run."""
    demand = []
    for j, market in enumerate(paths.market_ids + ["all"]):
        mw = paths.operator_total_mw() if market == "all" else paths.market_mw[..., j]
        part = pd.DataFrame(_quantile_rows(mw, paths.curves, paths.months, "month", "demand_mw"))
        demand.append(part.assign(market_id=market))
    demand = pd.concat(demand)[["curve", "month", "quantile", "market_id", "demand_mw"]]
    cap = np.broadcast_to(capacity, (len(paths.curves),) + capacity.shape[1:])
    supply = []
    for k, c in enumerate(paths.curves):
        frame = pd.DataFrame(cap[k], columns=region_ids)
        frame["all"] = cap[k].sum(axis=1, dtype=np.float64)
        frame["month"] = paths.months
        supply.append(frame.melt(id_vars="month", var_name="region_id", value_name="capacity_mw")
                      .assign(curve=c))
    supply = pd.concat(supply)[["curve", "month", "region_id", "capacity_mw"]]
    december = [t for t, m in enumerate(paths.months) if m.endswith("-12")] or [len(paths.months) - 1]
    spend = pd.DataFrame(_quantile_rows(paths.spend_usd, paths.curves, paths.years, "year", "spend_usd"))
    installed = _quantile_rows(paths.installed_mw[:, :, december], paths.curves,
                               [int(paths.months[t][:4]) for t in december], "year",
                               "industry_installed_mw")
    spend = spend.merge(pd.DataFrame(installed), on=["curve", "year", "quantile"], how="left")
    return demand, supply, spend


def spend_table_text(paths: DemandPaths, capacity_total: np.ndarray) -> str:
    """The printed summary: yearly spend P50 [P10-P90] per curve, then demand vs capacity each December."""
    spend_rows = []
    pct = np.percentile(paths.spend_usd / 1e9, [10, 50, 90], axis=1)  # [q, c, y]
    for y, year in enumerate(paths.years):
        spend_rows.append([year] + [f"{pct[1, c, y]:,.0f} [{pct[0, c, y]:,.0f}-{pct[2, c, y]:,.0f}]"
                                    for c in range(len(paths.curves))])
    text = "Industry AI spend, US$ bn per year: P50 [P10-P90]\n"
    text += tabulate(spend_rows, headers=["year"] + paths.curves, tablefmt="simple")
    total = np.percentile(paths.operator_total_mw(), 50, axis=1)  # [c, t]
    cap = np.broadcast_to(np.atleast_2d(capacity_total), total.shape)
    rows = [[m] + [f"{total[c, t]:,.0f} / {cap[c, t]:,.0f}" for c in range(len(paths.curves))]
            for t, m in enumerate(paths.months) if m.endswith("-12")]
    text += "\n\nOperator AI demand P50 / capacity, MW of IT load (December)\n"
    text += tabulate(rows, headers=["month"] + paths.curves, tablefmt="simple")
    return text


def write_demand_outputs(scenario, out_dir: Path, samples: int, seed: int) -> str:
    """``infrasim demand``: writes demand.csv, supply.csv, spend.csv and demand_fan.png to ``out_dir``.

    demand.csv: curve, month, quantile, market_id ('all' = every market, quantiles of the total),
    demand_mw. supply.csv: curve, month, region_id ('all' = total), capacity_mw. spend.csv: curve,
    year, quantile, spend_usd, industry_installed_mw (December). Returns the printed table text.
    """
    world = build_world(scenario)
    months = month_range(scenario.horizon.start, scenario.horizon.end)
    paths = demand_paths(scenario.demand, world.markets, months, samples, seed)
    market_region = np.argmin(world.market_region_km, axis=1)  # as the engine: each market's nearest site
    capacity = supply_plan(scenario.supply, world.regions, months, paths, market_region, world.expansions)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    demand, supply, spend = _tables(paths, capacity, [r.id for r in world.regions])
    demand.to_csv(out_dir / "demand.csv", index=False, float_format="%.6g")
    supply.to_csv(out_dir / "supply.csv", index=False, float_format="%.6g")
    spend.to_csv(out_dir / "spend.csv", index=False, float_format="%.6g")
    capacity_total = capacity.sum(axis=2, dtype=np.float64)
    plot_demand_fan(paths, capacity_total, out_dir / "demand_fan.png",
                    f"{scenario.name}: demand fan ({samples} samples, seed {seed})",
                    getattr(getattr(scenario, "analysis", None), "utilisation_ceiling", 0.85))
    return spend_table_text(paths, capacity_total)

"""A small synthetic run folder in exactly the run-folder format (docs/ARCHITECTURE.md, "Run folder").

The presentation layer (sim.outputs.plots, sim.outputs.report) is tested against this folder, so it must look like
a real run: the packaged Alibaba catalogue (29 existing regions + the announced new sites), the packaged
markets, a sparse backbone of ~45 links named ``a~b`` (one crosses the antimeridian), months
2025-01..2030-12, curves bear/base/bull and quantiles p10/p50/p90. The numbers are made up with a tiny
closed-form model (exponential demand with a lognormal fan, stepwise capacity); they are not the engine's
results and are never used as such. Deterministic for a given ``seed``.

Use: ``python tests/fixtures_run.py OUT_DIR`` or ``write_run_folder(path)``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.outputs.schema import QUANTILE_NOTE, conform

DATA = Path(__file__).resolve().parents[1] / "sim" / "data"
CURVES = {"bear": 0.15, "base": 0.241, "bull": 0.35}  # yearly demand growth of the toy model
QUANTILES = {"p10": -1.2816, "p50": 0.0, "p90": 1.2816}  # standard-normal z of each percentile
SIGMA = 0.15  # lognormal shock per year, as DESIGN §5
START, END = "2025-01", "2030-12"
MONTHS = list(pd.period_range(START, END, freq="M").astype(str))
HORIZON = "not within horizon"
CORRIDORS = [("us-west-1", "ap-northeast-1"), ("us-west-1", "cn-hongkong"), ("us-east-1", "eu-west-1"),
             ("ap-southeast-1", "me-east-1"), ("me-east-1", "eu-central-1"), ("sa-east-1", "us-east-1"),
             ("sa-east-1", "eu-west-2"), ("na-south-1", "us-east-1"), ("ap-southeast-1", "cn-hongkong"),
             ("eu-central-1", "cn-beijing"), ("us-west-1", "ap-southeast-1")]


def _catalogue() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regions (existing + new of kind 'region') and new sites (both kinds) from the packaged data."""
    cat = pd.read_csv(DATA / "alibaba_regions.csv", dtype={"opens": str})
    cat = cat[cat.status.isin(["existing", "new"])].copy()
    cat["capacity_mw"] = cat.zones * 30.0  # 30 MW per zone, DESIGN §3 (assumption)
    regions = cat[cat.kind == "region"].reset_index(drop=True)
    new = cat[cat.status == "new"].reset_index(drop=True)
    return regions, new


def _haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl, dp = np.radians(lon2 - lon1), p2 - p1
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def _links(regions: pd.DataFrame) -> pd.DataFrame:
    """Each region to its two nearest neighbours, plus the intercontinental corridors."""
    lat, lon = regions.lat.to_numpy(), regions.lon.to_numpy()
    dist = _haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    np.fill_diagonal(dist, np.inf)
    dist[dist < 1.0] = np.inf  # co-located sites share a campus, not a link
    ids = list(regions.region_id)
    pairs = {tuple(sorted((ids[i], ids[j]))) for i in range(len(ids)) for j in np.argsort(dist[i])[:2]}
    pairs |= {tuple(sorted(p)) for p in CORRIDORS}
    rows = []
    for a, b in sorted(pairs):
        i, j = ids.index(a), ids.index(b)
        km = float(_haversine_km(lat[i], lon[i], lat[j], lon[j]))
        kind = "submarine" if (a, b) in {tuple(sorted(p)) for p in CORRIDORS} else "terrestrial"
        rows.append({"link_id": f"{a}~{b}", "a": a, "b": b, "kind": kind,
                     "systems": "Synthetic Cable" if kind == "submarine" else "synthetic route",
                     "corridors": "synthetic corridor" if kind == "submarine" else "",
                     "length_km": round(km * (1.5 if kind == "submarine" else 1.3), 1),
                     "capacity_gbps": 3200.0 if kind == "submarine" else 1600.0})
    return pd.DataFrame(rows)


def _fan(growth: float, months: int, z: float) -> np.ndarray:
    """Multiplier on the 2025-01 level after t months: exp(g t) shocked by sigma sqrt(t) z."""
    t_years = np.arange(months) / 12.0
    return np.exp(np.log1p(growth) * t_years + SIGMA * np.sqrt(t_years) * z)


def _capacity(regions: pd.DataFrame, new: pd.DataFrame) -> np.ndarray:
    """capacity_mw[region, month]: opening dates, added zones on their parent region from their opening
    month, then +60 % delivered in 2027-07 (toy build plan)."""
    cap = np.repeat(regions.capacity_mw.to_numpy()[:, None], len(MONTHS), axis=1)
    for i, opens in enumerate(regions.opens):
        if isinstance(opens, str) and opens in MONTHS:
            cap[i, : MONTHS.index(opens)] = 0.0
    ids = list(regions.region_id)
    for site in new[new.kind == "zones"].itertuples():
        cap[ids.index(site.region_id.split("+")[0]), MONTHS.index(site.opens):] += site.capacity_mw
    cap[:, MONTHS.index("2027-07"):] *= 1.6
    return cap


def _region_rows(regions, cap, rng) -> pd.DataFrame:
    share = rng.uniform(0.4, 0.8, len(regions))
    local = rng.uniform(0.3, 1.0, len(regions))  # regional growth as a fraction of the curve's
    frames = []
    for curve, g in CURVES.items():
        for q, z in QUANTILES.items():
            paths = np.stack([_fan(g * f, len(MONTHS), z) for f in local])
            first = np.where(cap > 0, cap, np.inf).min(axis=1, keepdims=True)  # capacity on opening
            load = np.minimum(np.where(cap > 0, first * share[:, None] * paths, 0.0), cap)
            util = np.divide(load, cap, out=np.zeros_like(load), where=cap > 0)
            frames.append(pd.DataFrame({
                "curve": curve, "month": np.tile(MONTHS, len(regions)), "quantile": q,
                "region_id": np.repeat(regions.region_id.to_numpy(), len(MONTHS)),
                "capacity_mw": cap.ravel(), "load_mw": load.ravel().round(3),
                "utilisation": util.ravel().round(4), "idle_mw": (cap - load).ravel().round(3),
                "stranded_mw": (cap - load).ravel().round(3) * 0.2}))
    return pd.concat(frames, ignore_index=True)


def _demand_rows(cap) -> pd.DataFrame:
    total0 = cap[:, 0].sum() * 0.62
    rows = [{"curve": c, "month": m, "quantile": q, "demand_mw": round(total0 * f, 2),
             "capacity_mw": round(cap[:, k].sum(), 2)}
            for c, g in CURVES.items() for q, z in QUANTILES.items()
            for k, (m, f) in enumerate(zip(MONTHS, _fan(g, len(MONTHS), z)))]
    return pd.DataFrame(rows)


def _link_rows(links, rng) -> pd.DataFrame:
    base = rng.uniform(0.05, 0.3, len(links))
    frames = []
    for curve, g in CURVES.items():
        for q, z in QUANTILES.items():
            util = base[:, None] * _fan(g, len(MONTHS), z)[None, :] * 0.8
            mu_pkts = links.capacity_gbps.to_numpy()[:, None] * 1e9 / (8 * 1000)  # 1000-byte packets
            with np.errstate(divide="ignore"):
                wait_ms = np.where(util < 1, util / (mu_pkts * (1 - util)) * 1e3, np.inf)
            frames.append(pd.DataFrame({
                "curve": curve, "month": np.tile(MONTHS, len(links)), "quantile": q,
                "link_id": np.repeat(links.link_id.to_numpy(), len(MONTHS)),
                "load_gbps": (util * links.capacity_gbps.to_numpy()[:, None]).ravel().round(2),
                "utilisation": util.ravel().round(4), "queue_delay_ms": wait_ms.ravel()}))
    return pd.concat(frames, ignore_index=True)


def _market_rows(markets, demand, rng) -> pd.DataFrame:
    rtt0 = rng.uniform(8, 170, len(markets))
    closer = rng.uniform(0.0, 0.35, len(markets)) * (rng.random(len(markets)) < 0.3)  # new sites nearby
    t = np.linspace(0.0, 1.0, len(MONTHS))
    frames = []
    for curve, g in CURVES.items():
        for q, z in QUANTILES.items():
            total = demand[(demand.curve == curve) & (demand["quantile"] == q)].demand_mw.to_numpy()
            dem = markets.weight.to_numpy()[:, None] * total[None, :]
            rtt = rtt0[:, None] * (1 + 0.1 * z) * (1 - closer[:, None] * t[None, :])
            inside = np.clip(1.05 - rtt / 200 - 0.5 * g * t[None, :] - 0.03 * z, 0, 1)
            unmet = dem * np.clip(t * (0.3 * g + 0.04 * z), 0, 1)[None, :]
            within = (dem - unmet) * inside
            spilled = (dem - unmet) * np.clip(0.1 + 0.2 * t * g, 0, 1)[None, :]
            frames.append(pd.DataFrame({
                "curve": curve, "month": np.tile(MONTHS, len(markets)), "quantile": q,
                "market_id": np.repeat(markets.market_id.to_numpy(), len(MONTHS)),
                "demand_mw": dem.ravel().round(3), "within_slo_mw": within.ravel().round(3),
                "late_mw": (dem - unmet - within).ravel().round(3), "unmet_mw": unmet.ravel().round(3),
                "spilled_mw": spilled.ravel().round(3),
                "rtt_ms": rtt.ravel().round(2),
                "within_slo_share": np.divide(within, dem, out=np.zeros_like(dem), where=dem > 0)
                .ravel().round(4)}))
    return pd.concat(frames, ignore_index=True)


def _saturation(opens: str, k: int, curve: str) -> dict[str, str]:
    """P10 <= P50 <= P90 saturation months; late sites in the bear curve never saturate."""
    shift = {"bear": 34, "base": 16, "bull": 8}[curve] + 3 * k
    first = MONTHS.index(opens) if opens in MONTHS else 0
    out = {}
    for q, spread in (("p10", -6), ("p50", 0), ("p90", 9)):
        idx = first + shift + spread
        out[q] = MONTHS[idx] if 0 <= idx < len(MONTHS) else HORIZON
    return out


def _parent(site_id: str) -> str:
    """The region a site belongs to: zones added to a region are ``PARENT+YEAR`` in the catalogue."""
    return site_id.split("+")[0]


def _new_zone_rows(new) -> pd.DataFrame:
    rows = []
    for k, r in new.iterrows():
        for curve in CURVES:
            sat = _saturation(r.opens, k, curve)
            within = [q for q in ("p90", "p50", "p10") if sat[q] != HORIZON]
            share = {"p90": 0.95, "p50": 0.6, "p10": 0.2}[within[0]] if within else 0.02
            above = {q: 0 if sat[q] == HORIZON else len(MONTHS) - MONTHS.index(sat[q]) for q in QUANTILES}
            rows.append({"region_id": _parent(r.region_id), "site": r.region_id, "city": r.city,
                         "country": r.country, "kind": r.kind, "status": "new",
                         "opens": r.opens, "curve": curve, "saturation_p10": sat["p10"],
                         "saturation_p50": sat["p50"], "saturation_p90": sat["p90"],
                         "share_saturated": share, "months_above_p10": above["p90"],
                         "months_above_p50": above["p50"], "months_above_p90": above["p10"],
                         "idle_mw_mean_p50": round(r.capacity_mw * (0.3 + 0.05 * k), 3)})
    return pd.DataFrame(rows)


def _saturation_rows(regions: pd.DataFrame, region_rows: pd.DataFrame, new_rows: pd.DataFrame) -> pd.DataFrame:
    """Existing regions from their utilisation quantile paths (the P90 path saturates first, so it gives
    the P10 month), then the new sites' rows."""
    paths = {key: part for key, part in region_rows.groupby(["region_id", "curve", "quantile"])}
    rows = []
    for r in regions[regions.status == "existing"].itertuples():
        for curve in CURVES:
            row = {"region_id": r.region_id, "site": r.region_id, "city": r.city, "country": r.country,
                   "kind": "region", "status": "existing", "opens": "", "curve": curve}
            for q, path in (("p10", "p90"), ("p50", "p50"), ("p90", "p10")):
                over = np.flatnonzero(paths[(r.region_id, curve, path)].utilisation.to_numpy() > 0.85)
                row[f"saturation_{q}"] = MONTHS[over[0]] if over.size else HORIZON
                row[f"months_above_{path}"] = int(over.size)
            row["share_saturated"] = {True: 0.95, False: 0.05}[row["saturation_p50"] != HORIZON]
            row["idle_mw_mean_p50"] = float(paths[(r.region_id, curve, "p50")].idle_mw.mean())
            rows.append(row)
    return pd.concat([pd.DataFrame(rows), new_rows], ignore_index=True)


def _n1_rows(regions, links, rng) -> pd.DataFrame:
    rows = []
    failures = [(f, "link") for f in links.link_id] + [(r, "region") for r in regions.region_id]
    for curve, scale in (("bear", 0.6), ("base", 1.0), ("bull", 1.5)):
        for month in ("2027-12", "2030-12"):
            for f, kind in failures:
                unmet = rng.gamma(0.6, 40.0) * scale * (3 if kind == "region" else 1)
                rows.append({"curve": curve, "month": month, "failure": f, "failure_kind": kind,
                             "unmet_mw": round(unmet, 2),
                             "slo_share_lost": round(min(unmet / 2500.0, 1.0), 4),
                             "max_link_utilisation": round(rng.uniform(0.5, 1.3), 3),
                             "most_loaded_link": links.link_id.iloc[rng.integers(len(links))]})
    return pd.DataFrame(rows)


def _q(series: pd.Series) -> dict[str, float]:
    return {q: float(v) for q, v in series.items()}


def _one_sample(markets: pd.DataFrame, regions: pd.DataFrame, curve: str, month: str) -> dict:
    """A made-up sample's own figures at ``month`` that add up, from the P50 rows (as a real one does)."""
    def p50_sum(frame: pd.DataFrame) -> pd.Series:
        rows = frame[(frame.curve == curve) & (frame["quantile"] == "p50") & (frame.month == month)]
        return rows.sum(numeric_only=True)

    mk, rg = p50_sum(markets), p50_sum(regions)
    load = float(mk.within_slo_mw + mk.late_mw)
    return {"sample": 31, "month": month, "demand_mw": float(mk.within_slo_mw + mk.late_mw + mk.unmet_mw),
            "within_slo_mw": float(mk.within_slo_mw), "late_mw": float(mk.late_mw),
            "unmet_mw": float(mk.unmet_mw), "spilled_mw": float(mk.spilled_mw),
            "capacity_mw": float(rg.capacity_mw), "load_mw": load,
            "idle_mw": float(rg.capacity_mw) - load, "stranded_mw": float(rg.stranded_mw)}


def _summary(tables: dict[str, pd.DataFrame], new: pd.DataFrame) -> dict:
    """summary.json consistent with the tables (as the engine's would be)."""
    end = MONTHS[-1]
    mk, lk, rg, n1 = tables["markets"], tables["links"], tables["regions"], tables["n_minus_1"]
    slo = mk.groupby(["curve", "quantile"])[["within_slo_mw", "demand_mw"]].sum()
    slo = (slo.within_slo_mw / slo.demand_mw)
    at_end = mk[mk.month == end]
    slo_end = at_end.groupby(["curve", "quantile"])[["within_slo_mw", "demand_mw"]].sum()
    slo_end = slo_end.within_slo_mw / slo_end.demand_mw
    peak = lk.groupby(["curve", "quantile"]).utilisation.max()
    p50_links = lk[lk["quantile"] == "p50"].groupby(["curve", "link_id"]).utilisation.max()
    top = p50_links.sort_values(ascending=False).head(5)
    worst = n1.sort_values("unmet_mw", ascending=False).head(5)
    nz = tables["new_zones"]
    spend = {str(2025 + k): 400e9 * 1.241 ** k for k in range(6)}
    return {
        "industry_spend_usd_by_year": spend,
        "new_zones": {_parent(r.region_id): {"city": r.city, "country": r.country, "kind": r.kind, "opens": r.opens,
                                    "saturation": {row.curve: {"p10": row.saturation_p10,
                                                               "p50": row.saturation_p50,
                                                               "p90": row.saturation_p90}
                                                   for row in nz[nz.site == r.region_id].itertuples()}}
                      for r in new.itertuples()},
        "served_within_slo_share": {c: _q(slo[c]) for c in CURVES},
        "served_within_slo_share_last_month": {c: _q(slo_end[c]) for c in CURVES},
        "decomposition_p50_sample": {c: _one_sample(mk, rg, c, end) for c in CURVES},
        "quantile_note": QUANTILE_NOTE,
        "unmet_mw_p50": {c: float(at_end[(at_end.curve == c) & (at_end["quantile"] == "p50")].unmet_mw.sum())
                         for c in CURVES},
        "max_link_utilisation": {c: _q(peak[c]) for c in CURVES},
        "most_congested_links": [{"link_id": lid, "curve": c, "utilisation_p50": float(u)}
                                 for (c, lid), u in top.items()],
        "n_minus_1_worst": [{"failure": r.failure, "curve": r.curve, "month": r.month,
                             "unmet_mw": float(r.unmet_mw), "slo_share_lost": float(r.slo_share_lost)}
                            for r in worst.itertuples()],
        "stranded_mw_p50": {c: float(rg[(rg.curve == c) & (rg["quantile"] == "p50") & (rg.month == end)]
                                     .stranded_mw.sum()) for c in CURVES},
        "idle_mw_p50": {c: float(rg[(rg.curve == c) & (rg["quantile"] == "p50") & (rg.month == end)].idle_mw.sum())
                        for c in CURVES},
        "idle_mw_mean_p50": {c: float(rg[(rg.curve == c) & (rg["quantile"] == "p50")].groupby("month").idle_mw.sum()
                                      .mean()) for c in CURVES},
        "spilled_mw_p50": {c: float(at_end[(at_end.curve == c) & (at_end["quantile"] == "p50")].spilled_mw.sum())
                           for c in CURVES},
        "backend": "numpy", "samples": 64, "seed": 2025, "runtime_s": 12.5,
        "scenario_name": "synthetic-fixture", "horizon": {"start": START, "end": END},
        "headline": ["Synthetic fixture run: the figures are made up for testing the report."],
    }


SCENARIO_YAML = """\
name: synthetic-fixture
description: Synthetic run folder for testing the presentation layer.
horizon: {start: 2025-01, end: 2030-12}
samples: 64
seed: 2025
analysis:
  utilisation_ceiling: 0.85
  slo_rtt_ms: 100.0
  n_minus_1: true
"""


def write_run_folder(out_dir: Path, seed: int = 0) -> Path:
    """Write every run-folder file into ``out_dir`` (created) and return it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    regions, new = _catalogue()
    links = _links(regions)
    markets = pd.read_csv(DATA / "markets.csv")
    cap = _capacity(regions, new)
    demand = _demand_rows(cap)
    tables = {
        "footprint_regions": regions[["region_id", "city", "country", "lat", "lon", "zones", "status",
                                      "opens", "capacity_mw"]],
        "footprint_links": links, "footprint_markets": markets, "demand": demand,
        "regions": _region_rows(regions, cap, rng), "links": _link_rows(links, rng),
        "markets": _market_rows(markets, demand, rng), "new_zones": _new_zone_rows(new),
        "n_minus_1": _n1_rows(regions, links, rng),
    }
    tables["saturation"] = _saturation_rows(regions, tables["regions"], tables["new_zones"])
    for name, frame in tables.items():
        conform(name, frame).to_csv(out_dir / f"{name}.csv", index=False)
    (out_dir / "summary.json").write_text(json.dumps(_summary(tables, new), indent=2))
    (out_dir / "scenario.yaml").write_text(SCENARIO_YAML)
    meta = {"seed": 2025, "samples": 64, "backend": "numpy", "runtime_s": 12.5,
            "started_at": "2025-11-26T11:00:00+00:00",
            "versions": {"infrasim": "0.1.0", "numpy": np.__version__, "pandas": pd.__version__}}
    (out_dir / "run.json").write_text(json.dumps(meta, indent=2))
    return out_dir


if __name__ == "__main__":
    print(write_run_folder(Path(sys.argv[1] if len(sys.argv) > 1 else "synthetic_run")))

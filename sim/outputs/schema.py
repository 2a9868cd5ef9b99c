"""The run folder's tables: their names and columns, defined once.

Every CSV of a run folder (docs/ARCHITECTURE.md, "Run folder") is listed here with its columns in order.
The tables are built to this schema (:mod:`sim.outputs.tables`), read and checked against it
(:mod:`sim.outputs.report`), and the synthetic run folder of the tests is written from it, so a column
added here is added everywhere: append it to its table's tuple, then fill it where the table is built.

Quantile tables (a ``quantile`` column) hold each column's own percentile over the samples, so their
columns do not add up (:data:`QUANTILE_NOTE`, shown in the report and summary.json).
"""
from __future__ import annotations

import pandas as pd

RUN_TABLES: dict[str, tuple[str, ...]] = {
    "footprint_regions": ("region_id", "city", "country", "lat", "lon", "zones", "status", "opens",
                          "capacity_mw"),
    "footprint_links": ("link_id", "a", "b", "kind", "systems", "corridors", "length_km", "capacity_gbps"),
    "footprint_markets": ("market_id", "name", "bloc", "lat", "lon", "weight"),
    "demand": ("curve", "month", "quantile", "demand_mw", "capacity_mw"),
    "regions": ("curve", "month", "quantile", "region_id", "capacity_mw", "load_mw", "utilisation",
                "idle_mw", "stranded_mw"),
    "links": ("curve", "month", "quantile", "link_id", "load_gbps", "utilisation", "queue_delay_ms"),
    "markets": ("curve", "month", "quantile", "market_id", "demand_mw", "within_slo_mw", "late_mw",
                "unmet_mw", "spilled_mw", "rtt_ms", "within_slo_share"),
    "saturation": ("region_id", "site", "city", "country", "kind", "status", "opens", "curve",
                   "saturation_p10", "saturation_p50", "saturation_p90", "share_saturated",
                   "months_above_p10", "months_above_p50", "months_above_p90", "idle_mw_mean_p50"),
    "new_zones": ("region_id", "site", "city", "country", "kind", "status", "opens", "curve",
                  "saturation_p10", "saturation_p50", "saturation_p90", "share_saturated",
                  "months_above_p10", "months_above_p50", "months_above_p90", "idle_mw_mean_p50"),
    "n_minus_1": ("curve", "month", "failure", "failure_kind", "unmet_mw", "slo_share_lost",
                  "max_link_utilisation", "most_loaded_link"),
}
TABLES: tuple[str, ...] = tuple(RUN_TABLES)

QUANTILE_NOTE = ("Rows with a quantile (p10 / p50 / p90) hold each column's own percentile over the samples: "
                 "percentiles of parts do not add up to the percentile of their sum (P50 within + P50 late + "
                 "P50 unmet is not P50 demand). Figures that add up are one sample's own: summary.json "
                 "decomposition_p50_sample.")

# Columns read back as text (identifiers, months, labels), never as numbers or NaN.
TEXT_COLUMNS = frozenset({"month", "curve", "quantile", "region_id", "site", "link_id", "market_id",
                          "failure", "failure_kind", "opens", "kind", "status", "saturation_p10",
                          "saturation_p50", "saturation_p90", "a", "b", "most_loaded_link", "systems",
                          "corridors"})


def empty(name: str) -> pd.DataFrame:
    """A table of the run folder with its columns and no rows."""
    return pd.DataFrame(columns=list(RUN_TABLES[name]))


def conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly the schema's columns, in the schema's order.

    A column the schema names but the frame lacks, or one the frame has but the schema does not name,
    is a programming error (the schema and the code that builds the table disagree): ValueError.
    """
    columns = RUN_TABLES[name]
    missing = [c for c in columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in columns]
    if missing or extra:
        raise ValueError(f"{name}: columns disagree with sim.outputs.schema (missing {missing}, extra {extra})")
    return frame[list(columns)]

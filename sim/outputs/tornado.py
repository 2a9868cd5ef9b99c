"""Tornado chart of a sweep: which varied key moves the new zones' saturation most.

The outcome is the mean over new zones of the base-curve P50 saturation month, in months after the
horizon start (a zone not saturated within the horizon counts as the month after its end; see
:func:`sim.sweep.headline`). For each varied key the bar spans the lowest to the highest outcome over
that key's values:

* one-at-a-time (preferred): among the variants where every *other* key holds its baseline value
  (the first value given to its ``--vary``), the outcome for each value of this key. In a grid sweep
  these always exist, so put the base case first in each ``--vary``.
* marginal mean (fallback, e.g. ``--zip`` sweeps, or when the baseline variants failed): for each
  value of this key, the mean outcome over every successful variant with that value. In a zip sweep
  every key moves together, so all keys get the same bar: a zip sweep cannot separate their effects.

Keys with a single value, or fewer than two values with an outcome, get no bar. Output:
``tornado.csv`` (key, method, low/high outcome and the values giving them) and ``tornado.png``.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

OUTCOME = "new_zone_saturation_p50_months_mean"
USABLE = ("ok", "skipped-as-done")


def _key_effect(ok: pd.DataFrame, keys: list[str], key: str, baseline: dict[str, str]) -> dict | None:
    """Low/high outcome over ``key``'s values, one-at-a-time when possible, else marginal means."""
    others = [k for k in keys if k != key]
    mask = pd.Series(True, index=ok.index)
    for other in others:
        mask &= ok[other].astype(str) == baseline[other]
    method, by_value = "one-at-a-time", ok[mask].groupby(ok[mask][key].astype(str), sort=False)[OUTCOME].mean()
    if len(by_value) < 2:
        method, by_value = "marginal mean", ok.groupby(ok[key].astype(str), sort=False)[OUTCOME].mean()
    if len(by_value) < 2:
        return None
    low_value, high_value = by_value.idxmin(), by_value.idxmax()
    return {"key": key, "method": method, "low_months": float(by_value.min()), "high_months": float(by_value.max()),
            "range_months": float(by_value.max() - by_value.min()), "value_at_low": low_value,
            "value_at_high": high_value, "n_values": int(len(by_value))}


def tornado_table(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per varied key with a measurable effect, largest range first."""
    columns = ["key", "method", "low_months", "high_months", "range_months", "value_at_low", "value_at_high",
               "n_values"]
    if table.empty or OUTCOME not in table.columns:
        return pd.DataFrame(columns=columns)
    baseline = {k: str(table.iloc[0][k]) for k in keys}
    ok = table[table["status"].isin(USABLE) & table[OUTCOME].map(lambda x: isinstance(x, float) and math.isfinite(x))]
    rows = [effect for key in keys if (effect := _key_effect(ok, keys, key, baseline))]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("range_months", ascending=False, kind="stable").reset_index(drop=True)


def baseline_outcome(table: pd.DataFrame) -> float | None:
    """The outcome of the baseline variant (first row), when it succeeded."""
    if table.empty or OUTCOME not in table.columns or table.iloc[0]["status"] not in USABLE:
        return None
    value = table.iloc[0][OUTCOME]
    return float(value) if isinstance(value, float) and math.isfinite(value) else None


def _label(value: str) -> str:
    """Compact value text: 35000000.0 -> 3.5e+07, 0.85 stays 0.85, text as is."""
    try:
        return f"{float(value):g}"
    except ValueError:
        return value


def plot_tornado(effects: pd.DataFrame, baseline: float | None, mode: str, censor_months: float | None = None):
    """A matplotlib Figure: one horizontal bar per key, widest on top, each end labelled with its value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = effects.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8.5, 1.3 + 0.6 * len(rows)), constrained_layout=True)
    y = range(len(rows))
    ax.barh(list(y), rows["range_months"], left=rows["low_months"], height=0.55, color="#4C72B0")
    ax.scatter(rows["low_months"], list(y), marker="|", s=300, color="#4C72B0")  # a flat key still shows
    span = max(1.0, float(effects["high_months"].max() - effects["low_months"].min()))
    for i, (_, row) in enumerate(rows.iterrows()):
        ax.text(row.low_months - 0.01 * span, i, _label(row.value_at_low), ha="right", va="center", fontsize=8)
        ax.text(row.high_months + 0.01 * span, i, _label(row.value_at_high), ha="left", va="center", fontsize=8)
    labels = [f"{r.key}" + ("" if r.method == "one-at-a-time" else " (marginal)") for r in rows.itertuples()]
    ax.set_yticks(list(y), labels)
    if baseline is not None:
        ax.axvline(baseline, color="black", lw=1, ls="--", label="baseline variant (first values)")
        ax.legend(loc="best", fontsize=8)
    if censor_months is not None and censor_months <= float(effects["high_months"].max()) + 0.18 * span:
        ax.axvline(censor_months, color="grey", lw=1, ls=":", label="not saturated within the horizon")
        ax.legend(loc="best", fontsize=8)
    ax.set_xlim(effects["low_months"].min() - 0.18 * span, effects["high_months"].max() + 0.18 * span)
    ax.set_xlabel("mean new-zone P50 saturation, months after horizon start (base curve)")
    title = "What moves the new zones' saturation most"
    ax.set_title(title + (" (zip sweep: keys move together)" if mode == "zip" else ""), fontsize=10)
    return fig


def write_tornado(table: pd.DataFrame, keys: list[str], out_dir: Path, mode: str = "grid") -> Path | None:
    """Write tornado.csv and tornado.png into ``out_dir``; the PNG path, or None when nothing to plot."""
    import matplotlib.pyplot as plt

    effects = tornado_table(table, keys)
    effects.to_csv(Path(out_dir) / "tornado.csv", index=False)
    png = Path(out_dir) / "tornado.png"
    if effects.empty:
        png.unlink(missing_ok=True)
        return None
    horizons = table.get("horizon_months", pd.Series(dtype=float)).dropna()
    censor = float(horizons.max()) if len(horizons) else None  # the month after the horizon, counted from 0
    fig = plot_tornado(effects, baseline_outcome(table), mode, censor)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png

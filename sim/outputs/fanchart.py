"""The demand fan chart: industry spend and the operator's demand against its capacity.

Two panels for a planning deck. Left: industry AI spend per year (US$ bn) for each curve, P50 line
and P10-P90 band. Right: the operator's AI demand (MW of IT load, all markets) by month for each curve,
P50 line and P10-P90 band, with the capacity plan as a black step line (one per curve when the plan
depends on the curve). Bands are percentiles over Monte Carlo samples (P10 = 10th percentile).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

CURVE_COLOURS = {"bear": "#2c7fb8", "base": "#f28e2b", "bull": "#d62728"}
FALLBACK_COLOURS = ("#59a14f", "#af7aa1", "#76b7b2", "#edc948", "#9c755f")


def _colour(name: str, k: int) -> str:
    return CURVE_COLOURS.get(name, FALLBACK_COLOURS[k % len(FALLBACK_COLOURS)])


def _month_axis(months: list[str]) -> np.ndarray:
    """Months as fractional years, the middle of each month (2025-01 -> 2025.04)."""
    return np.array([int(m[:4]) + (int(m[5:7]) - 0.5) / 12.0 for m in months])


def plot_demand_fan(paths, capacity_mw: np.ndarray, out_png: Path, title: str = "",
                    ceiling: float | None = 0.85) -> Path:
    """Draw the fan chart to ``out_png``. ``capacity_mw`` is the total capacity ``[c or 1, t]``;
    ``ceiling`` (utilisation ceiling, DESIGN §1 default 0.85) adds a dotted line at that share of it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (ax_spend, ax_mw) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1, 1.5]})
    years = np.array(paths.years)
    x = _month_axis(paths.months)
    total = paths.operator_total_mw()
    for k, name in enumerate(paths.curves):
        colour = _colour(name, k)
        p10, p50, p90 = np.percentile(paths.spend_usd[k] / 1e9, [10, 50, 90], axis=0)
        ax_spend.fill_between(years, p10, p90, color=colour, alpha=0.18, linewidth=0)
        ax_spend.plot(years, p50, color=colour, marker="o", markersize=3.5, label=f"{name} P50")
        q10, q50, q90 = np.percentile(total[k], [10, 50, 90], axis=0)
        ax_mw.fill_between(x, q10, q90, color=colour, alpha=0.18, linewidth=0)
        ax_mw.plot(x, q50, color=colour, linewidth=2, label=f"{name}: P50 demand")
    _draw_capacity(ax_mw, x, capacity_mw, paths.curves, ceiling)
    ax_spend.set_title("Industry AI spend")
    ax_spend.set_xlabel("Year")
    ax_spend.set_ylabel("US$ bn per year")
    ax_spend.set_xticks(years)
    ax_spend.set_ylim(bottom=0)
    ax_spend.legend(loc="upper left", frameon=False, fontsize=9)
    ax_mw.set_title("Operator AI demand vs capacity (all markets)")
    ax_mw.set_xlabel("Year")
    ax_mw.set_ylabel("MW of IT load")
    ax_mw.set_xticks(years)
    ax_mw.set_ylim(bottom=0)
    ax_mw.set_xlim(x[0] - 1 / 24, x[-1] + 1 / 24)
    ax_mw.legend(loc="upper left", frameon=False, fontsize=9)
    for ax in (ax_spend, ax_mw):
        ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title or "Demand fan: P50 lines, shaded P10-P90", fontsize=12)
    fig.text(0.99, 0.01, "Bands: 10th-90th percentile over Monte Carlo samples", ha="right",
             fontsize=8, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    out_png = Path(out_png)
    fig.savefig(out_png, dpi=130)
    plt.close(fig)
    return out_png


def _draw_capacity(ax, x: np.ndarray, capacity_mw: np.ndarray, curves: list[str],
                   ceiling: float | None) -> None:
    capacity_mw = np.atleast_2d(capacity_mw)
    if capacity_mw.shape[0] == 1 or np.allclose(capacity_mw, capacity_mw[:1]):
        ax.step(x, capacity_mw[0], where="mid", color="black", linewidth=2.2, label="capacity (plan)")
        if ceiling:
            ax.step(x, ceiling * capacity_mw[0], where="mid", color="0.35", linestyle=":",
                    linewidth=1.6, label=f"{ceiling:.0%} of capacity (saturation)")
        return
    for k, name in enumerate(curves):
        ax.step(x, capacity_mw[k], where="mid", color=_colour(name, k), linestyle="--", linewidth=1.6,
                label=f"{name}: capacity")

"""Figures of the planning commands, drawn from their tables alone (like every figure of a run folder).

- :func:`plot_advise_map`: where to build next: the footprint, every candidate of the first greedy step
  coloured by its expected gain within the SLO, and the picks numbered in order.
- :func:`plot_support_agents`: agents on duty per support centre by hour of the day (UTC), on a weekday
  and on a Sunday of the reference week, in the horizon's last year.
"""
from __future__ import annotations

from typing import Mapping

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.outputs.plots import STYLE, land_polygons

matplotlib.use("Agg", force=False)

GAIN_CMAP = matplotlib.colormaps["viridis_r"]  # darker = more gain; monotonic in lightness (grayscale-safe)
CENTRE_STYLES = ({"color": "#C0392B", "linestyle": "-"}, {"color": "#1F618D", "linestyle": "--"},
                 {"color": "#3B0F4F", "linestyle": ":"}, {"color": "#1B7837", "linestyle": "-."},
                 {"color": "#8C510A", "linestyle": (0, (5, 1))}, {"color": "#666666", "linestyle": (0, (1, 1))})


def _message(title: str, text: str) -> Figure:
    fig = Figure(figsize=(8, 2.5))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.set_title(title, loc="left")
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    return fig


def plot_advise_map(tables: Mapping[str, pd.DataFrame], summary: Mapping | None = None) -> Figure:
    """World map: regions of the footprint, candidates coloured by expected gain (step 1), picks numbered."""
    cands, picks = tables.get("advise_candidates"), tables.get("advise_picks")
    if cands is None or picks is None or cands.empty:
        return _message("Where to build next", "no advise_candidates.csv / advise_picks.csv in this folder")
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(11, 4.8), layout="constrained")
        ax = fig.add_subplot()
        ax.add_collection(PolyCollection(land_polygons(), facecolor="#E4E4E4", edgecolor="#C8C8C8",
                                         linewidth=0.3, zorder=0))
        first = cands[cands.step == cands.step.min()].drop_duplicates("candidate_id")
        good, bad = first[first.score >= 0], first[first.score < 0]
        norm = Normalize(vmin=0.0, vmax=float(max(first.score.max(), 1e-9)))
        ax.scatter(good.lon, good.lat, c=good.score, cmap=GAIN_CMAP, norm=norm, s=14, marker="o",
                   edgecolors="none", zorder=3)
        ax.scatter(bad.lon, bad.lat, c="#888888", s=16, marker="x", linewidths=0.8, zorder=3)
        footprint = tables.get("advise_footprint")
        if footprint is not None and not footprint.empty:
            ax.scatter(footprint.lon, footprint.lat, s=28, marker="s", facecolors="white", edgecolors="black",
                       linewidths=0.7, zorder=4)
        ax.scatter(picks.lon, picks.lat, s=220, marker="*", c="#C0392B", edgecolors="black", linewidths=0.7,
                   zorder=5)
        for row in picks.itertuples():
            ax.annotate(f"{row.step}. {row.name}", (row.lon, row.lat), xytext=(4, 4), textcoords="offset points",
                        fontsize=8, fontweight="bold", zorder=6,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
        ax.set_xlim(-180, 180)
        ax.set_ylim(-58, 78)
        ax.set_aspect("equal")
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        unit = "MW per US$ bn" if (summary or {}).get("rank_by") == "gain_per_cost" else "MW"
        ax.set_title("Where to build next: each candidate's expected gain in demand served within the SLO "
                     f"(first step, {unit}); picks in greedy order", loc="left")
        bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=GAIN_CMAP), ax=ax, fraction=0.025,
                           pad=0.01, shrink=0.72)
        bar.set_label(f"expected gain within the SLO ({unit})")
        ax.legend(handles=[Line2D([], [], marker="s", ls="", mfc="white", mec="black", label="region of the footprint"),
                           Line2D([], [], marker="o", ls="", mfc="#55A868", mec="none", label="candidate metro"),
                           Line2D([], [], marker="x", ls="", mec="#888888", label="candidate with a loss"),
                           Line2D([], [], marker="*", ls="", mfc="#C0392B", mec="black", ms=12, label="pick (in order)")],
                  loc="lower left", framealpha=0.9)
    return fig


def plot_support_agents(tables: Mapping[str, pd.DataFrame], summary: Mapping | None = None) -> Figure:
    """Agents per centre by UTC hour of the day, Wednesday and Sunday of the last year's reference week."""
    hourly = tables.get("support_hourly")
    if hourly is None or hourly.empty:
        return _message("Agents by hour", "no support_hourly.csv in this folder")
    year = int(hourly.year.max())
    last = hourly[hourly.year == year]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(10, 3.8), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, day in zip(axes, ("Wed", "Sun")):
            for k, (centre, rows) in enumerate(last[last.day_utc == day].groupby("centre_id", sort=False)):
                rows = rows.sort_values("hour_utc")
                hours = np.append(rows.hour_utc.to_numpy(), 24)  # the last hour runs to midnight
                agents = np.append(rows.agents.to_numpy(), rows.agents.to_numpy()[-1:])
                ax.step(hours, agents, where="post", label=centre, linewidth=1.6,
                        **CENTRE_STYLES[k % len(CENTRE_STYLES)])
            ax.set_xlim(0, 24)
            ax.set_xticks(np.arange(0, 25, 3))
            ax.set_xlabel("hour of the day (UTC)")
            ax.set_title(f"{'Wednesday' if day == 'Wed' else 'Sunday'}, reference week of {year}", loc="left")
        axes[0].set_ylabel("agents on duty")
        axes[0].legend(title="centre", loc="upper left", framealpha=0.9)
        target = (summary or {}).get("service_level_target")
        within = (summary or {}).get("answer_within_s")
        if target is not None and within is not None:
            fig.suptitle(f"Agents needed per centre and hour: {100 * target:.0f} % answered within {within:g} s "
                         "(Erlang C, follow-the-sun routing)", x=0.01, ha="left")
    return fig


PLOTS = {"advise_map": plot_advise_map, "support_agents": plot_support_agents}

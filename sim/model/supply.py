"""Supply: the operator's capacity per region over time (DESIGN §6).

Capacity of region n in month t is, once the region is open (``Region.opens``, or from the start):

    its capacity at opening + announced expansions (zones added on their dates) + capex-built MW.

The build plan: ``capex_cny`` is spent evenly month by month over ``capex_years`` from January of
``capex_start_year``, converted at ``cny_per_usd``; ``capex_share_capacity`` of it buys capacity at
``cost_per_mw_usd`` per MW of facility power, i.e. ``cost_per_mw_usd x pue`` per MW of IT load; each
month's purchase is delivered ``lead_time_months`` later (deliveries due before the horizon count from its
first month). After the pledge's years, ``post_pledge: continue`` (the default) keeps spending at the
pledge's yearly rate times ``(1 + post_pledge_growth_per_year) ** k`` in the k-th year after it (the
operator has said it will spend beyond the pledge); ``stop`` ends building with the pledge.
When ``capex_funds_new_sites`` the MW of the new regions and expansions opening in the horizon are
paid from the same capex: the capex-built MW allocated to regions is the running maximum
of (cumulative capex MW - cumulative new-site MW, floored at 0), so nothing is counted twice and nothing
is ever taken away.

Allocation of each month's delivery: ``plan`` splits it by ``plan_weights`` (default: proportional to
zones); capacity delivered to a region that is not open yet waits for its opening. ``demand`` pours it
where the P50 forecast gap (P50 demand of the markets nearest the region minus its capacity) is largest,
levelling the largest gaps first (water-filling) among open regions, and spreads any remainder by the
plan weights; one plan per demand curve.

Every delivery is non-negative and the opening mask only switches on, so capacity never decreases.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from sim.config import StrictModel, month_number
from sim.errors import InputError


class SupplyConfig(StrictModel):
    """The operator's build plan."""

    capex_cny: float = Field(default=380.0e9, ge=0, description=(
        "capex pledge, CNY (Alibaba, Feb 2025: at least RMB 380 bn over 3 years; demand_params "
        "article_anchor.alibaba_pledge; high)"))
    capex_start_year: int = Field(default=2025, ge=1990, le=2100)
    capex_years: int = Field(default=3, ge=1, le=50, description="years the pledge is spread over (high)")
    cny_per_usd: float = Field(default=7.2, gt=0, description=(
        "exchange rate, CNY per USD (DESIGN §2: 380 bn CNY ~ 53 bn USD as reported; high)"))
    capex_share_capacity: float = Field(default=0.8, ge=0, le=1, description=(
        "share of the capex that buys new capacity (assumption: the rest refreshes servers in existing "
        "halls and pays for backbone and non-data-centre items; low)"))
    cost_per_mw_usd: float = Field(default=45.0e6, gt=0, description=(
        "the operator's all-in USD per MW of facility power (demand_params conversion."
        "capex_per_mw_all_in, range 35-60 M; medium). Separate from demand.cost_per_mw_usd, the "
        "industry's cost that turns spend into installed MW: the operator may buy cheaper (e.g. Chinese "
        "accelerators); vary both to move the industry and the operator together"))
    pue: float = Field(default=1.2, ge=1, le=3, description=(
        "facility MW per IT MW (demand_params conversion.pue.simulator_default; high)"))
    lead_time_months: int = Field(default=18, ge=0, le=240, description=(
        "from spend to capacity in service (assumption; demand_params supply_lead_times_years: "
        "electrical equipment >= 2 yr, grid connection > 3-4 yr in primary markets, so 18 months "
        "suits fit-out of powered halls)"))
    allocation: Literal["plan", "demand"] = "plan"
    plan_weights: dict[str, float] = Field(default_factory=dict, description=(
        "region id -> weight of capex-built MW (default: proportional to zones); renormalised"))
    capex_funds_new_sites: bool = True
    post_pledge: Literal["stop", "continue"] = Field(default="continue", description=(
        "capex after the pledge's years: 'continue' spends at the pledge's yearly rate (grown by "
        "post_pledge_growth_per_year a year), 'stop' builds nothing more. Source for continuing: Eddie Wu, "
        "Apsara Conference 24 Sept 2025, Alibaba will invest beyond the RMB 380 bn pledge (no amount "
        "given); earnings call 25 Nov 2025, the pledge 'may be conservative'; capex of about RMB 120 bn "
        "in the four quarters to Sept 2025, near the pledge's 126.7 bn a year (demand_sources §0; medium)"))
    post_pledge_growth_per_year: float = Field(default=0.0, ge=-0.9, le=5.0, description=(
        "yearly growth of capex after the pledge, relative to the pledge's yearly rate (assumption: 0, "
        "the observed run rate; the operator gave no figure. Analysts' estimates of 1-3 GW a year imply "
        "far more, secondary sources, low: vary it in a sweep)"))


def capex_spend_cny(supply: SupplyConfig, last_month: str) -> tuple[np.ndarray, np.ndarray]:
    """(month number, CNY spent) of every month with spend up to ``last_month``: the pledge spread evenly
    over its years, then (``post_pledge: continue``) the pledge's monthly rate grown by
    ``post_pledge_growth_per_year`` for each year after the pledge ended."""
    per_month_cny = supply.capex_cny / (12 * supply.capex_years)
    first = month_number(f"{supply.capex_start_year:04d}-01")
    pledge_end = first + 12 * supply.capex_years  # first month after the pledge
    end = month_number(last_month) + 1 if supply.post_pledge == "continue" else pledge_end
    month = np.arange(first, max(end, pledge_end))
    years_after = np.maximum(month - pledge_end, -1) // 12 + 1  # 0 during the pledge, k in its k-th year after
    return month, per_month_cny * (1.0 + supply.post_pledge_growth_per_year) ** years_after


def capex_it_mw_per_month(supply: SupplyConfig, months: list[str]) -> np.ndarray:
    """IT MW delivered in each month of ``months`` by the capex plan (float64, [t])."""
    usd_per_it_mw = supply.cost_per_mw_usd * supply.pue
    spend_month, cny = capex_spend_cny(supply, months[-1])
    it_mw = cny / supply.cny_per_usd * supply.capex_share_capacity / usd_per_it_mw
    due = spend_month + supply.lead_time_months  # delivery months
    start, end = month_number(months[0]), month_number(months[-1])
    delivered = np.zeros(len(months))
    np.add.at(delivered, np.clip(due[due <= end] - start, 0, None), it_mw[due <= end])
    return delivered


def _open_mask(regions: list, months: list[str]) -> np.ndarray:
    """[t, n] True from each region's opening month (always for regions without one)."""
    t = np.array([month_number(m) for m in months])[:, None]
    opens = np.array([month_number(r.opens) if r.opens else -1 for r in regions])[None, :]
    return t >= opens


def _expansions_mw(expansions: list, regions: list, months: list[str]) -> np.ndarray:
    """Cumulative MW of announced expansions per region, [t, n]."""
    index = {r.id: i for i, r in enumerate(regions)}
    added = np.zeros((len(months), len(regions)))
    start = month_number(months[0])
    for e in expansions or []:
        if e.region_id not in index:
            continue
        k = max(month_number(e.opens) - start, 0) if e.opens else 0
        if k < len(months):
            added[k, index[e.region_id]] += e.capacity_mw
    return np.cumsum(added, axis=0)


def plan_weights(supply: SupplyConfig, regions: list) -> np.ndarray:
    """Per-region weights of capex-built MW, summing to 1 ([n])."""
    ids = [r.id for r in regions]
    unknown = sorted(set(supply.plan_weights) - set(ids))
    if unknown:
        raise InputError("<scenario>", "supply.plan_weights", f"unknown region id(s) {', '.join(unknown)}")
    if any(w < 0 for w in supply.plan_weights.values()):
        raise InputError("<scenario>", "supply.plan_weights", "weights must be >= 0")
    if supply.plan_weights:
        weights = np.array([supply.plan_weights.get(i, 0.0) for i in ids], dtype=np.float64)
    else:
        weights = np.array([r.zones for r in regions], dtype=np.float64)
    if weights.sum() <= 0:
        raise InputError("<scenario>", "supply.plan_weights", "weights sum to zero")
    return weights / weights.sum()


def _water_fill(gap: np.ndarray, amount: float) -> np.ndarray:
    """Split ``amount`` over positive gaps, lowering the largest first to a common level."""
    gap = np.maximum(gap, 0.0)
    if amount <= 0 or gap.sum() <= 0:
        return np.zeros_like(gap)
    if amount >= gap.sum():
        return gap.copy()
    ordered = np.sort(gap)[::-1]
    filled = np.cumsum(ordered) - np.arange(1, ordered.size + 1) * ordered  # poured down to ordered[k]
    k = int(np.searchsorted(filled, amount))  # first level that would need more than `amount`
    level = (np.cumsum(ordered)[k - 1] - amount) / k
    return np.maximum(gap - level, 0.0)


def _capex_mw(supply: SupplyConfig, months: list[str], new_sites_mw: np.ndarray) -> np.ndarray:
    """Capex MW per month to allocate to regions after paying for new sites ([t], >= 0)."""
    cumulative = np.cumsum(capex_it_mw_per_month(supply, months))
    if supply.capex_funds_new_sites:
        cumulative = np.maximum.accumulate(np.maximum(cumulative - new_sites_mw, 0.0))
    return np.diff(cumulative, prepend=0.0)


def supply_plan(supply: SupplyConfig, regions: list, months: list[str], demand=None,
                market_region: np.ndarray | None = None, expansions: list | None = None) -> np.ndarray:
    """Capacity in MW of IT load, ``[c, t, n]`` float32 (c = 1 under ``plan``: broadcast over curves).

    ``demand`` (a DemandPaths) and ``market_region[m]`` (index of the region nearest market m) are needed
    for ``allocation: demand``; ``expansions`` are the catalogue's zones added to regions on dates.
    """
    open_ = _open_mask(regions, months)
    at_opening = np.array([r.capacity_mw for r in regions], dtype=np.float64)[None, :]
    expanded = _expansions_mw(expansions, regions, months)
    base = at_opening + expanded
    opened_later = np.array([bool(r.opens) and month_number(r.opens) > month_number(months[0])
                             for r in regions])
    new_sites_mw = (open_ * (at_opening * opened_later[None, :] + expanded)).sum(axis=1)  # [t]
    delivery = _capex_mw(supply, months, new_sites_mw)
    weights = plan_weights(supply, regions)
    if supply.allocation == "plan":
        built = np.cumsum(delivery[:, None] * weights[None, :], axis=0)
        return (open_ * (base + built))[None].astype(np.float32)
    if demand is None or market_region is None:
        raise InputError("<scenario>", "supply.allocation",
                         "'demand' allocation needs the demand forecast and the market -> region map")
    return np.stack([_demand_led(c, demand, market_region, open_, base, delivery, weights)
                     for c in range(len(demand.curves))]).astype(np.float32)


def _demand_led(c: int, demand, market_region: np.ndarray, open_: np.ndarray, base: np.ndarray,
                delivery: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Capacity [t, n] of one curve when each delivery goes where the P50 gap is largest."""
    n = base.shape[1]
    p50 = demand.market_median(c)  # [t, m]
    region_demand = np.zeros((p50.shape[0], n))
    np.add.at(region_demand.T, np.asarray(market_region), p50.T)
    built = np.zeros(n)
    capacity = np.zeros_like(base)
    for t, amount in enumerate(delivery):
        current = open_[t] * (base[t] + built)
        gap = np.where(open_[t], region_demand[t] - current, 0.0)
        given = _water_fill(gap, amount)
        rest = amount - given.sum()
        if rest > 0:
            w = weights * open_[t]
            given += rest * (w / w.sum() if w.sum() > 0 else weights)
        built += given
        capacity[t] = open_[t] * (base[t] + built)
    return capacity

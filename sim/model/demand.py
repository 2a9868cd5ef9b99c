"""Demand: industry AI spend -> installed AI capacity -> the operator's demand per market (DESIGN §5).

The chain, every factor a named parameter with its unit and source (see each Field's description):

1. **Industry AI spend** ``S(y)`` in USD per year, one named curve per scenario (defaults ``bear``,
   ``base``, ``bull``). Families: ``exponential`` (constant growth), ``logistic`` (S-curve towards a
   ceiling) and ``table`` (user values, log-linear between listed years). A growth rate can be solved
   from "start and cumulative" (``cumulative_usd`` over ``cumulative_years``) by bisection: the sum is
   monotone in the growth, so bisection always converges and scipy is not needed.
2. **Uncertainty**: each year after the anchor year, each sample's growth is multiplied by a lognormal
   shock ``exp(sigma * eps)`` (``kernels.sample_growth_paths``). The shock's median is 1, so the P50 path
   is the calibrated curve ("mean-preserving" in the issue's sense). The anchor year itself is observed
   (US$400 bn in 2025) and carries no shock. All curves use the same draws (common random numbers), so
   the fans differ only by their curve.
3. **Installed capacity**: a year's spend buys ``spend / cost_per_mw_usd`` MW of facility power, i.e.
   ``/ pue`` MW of IT load. A vintage stays in service for ``depreciation_life_years`` and is then retired
   (``retire``, the default: hardware draws its power until replaced), or fades linearly to zero over its
   life (``linear``: book-value depreciation). Installed capacity at the end of year y is the sum over
   vintages. Spend before the curve's start year is backcast at ``backcast_growth_per_year``.
   Monthly values interpolate linearly between year ends (spend arrives evenly through the year): the
   value for December of year y is the year-end value, month m of year y is
   ``I(y-1) + m/12 * (I(y) - I(y-1))``.
4. **The operator's demand** in market m = installed IT MW x market weight x the operator's share of its
   bloc (``operator_share_by_bloc``). Market weights are those of the markets catalogue, or follow
   ``weights_by_year`` (bloc weights by year, linear in between, held outside; markets keep their
   relative weights within a bloc).

Traffic (``TrafficConfig``) turns served MW into Gbit/s of user traffic and a gravity model of
east-west traffic between regions.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from sim.config import StrictModel
from sim.errors import InputError

# ---------------------------------------------------------------------------------------------------
# Sources of the defaults (demand_sources.md and demand_params.yaml are the researched notes; the
# sections named here are theirs). Confidence: high | medium | low, as in those notes.
# ---------------------------------------------------------------------------------------------------
ANCHOR_SPEND_USD = 4.0e11  # Eddie Wu, Apsara 2025: industry AI investment US$400 bn in 2025 (high)
ANCHOR_CUMULATIVE_USD = 4.0e12  # same talk: ">US$4 tn over the next five years" (2026-2030; high)
OPERATOR_CAPEX_CNY = 380.0e9  # Alibaba pledge, RMB 380 bn over 3 years (Feb 2025; high)
CNY_PER_USD = 7.2  # DESIGN §2 default: 380 bn CNY ~ 53 bn USD, as reported (high)
OPERATOR_GLOBAL_SHARE = OPERATOR_CAPEX_CNY / 3 / CNY_PER_USD / ANCHOR_SPEND_USD  # 0.0440 (derived, low)

# The operator's share of each bloc's AI demand (derived, low confidence). No public split of Alibaba's
# demand by geography exists (demand_sources §5, §7). Assumption: the operator's demand is distributed
# like its 2025 footprint (it built where its customers are). Its 91 zones by bloc: China (incl. Hong
# Kong) 55, APAC ex-China 19, North America 6, Europe 5, Middle East 4, Latin America 2 (Mexico),
# Africa 0. share_b = OPERATOR_GLOBAL_SHARE x (zones_b / 91) / market_weight_b, with the 2030 base
# weights of demand_params regional_split.suggested_weights_2030_base. The weighted mean is the 4.4 %
# global share; China and APAC come out highest (Alibaba is the largest cloud in APAC: demand_sources
# §5). Africa has no region: it gets the lowest bloc share (North America's) so its markets are not empty.
DEFAULT_OPERATOR_SHARE_BY_BLOC = {
    "north_america": 0.0063,
    "china": 0.0949,
    "europe": 0.0201,
    "apac_ex_china": 0.0918,
    "middle_east": 0.0967,
    "latin_america": 0.0644,
    "africa": 0.0063,
    # Markets derived from a GraphML topology (one per node) form one bloc at the global share.
    "graphml": round(OPERATOR_GLOBAL_SHARE, 4),
}

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


# ---------------------------------------------------------------------------------------------------
# Curves
# ---------------------------------------------------------------------------------------------------
class CurveConfig(StrictModel):
    """Industry AI spend per year, USD (nominal).

    ``exponential``: ``S(y) = start_spend_usd * (1 + g)^(y - start_year)`` with g = ``growth_per_year``
    or solved from ``cumulative_usd``. ``logistic``: ``S(y) = K / (1 + (K/S0 - 1) exp(-r (y - y0)))``
    with K = ``ceiling_usd``; the rate r comes from ``growth_per_year`` (growth of the first year),
    ``midpoint_year`` (where S = K/2) or ``cumulative_usd``. ``table``: ``table_usd`` {year: USD}, which
    must include ``start_year``; log-linear between listed years, no extrapolation.
    ``cumulative_usd`` is the sum over the ``cumulative_years`` years after ``start_year`` (or starting
    with it when ``cumulative_includes_start``).
    """

    family: Literal["exponential", "logistic", "table"] = "exponential"
    start_year: int = Field(default=2025, ge=1990, le=2100)
    start_spend_usd: float = Field(default=ANCHOR_SPEND_USD, gt=0,
                                   description="spend in start_year, USD (Apsara 2025: 400 bn; high)")
    growth_per_year: float | None = Field(default=None, gt=-1, le=10)
    cumulative_usd: float | None = Field(default=None, gt=0)
    cumulative_years: int = Field(default=5, ge=1, le=100)
    cumulative_includes_start: bool = False
    ceiling_usd: float | None = Field(default=None, gt=0)
    midpoint_year: float | None = Field(default=None, ge=1990, le=2200)
    table_usd: dict[int, float] | None = None
    source: str = ""

    @field_validator("table_usd")
    @classmethod
    def _positive_table(cls, table: dict[int, float] | None) -> dict[int, float] | None:
        if table is not None:
            if not table:
                raise ValueError("table_usd is empty")
            bad = [year for year, usd in table.items() if not usd > 0 or not math.isfinite(usd)]
            if bad:
                raise ValueError(f"table_usd must be > 0 USD in every year (year {bad[0]})")
        return table

    @model_validator(mode="after")
    def _consistent(self) -> "CurveConfig":
        given = {k for k in ("growth_per_year", "cumulative_usd", "midpoint_year")
                 if getattr(self, k) is not None}
        if self.family == "table":
            _check_table(self, given)
        elif self.family == "exponential":
            _check_exponential(self, given)
        else:
            _check_logistic(self, given)
        return self


def _check_table(curve: CurveConfig, given: set[str]) -> None:
    if curve.table_usd is None:
        raise ValueError("family 'table' needs table_usd {year: usd}")
    if given or curve.ceiling_usd is not None:
        raise ValueError(f"family 'table' takes no {', '.join(sorted(given) or ['ceiling_usd'])}")
    if curve.start_year not in curve.table_usd:
        raise ValueError(f"table_usd has no value for start_year {curve.start_year}")
    if ("start_spend_usd" in curve.model_fields_set
            and not math.isclose(curve.start_spend_usd, curve.table_usd[curve.start_year])):
        raise ValueError("start_spend_usd disagrees with table_usd[start_year]; give one of them")


def _check_exponential(curve: CurveConfig, given: set[str]) -> None:
    if curve.table_usd is not None or curve.ceiling_usd is not None or "midpoint_year" in given:
        raise ValueError("family 'exponential' takes growth_per_year or cumulative_usd only "
                         "(ceiling_usd/midpoint_year are for 'logistic', table_usd for 'table')")
    if len(given) != 1:
        raise ValueError("family 'exponential' needs exactly one of growth_per_year, cumulative_usd")


def _check_logistic(curve: CurveConfig, given: set[str]) -> None:
    if curve.table_usd is not None:
        raise ValueError("family 'logistic' takes no table_usd")
    if curve.ceiling_usd is None:
        raise ValueError("family 'logistic' needs ceiling_usd")
    if curve.ceiling_usd <= curve.start_spend_usd:
        raise ValueError(f"ceiling_usd {curve.ceiling_usd:.4g} must be above start_spend_usd "
                         f"{curve.start_spend_usd:.4g}")
    if len(given) != 1:
        raise ValueError("family 'logistic' needs exactly one of growth_per_year, midpoint_year, "
                         "cumulative_usd")
    _logistic_rate(curve)  # raises ValueError with the reason when no positive rate fits


def _cumulative_offsets(curve: CurveConfig) -> np.ndarray:
    """Years after start_year summed by ``cumulative_usd``: 1..n, or 0..n-1 with the start year."""
    first = 0 if curve.cumulative_includes_start else 1
    return np.arange(first, first + curve.cumulative_years, dtype=np.float64)


def _bisect_increasing(f, lo: float, hi: float, what: str) -> float:
    """Root of an increasing function on [lo, hi] (hi is doubled until f(hi) > 0)."""
    for _ in range(200):
        if f(hi) > 0:
            break
        lo, hi = hi, hi * 2.0
    else:
        raise ValueError(f"no {what} reaches the requested cumulative_usd")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-15 * max(1.0, abs(hi)):
            break
    return 0.5 * (lo + hi)


def solve_growth_per_year(start_usd: float, cumulative_usd: float, years: int,
                          includes_start: bool = False) -> float:
    """Constant growth g with ``start * sum((1+g)^k) = cumulative`` over k = 1..years (0..years-1
    when the start year is included). Example: 400 bn and 4 tn over 5 years gives g = 0.2407."""
    offsets = np.arange(0 if includes_start else 1, (0 if includes_start else 1) + years)

    def excess(factor: float) -> float:
        return float(start_usd * np.sum(factor ** offsets) - cumulative_usd)

    if includes_start and excess(0.0) >= 0:  # the start year alone already exceeds the total
        raise ValueError("cumulative_usd is below the start year's spend")
    return _bisect_increasing(excess, 0.0, 2.0, "growth rate") - 1.0


def exponential_growth(curve: CurveConfig) -> float:
    """The curve's growth per year, given or solved from its cumulative spend."""
    if curve.growth_per_year is not None:
        return curve.growth_per_year
    return solve_growth_per_year(curve.start_spend_usd, curve.cumulative_usd, curve.cumulative_years,
                                 curve.cumulative_includes_start)


def _logistic(curve: CurveConfig, rate: float, offsets: np.ndarray) -> np.ndarray:
    k, s0 = curve.ceiling_usd, curve.start_spend_usd
    return k / (1.0 + (k / s0 - 1.0) * np.exp(-rate * offsets))


def _logistic_rate(curve: CurveConfig) -> float:
    """Rate r (per year) of a logistic curve from its growth, midpoint or cumulative spend."""
    k, s0 = curve.ceiling_usd, curve.start_spend_usd
    if curve.growth_per_year is not None:
        s1 = s0 * (1.0 + curve.growth_per_year)
        if not s0 < s1 < k:
            raise ValueError("logistic growth_per_year must be > 0 and keep the first year below "
                             "ceiling_usd")
        return math.log((k / s0 - 1.0) / (k / s1 - 1.0))
    if curve.midpoint_year is not None:
        span = curve.midpoint_year - curve.start_year
        rate = math.log(k / s0 - 1.0) / span if span else math.nan
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError("midpoint_year must be after start_year when ceiling_usd > 2 x "
                             "start_spend_usd, and before it when below (no rising S-curve fits)")
        return rate
    offsets = _cumulative_offsets(curve)
    low, high = float(_logistic(curve, 0.0, offsets).sum()), k * offsets.size
    if not low < curve.cumulative_usd < high:
        raise ValueError(f"logistic cumulative_usd must lie between {low:.4g} (no growth) and "
                         f"{high:.4g} (at the ceiling)")
    return _bisect_increasing(lambda r: float(_logistic(curve, r, offsets).sum() - curve.cumulative_usd),
                              0.0, 1.0, "logistic rate")


def industry_spend_usd(curve: CurveConfig, years: np.ndarray) -> np.ndarray:
    """Calibrated industry AI spend (USD per year, float64) of a curve in the given years.

    Exponential and logistic curves extend to any year; a table covers its listed range only.
    """
    years = np.asarray(years, dtype=np.float64)
    offsets = years - curve.start_year
    if curve.family == "exponential":
        return curve.start_spend_usd * (1.0 + exponential_growth(curve)) ** offsets
    if curve.family == "logistic":
        return _logistic(curve, _logistic_rate(curve), offsets)
    known = np.array(sorted(curve.table_usd), dtype=np.float64)
    if years.size and (years.min() < known[0] or years.max() > known[-1]):
        raise ValueError(f"table_usd covers {int(known[0])}..{int(known[-1])}, "
                         f"but years {int(years.min())}..{int(years.max())} are needed")
    log_usd = np.log([curve.table_usd[int(y)] for y in known])
    return np.exp(np.interp(years, known, log_usd))


def default_curves() -> dict[str, CurveConfig]:
    """The published bear / base / bull curves (demand_sources §2.3; demand_params scenarios_*)."""
    return {
        "bear": CurveConfig(growth_per_year=0.12, source=(
            "demand_sources §2.3 bear, 12 %/yr (2030: 705 bn; 2026-30: 2.85 tn): McKinsey constrained "
            "scenario (3.7 tn DC capex to 2030), Goldman downside 14 %/yr capacity; low-medium")),
        "base": CurveConfig(cumulative_usd=ANCHOR_CUMULATIVE_USD, cumulative_years=5, source=(
            "Apsara 2025 (Eddie Wu): 400 bn in 2025, 4 tn over 2026-2030 -> 24.07 %/yr solved; high")),
        "bull": CurveConfig(growth_per_year=0.50, source=(
            "demand_sources §2.3 bull, 50 %/yr (2030: 3.04 tn; 2026-30: 7.9 tn): Nvidia 3-4 tn/yr by "
            "2030 (49.6-58.5 %/yr), McKinsey accelerated 7.9 tn; low")),
    }


# ---------------------------------------------------------------------------------------------------
# Demand and traffic configuration
# ---------------------------------------------------------------------------------------------------
class DemandConfig(StrictModel):
    """Industry spend curves and the chain from spend to the operator's demand per market."""

    curves: dict[str, CurveConfig] = Field(default_factory=default_curves)
    sigma_per_year: float = Field(default=0.15, ge=0, le=2, description=(
        "lognormal growth shock per year (DESIGN §5 assumption; demand_params gbm_lognormal derives "
        "0.08 for capacity and 0.20 for capex; low)"))
    cost_per_mw_usd: float = Field(default=45.0e6, gt=0, description=(
        "all-in USD per MW of facility power (demand_params conversion.capex_per_mw_all_in, range "
        "35-60 M: Bernstein 35, Citi ~50, Nvidia 50-60 B/GW; medium)"))
    pue: float = Field(default=1.2, ge=1, le=3, description=(
        "facility MW per IT MW (demand_params conversion.pue.simulator_default; range 1.1-1.6; high)"))
    depreciation_life_years: float = Field(default=6.0, gt=0, le=30, description=(
        "service life of a year's purchase (assumption; servers refreshed every ~4-6 years, "
        "demand_sources §3.1)"))
    depreciation_profile: Literal["retire", "linear"] = "retire"
    backcast_growth_per_year: float = Field(default=0.2407, gt=-1, le=10, description=(
        "growth used to run spend backwards before start_year (assumption: the base trend; gives "
        "322 bn in 2024, between big-4 hyperscaler capex 226 bn and IEA all-DC investment ~500 bn in "
        "2024, demand_params projections.capex; low-medium)"))
    operator_share_by_bloc: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_OPERATOR_SHARE_BY_BLOC), description=(
            "the operator's share of each bloc's AI demand (derived from its capex share 4.4 % and its "
            "footprint by bloc; see DEFAULT_OPERATOR_SHARE_BY_BLOC; low)"))
    weights_by_year: dict[int, dict[str, float]] | None = None

    @field_validator("curves")
    @classmethod
    def _named_curves(cls, curves: dict[str, CurveConfig]) -> dict[str, CurveConfig]:
        if not curves:
            raise ValueError("at least one curve is needed")
        for name in curves:
            if not _NAME.match(name):
                raise ValueError(f"curve name {name!r}: use letters, digits, '_', '-', '.'")
        return curves

    @field_validator("operator_share_by_bloc")
    @classmethod
    def _shares(cls, shares: dict[str, float]) -> dict[str, float]:
        for bloc, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"share of bloc {bloc!r} must lie in [0, 1], got {share}")
        return shares

    @field_validator("weights_by_year")
    @classmethod
    def _weights(cls, table: dict[int, dict[str, float]] | None) -> dict[int, dict[str, float]] | None:
        for year, weights in (table or {}).items():
            if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f"weights of {year} must be >= 0 and not all zero")
        return table


class TrafficConfig(StrictModel):
    """From served MW to Gbit/s of user traffic, and east-west traffic between regions."""

    gpus_per_mw: float = Field(default=708.0, gt=0, description=(
        "H100-class GPUs per MW of IT load: 590 per facility MW (demand_params conversion."
        "power_per_accelerator.gpus_per_mw_facility.h100) x PUE 1.2; low-medium"))
    output_tokens_per_s_per_gpu: float = Field(default=1850.0, gt=0, description=(
        "DeepSeek-V3 production decode on H800 (demand_params conversion.inference_throughput; "
        "high for that setting, medium as a fleet default)"))
    bytes_per_token: float = Field(default=20.0, gt=0, description=(
        "streamed API bytes per output token, SSE/JSON framing 15-25 (demand_params conversion."
        "network_bytes_per_token.streamed_api_sse_json; low)"))
    inference_share: float = Field(default=0.67, ge=0, le=1, description=(
        "share of AI capacity serving inference, Deloitte 2026 ~2/3 (demand_params conversion."
        "inference_share_of_ai_compute; medium)"))
    multimodal_multiplier: float = Field(default=10.0, ge=1, description=(
        "user bytes of images, audio, RAG uploads and tool calls per byte of streamed text "
        "(assumption: demand_sources §3.5 says they dominate; read as ~90 % of bytes; low)"))
    east_west_gbps_per_mw: float = Field(default=1.0, ge=0, description=(
        "total inter-region replication traffic per MW of capacity, both directions (assumption; no "
        "published figure, demand_sources §3.7; low)"))
    east_west_min_distance_km: float = Field(default=100.0, gt=0, description=(
        "distance floor of the gravity model, so near neighbours do not take all traffic (assumption)"))


def user_gbps_per_mw(traffic: TrafficConfig) -> float:
    """User-facing Gbit/s per MW of served IT load.

    gpus/MW x output tokens/s/GPU x bytes/token x 8 bit x inference share x multimodal multiplier / 1e9.
    Defaults: 708 x 1850 x 20 x 8 x 0.67 x 10 / 1e9 = 1.40 Gbit/s per MW.
    """
    bits_per_s = (traffic.gpus_per_mw * traffic.output_tokens_per_s_per_gpu * traffic.bytes_per_token
                  * 8.0 * traffic.inference_share * traffic.multimodal_multiplier)
    return bits_per_s / 1e9


def east_west_gbps(capacity_mw, distance_km, traffic: TrafficConfig):
    """Gravity model of east-west traffic between regions, Gbit/s, shape ``[..., n, n]``.

    ``flow[i, j]`` is proportional to ``capacity_i * capacity_j / max(distance_ij, floor)``, zero on the
    diagonal and symmetric, scaled so that the sum over all ordered pairs (both directions) equals
    ``east_west_gbps_per_mw x total capacity``. Regions without capacity send and receive nothing; with
    fewer than two such regions there is no east-west traffic. Runs on NumPy or CuPy (the module of
    ``capacity_mw``); not yet run on a GPU.
    """
    from kernels.backend import xp_of

    xp = xp_of(capacity_mw, distance_km)
    cap = xp.asarray(capacity_mw, dtype=xp.float64)
    dist = xp.maximum(xp.asarray(distance_km, dtype=xp.float64), traffic.east_west_min_distance_km)
    n = cap.shape[-1]
    inv = (1.0 - xp.eye(n)) / dist
    raw = cap[..., :, None] * cap[..., None, :] * inv
    raw_total = raw.sum(axis=(-2, -1), keepdims=True)
    target = traffic.east_west_gbps_per_mw * cap.sum(axis=-1)[..., None, None]
    scale = xp.where(raw_total > 0, target / xp.where(raw_total > 0, raw_total, 1.0), 0.0)
    return raw * scale


# ---------------------------------------------------------------------------------------------------
# Monte Carlo demand paths
# ---------------------------------------------------------------------------------------------------
@dataclass
class DemandPaths:
    """Demand per curve c, sample s, year y / month t and market m.

    spend_usd[c, s, y]: industry AI spend (float64) in ``years``;
    installed_mw[c, s, t]: the industry's installed AI capacity, MW of IT load (float32);
    market_mw[c, s, t, m]: the operator's demand per market, MW of IT load (float32); ``None`` when
    the paths are *lazy* (large runs): then market_mw = installed_mw[..., None] x market_share[t, m],
    computed a month at a time by :meth:`market_at`.
    """

    curves: list[str]
    months: list[str]
    years: list[int]
    market_ids: list[str]
    spend_usd: np.ndarray
    installed_mw: np.ndarray
    market_mw: np.ndarray | None
    market_share: np.ndarray | None = None  # [t, m] operator share x market weight

    def market_at(self, t: int, samples=slice(None)) -> np.ndarray:
        """Operator demand per market in month ``t`` for the chosen samples, [c, s, m] float32."""
        if self.market_mw is not None:
            return self.market_mw[:, samples, t, :]
        return (self.installed_mw[:, samples, t, None] * self.market_share[t][None, None, :]).astype(np.float32)

    def market_median(self, c: int) -> np.ndarray:
        """Median over samples of each market's demand, [t, m] (shares are constant over samples)."""
        if self.market_mw is not None:
            return np.median(self.market_mw[c], axis=0)
        return np.median(self.installed_mw[c], axis=0)[:, None] * self.market_share

    def operator_total_mw(self) -> np.ndarray:
        """The operator's demand summed over markets, [c, s, t]."""
        if self.market_mw is None:
            return self.installed_mw.astype(np.float64) * self.market_share.sum(axis=1)[None, None, :]
        return self.market_mw.sum(axis=-1, dtype=np.float64)


def vintage_weights(ages: np.ndarray, life_years: float, profile: str) -> np.ndarray:
    """Share of a vintage still in service at each age (years since purchase, 0 = bought this year)."""
    ages = np.asarray(ages, dtype=np.float64)
    if profile == "retire":
        return ((ages >= 0) & (ages < life_years)).astype(np.float64)
    return np.where(ages >= 0, np.clip(1.0 - ages / life_years, 0.0, 1.0), 0.0)


def installed_mw_by_year(spend_usd: np.ndarray, demand: DemandConfig) -> np.ndarray:
    """Year-end installed IT MW from spend on a contiguous year grid (last axis)."""
    n_years = spend_usd.shape[-1]
    age = np.arange(n_years)[None, :] - np.arange(n_years)[:, None]  # age[v, y] = y - v
    weights = vintage_weights(age, demand.depreciation_life_years, demand.depreciation_profile)
    it_mw_bought = spend_usd / (demand.cost_per_mw_usd * demand.pue)
    return it_mw_bought @ weights


def _spend_paths(curve: CurveConfig, demand: DemandConfig, grid: np.ndarray, samples: int,
                 seed: int) -> np.ndarray:
    """Spend [s, year] on ``grid``: backcast before start_year, shocked curve after it."""
    from kernels.sampling import sample_growth_paths

    spend = np.empty((samples, grid.size), dtype=np.float64)
    past = grid <= curve.start_year
    spend[:, past] = curve.start_spend_usd * (1.0 + demand.backcast_growth_per_year) ** (
        grid[past] - curve.start_year)
    future = grid[~past]
    if future.size:
        calibrated = industry_spend_usd(curve, np.concatenate(([curve.start_year], future)))
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DEMAND_STREAM,)))
        multipliers = sample_growth_paths(rng, calibrated[1:] / calibrated[:-1],
                                          demand.sigma_per_year, samples)
        spend[:, ~past] = curve.start_spend_usd * np.asarray(multipliers)
    return spend


DEMAND_STREAM = 0x64656D  # spawn key of the demand shocks ("dem"): one child stream per purpose


def _monthly(year_end: np.ndarray, grid: np.ndarray, months: list[str]) -> np.ndarray:
    """Interpolate year-end values [..., year] to months: I(y-1) + m/12 (I(y) - I(y-1))."""
    out = np.empty(year_end.shape[:-1] + (len(months),), dtype=np.float64)
    for t, month in enumerate(months):
        year, mon = int(month[:4]), int(month[5:7])
        k = int(np.searchsorted(grid, year))
        out[..., t] = year_end[..., k - 1] + mon / 12.0 * (year_end[..., k] - year_end[..., k - 1])
    return out


def market_weights(demand: DemandConfig, markets: list, months: list[str]) -> np.ndarray:
    """Market weights per month, [t, m], summing to 1 each month.

    Without ``weights_by_year``: the catalogue's weights. With it: bloc weights by year, linear between
    listed years (by fractional year of the month) and held outside, renormalised over blocs; a market
    takes its bloc's weight times its share of the bloc in the catalogue.
    """
    base = np.array([m.weight for m in markets], dtype=np.float64)
    if not demand.weights_by_year:
        return np.broadcast_to(base / base.sum(), (len(months), len(markets))).copy()
    blocs = sorted({m.bloc for m in markets})
    years = sorted(demand.weights_by_year)
    for year in years:
        missing = sorted(set(blocs) - set(demand.weights_by_year[year]))
        unknown = sorted(set(demand.weights_by_year[year]) - set(blocs))
        if missing or unknown:
            what = (f"missing bloc(s) {', '.join(missing)}" if missing
                    else f"unknown bloc(s) {', '.join(unknown)}")
            raise InputError("<scenario>", f"demand.weights_by_year.{year}", what)
    when = np.array([int(mo[:4]) + (int(mo[5:7]) - 1) / 12.0 for mo in months])
    bloc_w = np.stack([np.interp(when, years, [demand.weights_by_year[y][b] for y in years])
                       for b in blocs], axis=1)  # [t, bloc]
    bloc_w /= bloc_w.sum(axis=1, keepdims=True)
    column = {b: j for j, b in enumerate(blocs)}
    bloc_total = {b: sum(m.weight for m in markets if m.bloc == b) for b in blocs}
    within = np.array([m.weight / bloc_total[m.bloc] if bloc_total[m.bloc] > 0 else
                       1.0 / sum(x.bloc == m.bloc for x in markets) for m in markets])
    return bloc_w[:, [column[m.bloc] for m in markets]] * within[None, :]


def _operator_shares(demand: DemandConfig, markets: list) -> np.ndarray:
    missing = sorted({m.bloc for m in markets} - set(demand.operator_share_by_bloc))
    if missing:
        raise InputError("<scenario>", "demand.operator_share_by_bloc",
                         f"no share for bloc(s) {', '.join(missing)} used by the markets")
    return np.array([demand.operator_share_by_bloc[m.bloc] for m in markets], dtype=np.float64)


def demand_paths(demand: DemandConfig, markets: list, months: list[str], samples: int,
                 seed: int, lazy: bool = False) -> DemandPaths:
    """Monte Carlo demand for every curve: spend, industry installed MW and operator MW per market.

    ``lazy`` skips the [c, s, t, m] array (memory grows with samples x months x markets); use
    :meth:`DemandPaths.market_at` to get a month.
    """
    if not months:
        raise InputError("<scenario>", "horizon", "the horizon has no months")
    first, last = int(months[0][:4]), int(months[-1][:4])
    lead_in = int(math.ceil(demand.depreciation_life_years)) + 1
    weights = market_weights(demand, markets, months)  # [t, m]
    shares = _operator_shares(demand, markets)  # [m]
    spend, installed, market = [], [], []
    for name, curve in demand.curves.items():
        grid = np.arange(min(first, curve.start_year) - lead_in, last + 1)
        try:
            s = _spend_paths(curve, demand, grid, samples, seed)
        except ValueError as err:
            raise InputError("<scenario>", f"demand.curves.{name}", str(err)) from None
        inst = _monthly(installed_mw_by_year(s, demand), grid, months)  # [s, t]
        spend.append(s[:, first - grid[0]: last - grid[0] + 1])
        installed.append(inst.astype(np.float32))
        if not lazy:
            market.append((inst[:, :, None] * (weights * shares[None, :])[None]).astype(np.float32))
    return DemandPaths(list(demand.curves), list(months), list(range(first, last + 1)),
                       [m.id for m in markets], np.stack(spend), np.stack(installed),
                       None if lazy else np.stack(market), weights * shares[None, :])


def industry_spend_usd_by_year(demand: DemandConfig, years=None) -> dict[str, float]:
    """Calibrated spend (USD) of the base curve (``base``, else the first) by year, for summary.json.

    Default years: start_year .. start_year + 5 (2025..2030).
    """
    name = "base" if "base" in demand.curves else next(iter(demand.curves))
    curve = demand.curves[name]
    years = np.arange(curve.start_year, curve.start_year + 6) if years is None else np.asarray(years)
    values = industry_spend_usd(curve, years)
    return {str(int(y)): float(v) for y, v in zip(years, values)}



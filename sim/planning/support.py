"""How to staff the support centres (``infrasim support``): tickets, follow-the-sun routing, Erlang C.

The model, step by step (every default is a named constant below, with its source or "(assumption)"):

1. **Served demand.** Each market's served MW per year: the engine's nearest-first assignment on the
   intact network (:mod:`sim.planning.variants`), the year's months averaged, P50 over samples, on one
   curve (default ``base``).
2. **Tickets.** A market raises ``tickets_per_mw_month`` support contacts per MW it is served, spread
   over the week by a local daily and weekly cycle (:data:`HOURLY_PROFILE`, :data:`WEEKEND_FACTOR`) in its
   own time zone. Contacts needing an agent now (chat, phone, a ticket's first answer) are the Poisson
   stream Erlang C assumes; arrivals to call centres are well described as Poisson with a rate that
   changes through the day (Brown et al., "Statistical analysis of a telephone call center", JASA 100,
   2005), so each hour is staffed on its own (the stationary-independent-period-by-period method, Green,
   Kolesar and Soares, Operations Research 49, 2001).
3. **Language.** A market's tickets are in its country's main language (the first GeoNames lists,
   :mod:`sim.planning.places`) when some centre offers it, else in :data:`FALLBACK_LANGUAGE` (English:
   an Italian customer writes in English rather than in German, Italy's second listed language).
4. **Routing (follow the sun).** In each hour a ticket goes to the nearest (great circle) centre that is
   open and speaks its language; when none is, to the nearest open centre speaking the fallback language
   (answered in English); when none is either, it waits unanswered (reported).
5. **Staffing.** Per centre and hour: the fewest agents ``c`` whose M/M/c wait meets the service level
   (default 80 % answered within 60 s), i.e. ``kernels.mmc_wait_quantile(c, lambda, mu, 0.8) <= 60 s``,
   found by bisection for every (year, centre, hour) at once; then the service level achieved
   (``1 - C(c, A) exp(-(c mu - lambda) t)`` with ``kernels.erlang_c``), occupancy ``A / c`` and mean wait.
6. **Closures.** In the horizon's last year, each centre is closed in turn (all week): its tickets move
   to the next-nearest open centre speaking their language (or the fallback), nothing else moves; the
   table says who absorbs them and how many agents that takes.

Times: one reference week per year (ISO week :data:`REFERENCE_ISO_WEEK`, mid-June), hour by hour in UTC;
local times come from the IANA time-zone database through :mod:`zoneinfo`, so summer time is applied
where it runs that week. Public holidays are not modelled. A year's agent-hours are the reference
week's times 52.18 weeks.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

import kernels
from sim.errors import InputError
from sim.model.geo import great_circle_km
from sim.planning.places import place_of
from sim.planning.variants import PlanningBase

TICKETS_PER_MW_MONTH = 50.0  # (assumption) no public ticket volumes; order of one live contact a month
#   per US$10k of monthly cloud spend at roughly US$0.5 M of cloud revenue per MW-month; scale it freely:
#   staffing grows a little less than linearly with it (pooling)
HANDLE_MINUTES = 12.0  # (assumption) agent time per contact including wrap-up (chat/phone technical contact)
SERVICE_LEVEL = 0.8  # share of contacts answered within ANSWER_WITHIN_S (the default, 80/60)
ANSWER_WITHIN_S = 60.0
FALLBACK_LANGUAGE = "en"  # the operator's support languages are English and Chinese (support page)
REFERENCE_ISO_WEEK = 24  # mid-June: no summer-time change that week in either hemisphere
WEEKS_PER_YEAR = 365.25 / 7.0
PRODUCTIVE_HOURS_PER_AGENT_YEAR = 40.0 * WEEKS_PER_YEAR * 0.70  # (assumption) 40 h a week, 30 % shrinkage
#   (leave, training, breaks) - about 1,460 h: turns agent-hours into full-time agents (FTE)
# (assumption) Contacts per local hour of a weekday, relative (shape of a business day: quiet at night,
# rising from 07:00, highest 09:00-17:00 with a dip at lunch, tailing off in the evening), as call-centre
# arrival studies describe (Brown et al. 2005); weekends at WEEKEND_FACTOR of a weekday (assumption).
HOURLY_PROFILE = (0.25, 0.2, 0.2, 0.2, 0.2, 0.25, 0.4, 0.7, 1.2, 1.7, 1.8, 1.8,
                  1.4, 1.6, 1.7, 1.7, 1.6, 1.3, 1.0, 0.8, 0.7, 0.6, 0.45, 0.35)
WEEKEND_FACTOR = 0.35
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CENTRE_COLUMNS = ("centre_id", "city", "country", "lat", "lon", "timezone", "languages", "open_local",
                  "open_days", "opens", "status", "source")


@dataclass(frozen=True)
class Centre:
    """A support centre: where it is, which languages its agents speak and when it is open (local time)."""

    id: str
    city: str
    country: str
    lat: float
    lon: float
    timezone: str
    languages: tuple[str, ...]
    open_from_h: float  # local opening hour, e.g. 8.0
    open_to_h: float  # local closing hour, e.g. 20.0 (24.0 = midnight)
    open_days: tuple[int, ...]  # weekdays open, 0 = Monday
    opens: str | None = None  # 'YYYY-MM' the centre opens; None = open already
    status: str = "existing"
    source: str = ""

    @property
    def hours_text(self) -> str:
        days = f"{DAYS[self.open_days[0]]}-{DAYS[self.open_days[-1]]}"
        return f"{_clock(self.open_from_h)}-{_clock(self.open_to_h)} {days} {self.timezone}"

    def is_open(self, utc: datetime) -> bool:
        local = utc.astimezone(ZoneInfo(self.timezone))
        hour = local.hour + local.minute / 60.0
        return local.weekday() in self.open_days and self.open_from_h <= hour < self.open_to_h


@dataclass
class Support:
    """Staffing of the centres per year and hour, the routing behind it, and each centre closed in turn."""

    hourly: pd.DataFrame  # year, centre_id, hour_of_week, day_utc, hour_utc, local_time, open, tickets...
    centres: pd.DataFrame  # per year and centre: tickets, agent-hours, FTE, peak agents, service level...
    closures: pd.DataFrame  # per closed centre and other centre: extra tickets and agents
    routing: pd.DataFrame  # per year, market, language and centre: share of the market's tickets
    markets: pd.DataFrame  # per market and year: country, time zone, language, served MW, tickets a week
    sentences: list[str]
    summary: dict = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"support_hourly": self.hourly, "support_centres": self.centres, "support_closures": self.closures,
                "support_routing": self.routing, "support_markets": self.markets}


@dataclass(frozen=True)
class Params:
    """The staffing parameters of one run of the model."""

    tickets_per_mw_month: float = TICKETS_PER_MW_MONTH
    handle_minutes: float = HANDLE_MINUTES
    service_level: float = SERVICE_LEVEL
    answer_within_s: float = ANSWER_WITHIN_S

    def check(self) -> None:
        for name, value, ok in (("--tickets-per-mw-month", self.tickets_per_mw_month, self.tickets_per_mw_month >= 0),
                                ("--handle-minutes", self.handle_minutes, self.handle_minutes > 0),
                                ("--service-level", self.service_level, 0 < self.service_level < 1),
                                ("--answer-within-s", self.answer_within_s, self.answer_within_s >= 0)):
            if not (ok and math.isfinite(value)):
                raise InputError(name, "", f"out of range: {value!r}")

    @property
    def service_rate_per_h(self) -> float:
        return 60.0 / self.handle_minutes


# ------------------------------------------------------------------------------------------ centres
def default_centres_path() -> Path:
    return Path(str(resources.files("sim") / "data" / "support_centres.csv"))


def read_centres(path: Path | None = None) -> list[Centre]:
    """Support centres from a CSV with :data:`CENTRE_COLUMNS` (the packaged one by default); any bad
    value is one InputError naming the file, the row and the column."""
    path = Path(path) if path is not None else default_centres_path()
    name = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(name, "", f"cannot read CSV ({' '.join(str(err).split())})") from None
    missing = [c for c in CENTRE_COLUMNS if c not in frame.columns and c not in ("opens", "status", "source")]
    if missing:
        raise InputError(name, "", f"missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise InputError(name, "", "no centre rows")
    centres = [_centre(name, row, values) for row, values in enumerate(frame.to_dict("records"), start=2)]
    ids = [c.id for c in centres]
    if len(set(ids)) < len(ids):
        raise InputError(name, "centre_id", f"{next(i for i in ids if ids.count(i) > 1)!r} appears twice")
    return centres


def _centre(name: str, row: int, values: dict) -> Centre:
    where = f"row {row}"
    try:
        lat, lon = float(values["lat"]), float(values["lon"])
    except ValueError:
        raise InputError(name, f"{where}.lat", f"not a number: {values['lat']!r} / {values['lon']!r}") from None
    if not (abs(lat) <= 90 and abs(lon) <= 180):
        raise InputError(name, f"{where}.lat", f"off the globe: {lat}, {lon}")
    try:
        ZoneInfo(values["timezone"].strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(name, f"{where}.timezone", f"not an IANA time zone: {values['timezone']!r}") from None
    languages = tuple(values["languages"].split())
    if not languages:
        raise InputError(name, f"{where}.languages", "no language")
    hours = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", values["open_local"].strip())
    if not hours:
        raise InputError(name, f"{where}.open_local", f"not HH:MM-HH:MM: {values['open_local']!r}")
    start, end = int(hours[1]) + int(hours[2]) / 60, int(hours[3]) + int(hours[4]) / 60
    if not 0 <= start < end <= 24:
        raise InputError(name, f"{where}.open_local", f"opening must come before closing within a day: "
                         f"{values['open_local']!r}")
    days = re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun)-(Mon|Tue|Wed|Thu|Fri|Sat|Sun)", values["open_days"].strip())
    if not days or DAYS.index(days[1]) > DAYS.index(days[2]):
        raise InputError(name, f"{where}.open_days", f"not a day range like Mon-Fri: {values['open_days']!r}")
    opens = values.get("opens", "").strip() or None
    if opens is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", opens):
        raise InputError(name, f"{where}.opens", f"not a month YYYY-MM: {opens!r}")
    return Centre(values["centre_id"].strip(), values["city"].strip(), values["country"].strip(), lat, lon,
                  values["timezone"].strip(), languages, start, end,
                  tuple(range(DAYS.index(days[1]), DAYS.index(days[2]) + 1)), opens,
                  values.get("status", "").strip() or "existing", values.get("source", "").strip())


def _clock(hour: float) -> str:
    return f"{int(hour):02d}:{int(round(60 * (hour % 1))):02d}"


# ------------------------------------------------------------------------------------------ the week
def reference_week(year: int) -> list[datetime]:
    """The 168 UTC hours of the reference week of ``year`` (from Monday 00:00 UTC of ISO week 24)."""
    monday = datetime.combine(date.fromisocalendar(year, REFERENCE_ISO_WEEK, 1), datetime.min.time(),
                              tzinfo=timezone.utc)
    return [monday + timedelta(hours=h) for h in range(168)]


def weekly_profile(zone: str, hours: list[datetime]) -> np.ndarray:
    """Share of a market's weekly tickets in each UTC hour of ``hours`` (sums to 1), from its local
    weekday and hour in ``zone``."""
    tz = ZoneInfo(zone)
    weights = []
    for utc in hours:
        local = utc.astimezone(tz)
        weights.append(HOURLY_PROFILE[local.hour] * (WEEKEND_FACTOR if local.weekday() >= 5 else 1.0))
    weights = np.array(weights)
    return weights / weights.sum()


def ticket_language(market_languages: tuple[str, ...], offered: set[str]) -> str:
    """A market's main language when some centre offers it, else the fallback language."""
    main = market_languages[0] if market_languages else FALLBACK_LANGUAGE
    return main if main in offered else FALLBACK_LANGUAGE


def route(language: np.ndarray, distance_km: np.ndarray, speaks: np.ndarray, open_: np.ndarray,
          fallback: np.ndarray) -> np.ndarray:
    """Centre of each (market, hour): the nearest open centre speaking the market's language, else the
    nearest open one speaking the fallback, else -1.

    ``language`` [M] index of each market's language in the columns of ``speaks`` [C, L]; ``distance_km``
    [M, C]; ``open_`` [C, H]; ``fallback`` [C] True where a centre speaks the fallback. Returns [M, H].
    """
    can = speaks[:, language].T[:, :, None] & open_[None]  # [M, C, H]
    backup = (fallback[:, None] & open_)[None]  # [1, C, H]
    cost = np.where(can, distance_km[:, :, None], np.inf)
    cost = np.where(can.any(axis=1, keepdims=True), cost, np.where(backup, distance_km[:, :, None], np.inf))
    best = np.argmin(cost, axis=1)
    return np.where(np.isfinite(cost.min(axis=1)), best, -1)


# ------------------------------------------------------------------------------------------ staffing
def agents_needed(tickets_per_hour: np.ndarray, params: Params) -> np.ndarray:
    """Fewest agents meeting the service level, per cell (0 where no ticket comes): bisection on
    ``kernels.mmc_wait_quantile`` for all cells at once (the wait quantile falls as agents are added)."""
    lam = np.asarray(tickets_per_hour, dtype=np.float64)
    mu, q, t_h = params.service_rate_per_h, params.service_level, params.answer_within_s / 3600.0

    def meets(agents):  # an unstable or barely stable queue has an infinite or huge quantile: not met
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return kernels.mmc_wait_quantile(agents, lam, mu, q) <= t_h

    lo = np.floor(lam / mu).astype(np.int64)  # never enough (lo <= A: unstable)
    hi = lo + 1
    while True:  # double the step until every cell meets the target
        ok = meets(hi)
        if ok.all():
            break
        step = np.maximum(hi - lo, 1)
        lo, hi = np.where(ok, lo, hi), np.where(ok, hi, hi + 2 * step)
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        ok = meets(mid)
        lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
    return np.where(lam > 0, hi, 0)


def queue_figures(agents: np.ndarray, tickets_per_hour: np.ndarray, params: Params) -> dict[str, np.ndarray]:
    """Service level achieved, occupancy and mean wait (s) of each cell's staffing (NaN where idle)."""
    lam = np.asarray(tickets_per_hour, dtype=np.float64)
    mu, t_h = params.service_rate_per_h, params.answer_within_s / 3600.0
    busy = (lam > 0) & (agents > 0)
    c = np.where(busy, agents, 1)
    load = np.where(busy, lam / mu, 0.0)
    wait_prob = kernels.erlang_c(c, load)
    with np.errstate(over="ignore", invalid="ignore"):
        level = 1.0 - wait_prob * np.exp(-(c * mu - lam) * t_h)
    wait_s = 3600.0 * kernels.mmc_wait(c, lam, mu)
    return {"service_level": np.where(busy, level, np.nan), "occupancy": np.where(busy, load / c, np.nan),
            "mean_wait_s": np.where(busy, wait_s, np.nan)}


# ------------------------------------------------------------------------------------------ the model
def support(scenario, *, centres_csv: str | Path | None = None, samples: int = 100, seed: int | None = None,
            curve: str = "base", params: Params | None = None, backend: str = "numpy") -> Support:
    """Staff the support centres of a validated scenario (see the module docstring)."""
    started = time.perf_counter()
    params = params or Params()
    params.check()
    centres = read_centres(centres_csv)
    base = PlanningBase.prepare(scenario, samples, seed, backend)
    if curve not in base.curves:
        raise InputError("--curve", "", f"unknown curve {curve!r} (the scenario has {', '.join(base.curves)})")
    years = sorted({int(m[:4]) for m in base.months})
    served = served_mw_by_year(base, years, base.curves.index(curve))  # [Y, M]
    model = _Model.build(base, centres, params)
    per_year = [model.staff(year, served[y], model.open_centres(year)) for y, year in enumerate(years)]
    closures = model.closures(years[-1], served[-1])
    tables = _tables(model, years, served, per_year, closures)
    sentences = _sentences(model, years[-1], tables, closures)
    summary = dict(kind="support", scenario_name=scenario.name, curve=curve, samples=samples,
                   seed=base.engine.seed, backend=backend, years=years, reference_iso_week=REFERENCE_ISO_WEEK,
                   tickets_per_mw_month=params.tickets_per_mw_month, handle_minutes=params.handle_minutes,
                   service_level_target=params.service_level, answer_within_s=params.answer_within_s,
                   centres=[dict(id=c.id, city=c.city, languages=list(c.languages), hours=c.hours_text,
                                 opens=c.opens or "", status=c.status) for c in centres],
                   headline=sentences, runtime_s=time.perf_counter() - started)
    return Support(*tables, sentences, summary)


def served_mw_by_year(base: PlanningBase, years: list[int], c: int) -> np.ndarray:
    """[Y, M] each market's served MW, mean over the year's months (by days), P50 over samples."""
    out = []
    for year in years:
        months = [t for t, m in enumerate(base.months) if int(m[:4]) == year]
        days = np.diff(base.engine.month_start_day)[months]
        served = base.evaluate([[]], months, days / days.sum()).market_served_mw[0, c]  # [S, M]
        out.append(np.median(served, axis=0))
    return np.array(out)


@dataclass
class _Model:
    """Markets and centres as arrays: languages, distances, time zones."""

    base: PlanningBase
    centres: list[Centre]
    params: Params
    languages: list[str]  # columns of `speaks`
    speaks: np.ndarray  # [C, L]
    market_language: np.ndarray  # [M] index into `languages`
    places: list  # Place of each market
    distance_km: np.ndarray  # [M, C]

    @classmethod
    def build(cls, base: PlanningBase, centres: list[Centre], params: Params) -> _Model:
        offered = {lang for c in centres for lang in c.languages}
        places = [place_of(m.lat, m.lon) for m in base.markets]
        chosen = [ticket_language(p.languages, offered) for p in places]
        languages = sorted(offered | set(chosen) | {FALLBACK_LANGUAGE})
        speaks = np.array([[lang in c.languages for lang in languages] for c in centres])
        m_lat = np.array([m.lat for m in base.markets])[:, None]
        m_lon = np.array([m.lon for m in base.markets])[:, None]
        c_lat = np.array([c.lat for c in centres])[None]
        c_lon = np.array([c.lon for c in centres])[None]
        return cls(base, centres, params, languages, speaks, np.array([languages.index(x) for x in chosen]),
                   places, great_circle_km(m_lat, m_lon, c_lat, c_lon))

    def open_centres(self, year: int) -> np.ndarray:
        """[C] True for centres in service in the reference week of ``year``."""
        when = reference_week(year)[0]
        return np.array([c.opens is None or (int(c.opens[:4]), int(c.opens[5:])) <= (when.year, when.month)
                         for c in self.centres])

    def arrivals(self, year: int, served_mw: np.ndarray) -> np.ndarray:
        """[M, H] tickets per hour of each market in each UTC hour of the reference week."""
        hours = reference_week(year)
        per_week = self.params.tickets_per_mw_month * served_mw * 12.0 / WEEKS_PER_YEAR  # [M]
        return per_week[:, None] * np.stack([weekly_profile(p.timezone, hours) for p in self.places])

    def open_hours(self, year: int, in_service: np.ndarray) -> np.ndarray:
        """[C, H] True where a centre in service is open in the UTC hour (judged at the half hour)."""
        hours = reference_week(year)
        return np.array([[bool(on) and c.is_open(h + timedelta(minutes=30)) for h in hours]
                         for c, on in zip(self.centres, in_service)])

    def staff(self, year: int, served_mw: np.ndarray, in_service: np.ndarray) -> dict[str, np.ndarray]:
        """Routing, tickets and agents per centre and UTC hour of the reference week of ``year``."""
        lam = self.arrivals(year, served_mw)  # [M, H]
        open_ = self.open_hours(year, in_service)
        fallback = self.speaks[:, self.languages.index(FALLBACK_LANGUAGE)]
        routes = route(self.market_language, self.distance_km, self.speaks, open_, fallback)  # [M, H]
        C = len(self.centres)
        load = np.stack([np.where(routes == c, lam, 0.0).sum(axis=0) for c in range(C)])  # [C, H]
        agents = agents_needed(load, self.params)
        return dict(routes=routes, arrivals=lam, open=open_, tickets=load, agents=agents,
                    unanswered=np.where(routes < 0, lam, 0.0).sum(axis=0),
                    **queue_figures(agents, load, self.params))

    def closures(self, year: int, served_mw: np.ndarray) -> dict[str, dict]:
        """Each centre closed in turn (all week) in ``year``: the staffing without it."""
        in_service = self.open_centres(year)
        out = {}
        for c, centre in enumerate(self.centres):
            if in_service[c]:
                without = in_service.copy()
                without[c] = False
                out[centre.id] = self.staff(year, served_mw, without)
        return out


# ------------------------------------------------------------------------------------------ tables
def _local_time(centre: Centre, utc: datetime) -> str:
    local = utc.astimezone(ZoneInfo(centre.timezone))
    return f"{DAYS[local.weekday()]} {local:%H:%M}"


def _tables(model: _Model, years: list[int], served: np.ndarray, per_year: list[dict], closures: dict):
    hourly, centre_rows, routing, market_rows = [], [], [], []
    for y, year in enumerate(years):
        week, st = reference_week(year), per_year[y]
        for c, centre in enumerate(model.centres):
            for h, utc in enumerate(week):
                hourly.append(dict(year=year, centre_id=centre.id, hour_of_week=h, day_utc=DAYS[utc.weekday()],
                                   hour_utc=utc.hour, local_time=_local_time(centre, utc), open=bool(st["open"][c, h]),
                                   tickets_per_hour=float(st["tickets"][c, h]), agents=int(st["agents"][c, h]),
                                   service_level=float(st["service_level"][c, h]),
                                   occupancy=float(st["occupancy"][c, h]), mean_wait_s=float(st["mean_wait_s"][c, h])))
            centre_rows.append(_centre_row(model, year, c, st))
        routing += _routing_rows(model, year, st)
        for m, market in enumerate(model.base.markets):
            place = model.places[m]
            market_rows.append(dict(year=year, market_id=market.id, country=place.country_code,
                                    timezone=place.timezone, language=model.languages[model.market_language[m]],
                                    served_mw=float(served[y, m]), tickets_per_week=float(st["arrivals"][m].sum()),
                                    unanswered_per_week=float(np.where(st["routes"][m] < 0, st["arrivals"][m], 0).sum())))
    return (pd.DataFrame(hourly), pd.DataFrame(centre_rows), _closure_table(model, per_year[-1], closures),
            pd.DataFrame(routing), pd.DataFrame(market_rows))


def _centre_row(model: _Model, year: int, c: int, st: dict) -> dict:
    centre, tickets, agents = model.centres[c], st["tickets"][c], st["agents"][c]
    peak = int(np.argmax(agents))
    week = reference_week(year)
    with np.errstate(invalid="ignore"):
        level = float(np.nansum(st["service_level"][c] * tickets) / tickets.sum()) if tickets.sum() > 0 else np.nan
        occupancy = float(np.nansum(st["occupancy"][c] * agents) / agents.sum()) if agents.sum() > 0 else np.nan
    return dict(year=year, centre_id=centre.id, city=centre.city, languages=" ".join(centre.languages),
                hours=centre.hours_text, in_service=bool(st["open"][c].any()),
                tickets_per_week=float(tickets.sum()), agent_hours_per_week=float(agents.sum()),
                agents_fte=float(agents.sum() * WEEKS_PER_YEAR / PRODUCTIVE_HOURS_PER_AGENT_YEAR),
                peak_agents=int(agents[peak]), peak_hour_utc=f"{DAYS[week[peak].weekday()]} {week[peak]:%H:00}",
                service_level=level, occupancy=occupancy)


def _routing_rows(model: _Model, year: int, st: dict) -> list[dict]:
    rows = []
    for m, market in enumerate(model.base.markets):
        total = st["arrivals"][m].sum()
        for c in sorted(set(st["routes"][m].tolist())):
            share = st["arrivals"][m][st["routes"][m] == c].sum() / total if total > 0 else 0.0
            rows.append(dict(year=year, market_id=market.id, language=model.languages[model.market_language[m]],
                             centre_id=model.centres[c].id if c >= 0 else "unanswered", share_of_tickets=float(share)))
    return rows


def _closure_table(model: _Model, intact: dict, closures: dict) -> pd.DataFrame:
    """Per closed centre, each centre that takes some of its tickets: how many, how many of them in the
    fallback language (the taker does not speak the market's), and the agents that takes."""
    rows = []
    for closed, st in closures.items():
        moved = intact["routes"] != st["routes"]  # [M, H] only tickets the closed centre held move
        for c, centre in enumerate(model.centres):
            gained = np.where(moved & (st["routes"] == c), st["arrivals"], 0.0)  # [M, H]
            if centre.id == closed or gained.sum() <= 1e-9:
                continue
            foreign = ~model.speaks[c, model.market_language]  # [M] markets it answers in the fallback
            extra_hours = float(st["agents"][c].sum() - intact["agents"][c].sum())
            rows.append(dict(closed_centre=closed, centre_id=centre.id,
                             extra_tickets_per_week=float(gained.sum()),
                             in_fallback_per_week=float(gained[foreign].sum()),
                             extra_agent_hours_per_week=extra_hours,
                             extra_fte=extra_hours * WEEKS_PER_YEAR / PRODUCTIVE_HOURS_PER_AGENT_YEAR,
                             languages_moved=" ".join(sorted({model.languages[model.market_language[m]]
                                                              for m in np.flatnonzero(gained.sum(axis=1) > 0)}))))
        rows.append(dict(closed_centre=closed, centre_id="unanswered",
                         extra_tickets_per_week=float(st["unanswered"].sum() - intact["unanswered"].sum()),
                         in_fallback_per_week=0.0, extra_agent_hours_per_week=0.0, extra_fte=0.0, languages_moved=""))
    return pd.DataFrame(rows)


def _sentences(model: _Model, year: int, tables, closures: dict) -> list[str]:
    centres = tables[1]
    last = centres[centres.year == year]
    out = []
    for row in last.itertuples():
        if not row.in_service:
            continue
        out.append(f"{row.city} ({row.languages}; {row.hours}): {row.tickets_per_week:,.0f} tickets a week in "
                   f"{year}, peak {row.peak_agents} agents ({row.peak_hour_utc} UTC), "
                   f"{row.agent_hours_per_week:,.0f} agent-hours a week ({row.agents_fte:,.1f} FTE), service level "
                   f"{100 * row.service_level:.0f} %, occupancy {100 * row.occupancy:.0f} %.")
    table = tables[2]
    for closed in closures:
        part = table[(table.closed_centre == closed) & (table.centre_id != "unanswered")]
        lost = table[(table.closed_centre == closed) & (table.centre_id == "unanswered")].extra_tickets_per_week.sum()
        city = next(c.city for c in model.centres if c.id == closed)
        if part.empty:
            out.append(f"If {city} closes, nothing moves (it handles no tickets).")
            continue
        takers = "; ".join(f"{r.centre_id} takes {r.extra_tickets_per_week:,.0f} a week"
                           + (f" ({r.in_fallback_per_week:,.0f} of them in English)" if r.in_fallback_per_week >= 0.5
                              else "") + f", {r.extra_agent_hours_per_week:+,.0f} agent-hours ({r.extra_fte:+.1f} FTE)"
                           for r in part.itertuples())
        out.append(f"If {city} closes ({year}): {takers}"
                   + (f"; {lost:,.0f} tickets a week find no open centre." if lost > 1e-9 else "."))
    return out

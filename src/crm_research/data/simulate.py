"""An exact, vectorised simulator of a frequent-flyer programme with a known truth.

Members enrol over ten years and take a first flight soon after. From then on, while
active, a member flies as a Poisson process with rate ``lam ~ Gamma(r, alpha)`` and,
under the BG/NBD (Fader, Hardie & Lee 2005), drops out right after each repeat flight
with probability ``p ~ Beta(a, b)``; under the Pareto/NBD (Schmittlein, Morrison &
Colombo 1987) the lifetime is exponential with rate ``mu ~ Gamma(s, beta)``. Revenue per
flight follows the Gamma-Gamma model (Fader, Hardie & Lee 2005b): ``z ~ Gamma(gg_p,
rate=nu)``, ``nu ~ Gamma(gg_q, rate=gg_gamma)``, independent of the flight process by
default; with ``spend_frequency_elasticity`` (``e``) set, a member's mean revenue per
flight is scaled by ``(max(lam, spend_lam_ref / 20) / spend_lam_ref)^e`` (a constant
elasticity ``e``, bounded for the rarest flyers), so with ``e < 0`` frequent flyers pay
less per flight, as in real airline data (Spearman correlation of about -0.7 between
flights and mean revenue per flight among the textbook table's heavy flyers), and
Gamma-Gamma's independence assumption fails.

The simulation is exact in continuous time, unlike ``lifetimes.generate_data`` (which
counts flights in the same integer period once and so biases alpha: a fit on 50,000 of
its customers gives alpha 5.5 where the truth is 4.4). The number of flights in
``[0, H]`` is Poisson, and the first ``m`` of ``n`` uniform order statistics are drawn
from normalised exponential spacings, ``U_(k) = S_k / (S_m + G)`` with
``G ~ Gamma(n + 1 - m)``, so only the flights that are actually flown are generated.

Airline colour (DOMAIN.md): fare discount coefficients vary by member, business
travellers (high ``lam``) fly at higher discounts and on shorter routes; distance is
revenue / discount at a full fare of 1 yuan per km, so revenue is about 0.7 per km;
tiers follow mileage rules; complaints and no-shows are more frequent for members with
a high dropout propensity, and a complaint is likely on the flight right before a
dropout, so churn analysis has something real to find. The marginal flight process
stays exactly BG/NBD (or Pareto/NBD): complaints are *markers* of the dropout
propensity, which keeps the truth usable to score the models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from ..config import DEFAULT_OBS_END
from . import Dataset
from . import schema as S

DAYS_PER_WEEK = 7.0
NS_PER_DAY = np.int64(86_400_000_000_000)

#: Enrolment weights by year (rising, as in the textbook data: 14,598 in 2012).
ENROL_YEARS = {
    2004: 2.0,
    2005: 3.0,
    2006: 4.0,
    2007: 5.0,
    2008: 7.0,
    2009: 9.0,
    2010: 12.0,
    2011: 17.0,
    2012: 23.0,
    2013: 15.0,
    2014: 3.0,
}

CITIES = (
    ("广州", "广东", 0.18),
    ("北京", "北京", 0.14),
    ("上海", "上海", 0.10),
    ("深圳", "广东", 0.08),
    ("大连", "辽宁", 0.05),
    ("沈阳", "辽宁", 0.05),
    ("武汉", "湖北", 0.05),
    ("长沙", "湖南", 0.05),
    ("乌鲁木齐", "新疆", 0.05),
    ("成都", "四川", 0.05),
    ("哈尔滨", "黑龙江", 0.04),
    ("长春", "吉林", 0.04),
    ("重庆", "重庆", 0.04),
    ("杭州", "浙江", 0.04),
    ("海口", "海南", 0.04),
    ("香港", "香港", 0.02),
    ("东京", "东京", 0.01),
    ("首尔", "首尔", 0.01),
)

#: Covariates the simulator can give effects to: 0/1 indicators of member attributes.
COVARIATES = {
    "female": "GENDER is 女",
    "enrolled_since_2010": "FFP_DATE in 2010 or later",
}

#: WORK_COUNTRY of the cities abroad (all the others are "CN").
COUNTRY = {"东京": "JP", "首尔": "KR"}


@dataclass(frozen=True)
class SimulationParams:
    """True population parameters (time unit: weeks).

    Defaults give an airline-like member table (DOMAIN.md): a median of about seven
    flights in the two-year window among members who flew in it, a long tail of
    frequent flyers, about 1,300 km and 950 yuan per flight.
    """

    # BG/NBD: lam ~ Gamma(r, rate alpha) flights per week; p ~ Beta(a, b)
    r: float = 0.6
    alpha: float = 4.0
    a: float = 0.5
    b: float = 8.0
    # Pareto/NBD: mu ~ Gamma(s, rate beta) dropouts per week
    s: float = 0.6
    beta: float = 80.0
    # Gamma-Gamma: revenue per flight ~ Gamma(gg_p, rate nu), nu ~ Gamma(gg_q, rate gg_gamma)
    gg_p: float = 6.0
    gg_q: float = 4.0
    gg_gamma: float = 470.0
    # spend that depends on frequency: mean revenue x (max(lam, ref / 20) / ref)^e;
    # 0 = independent (the Gamma-Gamma assumption), < 0 = frequent flyers pay less
    spend_frequency_elasticity: float = 0.0
    spend_lam_ref: float = 0.15
    # airline colour
    first_flight_delay_days: float = 30.0
    business_lam: float = 0.4
    discount_business: float = 0.85
    discount_leisure: float = 0.65
    fare_per_km: float = 1.0
    km_min: float = 150.0
    km_max: float = 5000.0
    tier5_km_last_year: float = 22_000.0
    tier6_km_last_year: float = 45_000.0
    complaint_base: float = 0.004
    complaint_slope: float = 0.05
    complaint_before_dropout: float = 0.30
    noshow_base: float = 0.02
    noshow_business: float = 0.08
    noshow_slope: float = 0.06
    enrol_years: dict = field(default_factory=lambda: dict(ENROL_YEARS))
    # time-invariant covariate effects (Fader & Hardie 2007): {covariate: {parameter: g}},
    # covariate in COVARIATES, parameter "alpha", "a", "b" (BG/NBD) or "beta" (Pareto/NBD);
    # the member's parameter is multiplied by exp(g * z). Empty = none (the default
    # programme is unchanged)
    covariate_effects: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class SimulatedProgramme:
    """Output of :func:`simulate_programme`: input tables plus the ground truth."""

    flights: pd.DataFrame
    members: pd.DataFrame
    complaints: pd.DataFrame
    noshows: pd.DataFrame
    truth: pd.DataFrame
    params: SimulationParams
    obs_end: pd.Timestamp
    process: str
    seed: int

    def to_dataset(self, as_of=None) -> Dataset:
        """The :class:`Dataset` with the member snapshot built at ``as_of`` (default obs_end)."""
        from .snapshot import snapshot_of

        as_of = self.obs_end if as_of is None else pd.Timestamp(as_of)
        snap = snapshot_of(self, as_of)
        info = {
            "source": "synthetic",
            "obs_end": str(as_of.date()),
            "has_ffp_columns": True,
            "process": self.process,
            "seed": self.seed,
            "n_members": int(len(self.members)),
            "n_flights": int(len(self.flights)),
            "true_params": {
                k: v for k, v in self.params.as_dict().items() if not isinstance(v, dict)
            },
            "time_unit": "weeks",
        }
        return Dataset(
            snapshot=snap,
            flights=self.flights,
            members=self.members,
            complaints=self.complaints,
            noshows=self.noshows,
            truth=self.truth,
            info=info,
        )


def simulate_programme(
    n_members: int = 60_000,
    seed: int = 42,
    obs_end: str | pd.Timestamp = DEFAULT_OBS_END,
    process: str = "bgnbd",
    params: SimulationParams | None = None,
) -> SimulatedProgramme:
    """Simulate a frequent-flyer programme up to ``obs_end``.

    Parameters
    ----------
    n_members : int
        Members who enrolled and took at least one flight by ``obs_end``.
    seed : int
        Seed of the single random generator behind every draw.
    obs_end : date-like
        End of the observation (the flight log stops here; the textbook uses 2014-03-31).
    process : {"bgnbd", "pareto"}
        Dropout process: BG/NBD (after each repeat flight) or Pareto/NBD (exponential lifetime).
    params : SimulationParams, optional
        True population parameters (time unit weeks).

    Returns
    -------
    SimulatedProgramme
        ``flights``, ``members``, ``complaints``, ``noshows``, ``truth``, ``params``.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
    easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers:
    who are they and what will they do next? Management Science 33(1), 1-24.
    """
    if process not in ("bgnbd", "pareto"):
        raise ValueError(f"process must be 'bgnbd' or 'pareto', got {process!r}")
    n = int(n_members)
    if n < 1:
        raise ValueError(f"n_members must be at least 1, got {n_members!r}")
    P = params or SimulationParams()
    rng = np.random.default_rng(seed)
    obs_end = pd.Timestamp(obs_end).normalize()
    end_day = obs_end.value / 86_400e9  # days since epoch (float)

    # --- enrolment and first flight (days since epoch, continuous) ---------------------
    years = np.array(sorted(P.enrol_years))
    w = np.array([P.enrol_years[y] for y in years], dtype=float)
    yr = rng.choice(years, size=n, p=w / w.sum())
    start = pd.to_datetime([f"{y}-01-01" for y in years]).to_numpy()
    year_start = dict(zip(years, start.astype("datetime64[D]").astype(np.int64), strict=True))
    ys = np.array([year_start[y] for y in years], dtype=float)
    ys_m = ys[np.searchsorted(years, yr)]
    ffp = ys_m + rng.random(n) * 365.0
    ffp = np.minimum(ffp, end_day - 1.0)
    ffp = np.floor(ffp)
    delay = rng.exponential(P.first_flight_delay_days, n)
    room = end_day + 1.0 - ffp  # first flight on or before obs_end's day
    too_late = delay >= room
    delay[too_late] = rng.random(too_late.sum()) * room[too_late]
    t0 = ffp + delay  # continuous day of the first flight
    horizon = (end_day + 1.0 - t0) / DAYS_PER_WEEK  # weeks observed, up to the end of obs_end

    # --- latent traits --------------------------------------------------------------------
    mult, female = _covariate_multipliers(P, rng, n, yr, process)
    lam = rng.gamma(P.r, 1.0 / (P.alpha * mult["alpha"]), n)
    if process == "bgnbd":
        a_i, b_i = P.a * mult["a"], P.b * mult["b"]
        p = rng.beta(a_i, b_i, n)
        mu = np.full(n, np.nan)
        propensity = special.betainc(a_i, b_i, p)  # dropout propensity: Beta(a, b) cdf of p
    else:
        mu = rng.gamma(P.s, 1.0 / (P.beta * mult["beta"]), n)
        p = np.full(n, np.nan)
        propensity = special.gammainc(
            P.s, P.beta * mult["beta"] * mu
        )  # Gamma(s, rate beta) cdf of mu
    nu = rng.gamma(P.gg_q, 1.0 / P.gg_gamma, n)
    if P.spend_frequency_elasticity != 0.0:
        # mean revenue gg_p / nu scaled by (lam / ref)^e (lam floored at ref / 20, so the
        # rarest flyers stay finite); no extra draw, so the default
        # (e = 0) gives exactly the same programme as before
        if P.spend_lam_ref <= 0:
            raise ValueError(f"spend_lam_ref must be > 0, got {P.spend_lam_ref}")
        rel = np.maximum(lam, P.spend_lam_ref / 20.0) / P.spend_lam_ref
        nu = nu * rel ** (-P.spend_frequency_elasticity)

    # --- repeat flights -------------------------------------------------------------------
    # m = repeat flights actually flown; `length` = weeks over which the n_poisson flights
    # of the member's Poisson process are spread uniformly
    if process == "bgnbd":
        n_poisson = rng.poisson(lam * horizon)
        j_drop = rng.geometric(np.clip(p, 1e-12, 1.0))  # dropout after the j-th repeat flight
        m = np.minimum(j_drop, n_poisson)
        length = horizon
        died_in = j_drop <= n_poisson
    else:
        life = rng.exponential(1.0 / mu)
        length = np.minimum(life, horizon)
        n_poisson = rng.poisson(lam * length)
        m = n_poisson
        died_in = life <= horizon
    alive = ~died_in

    # --- the flight log -------------------------------------------------------------------
    # Flight arrays are laid out member by member: the first flight (time 0) followed by
    # the repeat flights in time order, so the log is already sorted by (member, date).
    # Per-member values are spread over a member's flights with np.repeat(x, per_member),
    # which is cheaper than gathering through an owner index.
    per_member = m.astype(np.int64) + 1
    first_pos = np.cumsum(per_member) - per_member  # position of each member's first flight
    last_pos = first_pos + per_member - 1  # ... and of its last flight
    n_f = int(per_member.sum())
    f_day, last_t = _flight_days(rng, n_poisson, m, length, t0, per_member, first_pos)
    np.minimum(f_day, end_day, out=f_day)  # guard against rounding at the edge
    if process == "bgnbd":
        # dropout right after the m-th repeat flight, or (still alive at the horizon) after
        # the remaining j_drop - n_poisson flights of the Poisson process beyond it
        extra = np.maximum(j_drop - n_poisson, 1).astype(float)
        death_t = np.where(
            died_in,
            last_t,
            horizon + rng.gamma(extra, 1.0) / np.maximum(lam, 1e-300),
        )
    else:
        death_t = life

    business = rng.random(n) < 1.0 / (1.0 + np.exp(-3.0 * (np.log(lam) - np.log(P.business_lam))))
    disc_mean = np.where(business, P.discount_business, P.discount_leisure)
    disc_member = np.clip(disc_mean * rng.lognormal(0.0, 0.12, n), 0.3, 1.4)
    # discount = member's coefficient x lognormal(0, 0.15) noise, rounded to 0.01: the noise
    # is drawn in float32 (half the memory, faster), far finer than that rounding
    disc = np.repeat(disc_member, per_member)
    noise = rng.standard_normal(n_f, dtype=np.float32)
    noise *= np.float32(0.15)
    disc *= np.exp(noise, out=noise)
    del noise
    np.clip(disc, 0.14, 1.5, out=disc)
    np.round(disc, 2, out=disc)
    revenue = rng.standard_gamma(P.gg_p, n_f)  # Gamma(gg_p, rate nu) = Gamma(gg_p, 1) / nu
    revenue /= np.repeat(nu, per_member)
    km = revenue / disc  # at full fare P.fare_per_km yuan per km
    km /= P.fare_per_km
    np.clip(km, P.km_min, P.km_max, out=km)
    np.round(km, out=km)
    np.round(revenue, 2, out=revenue)
    cabin = pd.Categorical.from_codes((disc >= 1.2).astype(np.int8), categories=["Y", "C"])

    member_no = np.arange(1, n + 1, dtype=np.int64)
    f_member = np.repeat(member_no, per_member)
    # copy=False: the columns are fresh arrays, so pandas can keep them as they are
    # instead of copying the float columns into one consolidated block
    flights = pd.DataFrame(
        {
            S.MEMBER: f_member,
            S.FLIGHT_DATE: _days_to_datetime(f_day),
            S.SEG_KM: km,
            S.DISCOUNT: disc,
            S.REVENUE: revenue,
            S.CABIN: cabin,
        },
        copy=False,
    )

    # --- complaints and no-shows ----------------------------------------------------------
    # One Bernoulli draw per flight; the uniforms are float32 (resolution 6e-8, far below
    # any rate here) to halve the memory traffic.
    complaint_rate = P.complaint_base + P.complaint_slope * propensity
    u = rng.random(n_f, dtype=np.float32)
    has_c = u < np.repeat(complaint_rate.astype(np.float32), per_member)
    # the flight right before a dropout that happened within the observation
    at = last_pos[died_in]
    has_c[at] = u[at] < np.maximum(complaint_rate[died_in], P.complaint_before_dropout)
    c_day = np.minimum(f_day[has_c] + rng.integers(0, 4, has_c.sum()), end_day)
    complaints = _event_table(f_member[has_c], c_day, S.COMPLAINT_DATE)
    del has_c
    noshow_rate = P.noshow_base + P.noshow_business * business + P.noshow_slope * propensity
    rng.random(dtype=np.float32, out=u)
    has_ns = u < np.repeat(noshow_rate.astype(np.float32), per_member)
    del u
    # a no-show 1-14 days before a flight, but not before the member's first flight
    ns_member = f_member[has_ns]
    first_day = f_day[first_pos]  # = floor(t0)
    ns_day = np.maximum(f_day[has_ns] - rng.integers(1, 15, has_ns.sum()), first_day[ns_member - 1])
    noshows = _event_table(ns_member, ns_day, S.NOSHOW_DATE)

    # --- member table ---------------------------------------------------------------------
    last_year = f_day > end_day - 365.0
    # km flown in the last year, summed over each member's run of flights (never empty)
    km_ly = np.add.reduceat(np.where(last_year, km, 0.0), first_pos)
    del last_year
    tier = np.where(km_ly >= P.tier6_km_last_year, 6, np.where(km_ly >= P.tier5_km_last_year, 5, 4))
    city_idx = rng.choice(len(CITIES), size=n, p=_norm([c[2] for c in CITIES]))
    city = np.array([c[0] for c in CITIES], dtype=object)[city_idx]
    province = np.array([c[1] for c in CITIES], dtype=object)[city_idx]
    country = np.array([COUNTRY.get(c[0], "CN") for c in CITIES], dtype=object)[city_idx]
    age = np.clip(np.round(rng.normal(41.0 + 3.0 * business, 9.5)), 18, 85).astype(np.int64)
    if female is None:
        female = rng.random(n) >= 0.76
    gender = np.array(["男", "女"], dtype=object)[female.astype(np.int8)]
    members = pd.DataFrame(
        {
            S.MEMBER: member_no,
            S.FFP_DATE: _days_to_datetime(ffp),
            "FFP_TIER": tier.astype(np.int64),
            "GENDER": gender,
            "AGE": age,
            "WORK_CITY": city,
            "WORK_PROVINCE": province,
            "WORK_COUNTRY": country,
        },
        copy=False,  # fresh arrays: no need for pandas to copy them into blocks
    )

    # --- the truth -----------------------------------------------------------------------
    death_day = t0 + death_t * DAYS_PER_WEEK
    limit = pd.Timestamp("2200-01-01").value / 86_400e9
    death_date = _days_to_datetime(np.where(death_day < limit, np.floor(death_day), np.nan))
    truth = pd.DataFrame(
        {
            S.MEMBER: member_no.copy(),  # not shared with the member table
            "first_flight_date": _days_to_datetime(np.floor(t0)),
            "lam": lam,
            "p": p,
            "mu": mu,
            "death_time_weeks": death_t,
            "death_date": death_date,
            "alive": alive,
            "nu": nu,
            "mean_revenue": P.gg_p / nu,
            "business": business,
            "complaint_rate": complaint_rate,
            "noshow_rate": noshow_rate,
            "n_flights": per_member,
        },
        copy=False,
    )
    return SimulatedProgramme(
        flights=flights,
        members=members,
        complaints=complaints.reset_index(drop=True),
        noshows=noshows.reset_index(drop=True),
        truth=truth,
        params=P,
        obs_end=obs_end,
        process=process,
        seed=int(seed),
    )


def _covariate_multipliers(P: SimulationParams, rng, n: int, yr, process: str):
    """Per-member factors ``exp(sum_c g_c z_c)`` of alpha, a, b, beta, and the gender draw.

    Without covariate effects every factor is 1 and gender is drawn later, as before.
    """
    ones = {k: np.ones(n) for k in ("alpha", "a", "b", "beta")}
    effects = P.covariate_effects or {}
    if not effects:
        return ones, None
    allowed = {"bgnbd": ("alpha", "a", "b"), "pareto": ("alpha", "beta")}[process]
    female = rng.random(n) >= 0.76  # drawn before the traits when they depend on it
    z = {"female": female.astype(float), "enrolled_since_2010": (yr >= 2010).astype(float)}
    log_mult = {k: np.zeros(n) for k in ones}
    for cov, eff in effects.items():
        if cov not in COVARIATES:
            raise ValueError(
                f"covariate_effects: unknown covariate {cov!r}; known: {sorted(COVARIATES)}"
            )
        for par, g in eff.items():
            if par not in allowed:
                raise ValueError(
                    f"covariate_effects[{cov!r}]: parameter {par!r} is not one of {allowed} "
                    f"(process {process!r})"
                )
            log_mult[par] += float(g) * z[cov]
    return {k: np.exp(v) for k, v in log_mult.items()}, female


def _flight_days(
    rng: np.random.Generator,
    n_events: np.ndarray,
    m: np.ndarray,
    length: np.ndarray,
    t0: np.ndarray,
    per_member: np.ndarray,
    first_pos: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The day of every flight in the log, member by member.

    Member ``i`` flies first at ``t0_i`` (days since the epoch), then at the first ``m_i``
    of ``n_i`` sorted uniform times on ``[0, length_i]`` weeks after it. Uses normalised
    exponential spacings: with ``S_k`` the cumulative sum of standard exponentials,
    ``U_(k) = S_k / S_{n+1}`` and ``S_{n+1} = S_m + Gamma(n + 1 - m)``, so only the ``m``
    flights actually flown are drawn.

    Returns the flight days since the epoch (floored, float, in the layout of the flight
    log: member by member, the first flight then the repeats) and each member's time of
    its last flight in weeks after ``t0`` (0 without a repeat flight).
    """
    # One exponential per flight slot, the first flight's slot set to 0: one running sum
    # over the whole log, minus its value at the member's first slot, then gives the
    # member's S_1..S_m. (The running sum grows to about n_f; at 14 million flights its
    # rounding moves a flight time by about a second over ten years.)
    x = rng.standard_exponential(int(per_member.sum()))
    x[first_pos] = 0.0
    np.cumsum(x, out=x)
    base = x[first_pos]
    s_m = x[first_pos + m] - base
    s_total = s_m + rng.gamma(np.maximum(n_events - m + 1, 1).astype(float), 1.0)
    weeks_per_unit = length / s_total
    # in place: x -> S_k -> weeks after the first flight -> days since the epoch
    x -= np.repeat(base, per_member)
    x *= np.repeat(weeks_per_unit, per_member)
    x *= DAYS_PER_WEEK
    x += np.repeat(t0, per_member)
    np.floor(x, out=x)
    # the same arithmetic as the flight at first_pos + m, so a death right after the last
    # flight falls on that flight's day
    last_t = s_m * weeks_per_unit
    return x, last_t


def _event_table(member: np.ndarray, day: np.ndarray, date_col: str) -> pd.DataFrame:
    """Complaints or no-shows: (member, whole day since the epoch), sorted by both."""
    d = day.astype(np.int64)
    d -= d.min(initial=0)  # non-negative even for days before 1970
    # one int64 key, member then day; the stable sort (timsort) is near-linear on this
    # almost sorted input (member ids already ascending), much faster than np.lexsort
    order = np.argsort(member * (d.max(initial=0) + 1) + d, kind="stable")
    return pd.DataFrame({S.MEMBER: member[order], date_col: _days_to_datetime(day[order])})


def _days_to_datetime(days: np.ndarray) -> np.ndarray:
    """Whole days since the epoch (float, NaN allowed) -> datetime64[ns] (NaN -> NaT)."""
    days = np.asarray(days, dtype=float)
    ok = ~np.isnan(days)
    if ok.all():
        ns = days.astype(np.int64)
        ns *= NS_PER_DAY  # in place: one array of the log's length, not three
    else:
        ns = np.full(days.shape, np.iinfo(np.int64).min)  # the integer value of NaT
        ns[ok] = days[ok].astype(np.int64) * NS_PER_DAY
    return ns.view("datetime64[ns]")


def _norm(w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum()

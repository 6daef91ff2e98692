"""Customers of one block: latent traits, characteristic attributes, personal data.

The latent traits drawn here drive every other table: purchase rate ``lam``, staying power
(``mu`` or ``p``), spend scale ``nu`` and the satisfaction propensity ``xi``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import special

from custlens.schema import TABLES
from custlens.synth import _vocab as V
from custlens.synth._arrow import join, padded, take, timestamps
from custlens.synth.params import CompanyParams

__all__ = ["Period", "Population", "draw_population", "customers_table", "identity_table"]

_INCOME_SHARES = (0.15, 0.30, 0.30, 0.18, 0.07)
_SIZE_SHARES = (0.35, 0.35, 0.20, 0.10)
_SIZE_CAPITAL_LOG = (13.0, 14.5, 16.5, 18.5)  # log registered capital by size band
_SIZE_LISTED = (0.0, 0.01, 0.05, 0.35)
_ACQ_PERSONAL = (0.30, 0.25, 0.20, 0.15, 0.0, 0.0, 0.10)
_ACQ_CORPORATE = (0.10, 0.0, 0.0, 0.20, 0.20, 0.35, 0.15)
# preferred sales channel per acquisition channel (index into V.CHANNELS)
_PREFERRED_CHANNEL = np.array([1, 2, 0, 1, 4, 3, 0])


@dataclass(frozen=True)
class Period:
    """The observation period: start (UTC midnight) and its length in days."""

    start_us: int
    start_day: int
    days: float


@dataclass
class Population:
    """One block of customers as arrays (positions 0..n-1 within the block)."""

    number: np.ndarray  # customer number (global, 1-based)
    customer_id: pa.Array
    corporate: np.ndarray
    created: np.ndarray  # days after the period start
    first_purchase: np.ndarray  # days; NaN without purchase
    xi: np.ndarray  # satisfaction propensity, N(0, 1)
    lam: np.ndarray  # purchase rate per day
    stay: np.ndarray  # dropout rate per day (pareto_nbd) or dropout probability (bg_nbd)
    nu: np.ndarray  # Gamma-Gamma spend scale
    spend_score: np.ndarray  # standard score of the mean order value p / nu
    region: np.ndarray
    city: np.ndarray
    industry: np.ndarray  # -1 for personal customers
    acquisition: np.ndarray
    preferred_channel: np.ndarray
    favourite_category: np.ndarray

    @property
    def n(self) -> int:
        return len(self.number)

    @property
    def tz(self) -> pa.Array:
        """IANA time zone of each customer's city."""
        return take([c.tz for c in V.CITIES], self.city)


def _cities_by_region() -> tuple[np.ndarray, np.ndarray]:
    """Start offset and count of the cities of each region in :data:`V.CITIES`."""
    codes = [c.region for c in V.CITIES]
    first = np.array([codes.index(r) for r in V.REGION_CODES])
    count = np.array([codes.count(r) for r in V.REGION_CODES])
    return first, count


def _banded(rng: np.random.Generator, score: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Bands of a standard-normal ``score`` mixed with noise, cut at fixed normal quantiles."""
    noisy = 0.7 * score + np.sqrt(1 - 0.49) * rng.standard_normal(len(score))
    cuts = special.ndtri(np.cumsum(shares)[:-1])
    return np.searchsorted(cuts, noisy)


def draw_population(
    rng: np.random.Generator, first_number: int, n: int, period: Period, params: CompanyParams
) -> Population:
    """Draw ``n`` customers numbered from ``first_number``."""
    number = np.arange(first_number, first_number + n, dtype=np.int64)
    corporate = rng.random(n) < params.corporate_share
    created = period.days * rng.random(n) ** (1.0 / (1.0 + params.acquisition_growth))
    buys = rng.random(n) >= params.no_purchase_share
    first = created + rng.exponential(max(params.first_purchase_delay_days, 1e-9), n)
    first = np.where(buys & (first < period.days), first, np.nan)

    # Gaussian copula: xi is correlated with the normal scores of lam and of the dropout,
    # whose Gamma/Beta marginals are kept exactly by the inverse-CDF transform.
    z_lam = rng.standard_normal(n)
    rho = params.rate_propensity_corr
    xi = rho * z_lam + np.sqrt(1 - rho * rho) * rng.standard_normal(n)
    lam = special.gammaincinv(params.r, _unit(z_lam)) / params.alpha / 7.0
    rho = params.dropout_propensity_corr
    z = -rho * xi + np.sqrt(1 - rho * rho) * rng.standard_normal(n)
    u = _unit(z)
    if params.process == "pareto_nbd":
        stay = special.gammaincinv(params.s, u) / params.beta / 7.0
    else:
        stay = special.betaincinv(params.a, params.b, u)
    g = rng.gamma(params.q, 1.0, n)
    gamma = np.where(corporate, params.gamma_corporate, params.gamma_personal)
    nu = g / gamma
    # standard score of the mean spend p/nu, used to band income and company size
    spend_score = -(np.log(g) - special.digamma(params.q)) / np.sqrt(special.polygamma(1, params.q))

    region = rng.choice(len(V.REGION_CODES), n, p=np.array(V.REGION_WEIGHTS) / sum(V.REGION_WEIGHTS))
    first_city, n_cities = _cities_by_region()
    city = first_city[region] + (rng.random(n) * n_cities[region]).astype(np.int64)
    industry = np.where(corporate, rng.integers(0, len(V.INDUSTRIES), n), -1)
    acq_p = np.where(corporate[:, None], np.array(_ACQ_CORPORATE), np.array(_ACQ_PERSONAL))
    acquisition = _choose_rows(rng, acq_p)
    cat_p = np.where(
        corporate[:, None], np.array(V.CATEGORY_POPULARITY["corporate"]), np.array(V.CATEGORY_POPULARITY["personal"])
    )
    favourite = _choose_rows(rng, cat_p)
    return Population(
        number=number,
        customer_id=join("C", padded(number, 8)),
        corporate=corporate,
        created=created,
        first_purchase=first,
        xi=xi,
        lam=lam,
        stay=stay,
        nu=nu,
        spend_score=spend_score,
        region=region,
        city=city,
        industry=industry,
        acquisition=acquisition,
        preferred_channel=_PREFERRED_CHANNEL[acquisition],
        favourite_category=favourite,
    )


def _unit(z: np.ndarray) -> np.ndarray:
    """Standard-normal scores mapped to (0, 1), clipped away from the ends."""
    return np.clip(special.ndtr(z), 1e-15, 1 - 1e-15)


def _choose_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of a matrix of probabilities (rows sum to one)."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    return (rng.random((len(probs), 1)) > cum).sum(axis=1)


def customers_table(rng: np.random.Generator, pop: Population, period: Period) -> pa.Table:
    """The ``customers`` rows of a block."""
    n = pop.n
    corp = pop.corporate
    pers = ~corp
    score = pop.spend_score
    size = _banded(rng, score, _SIZE_SHARES)
    capital = np.round(np.exp(np.array(_SIZE_CAPITAL_LOG)[size] + 0.6 * rng.standard_normal(n)), -3)
    sales = np.round(capital * np.exp(0.5 + 0.8 * rng.standard_normal(n)), -3)
    listed = rng.random(n) < np.array(_SIZE_LISTED)[size]
    income = _banded(rng, score, _INCOME_SHARES)
    age = rng.choice(len(V.AGE_BANDS), n, p=[0.12, 0.28, 0.25, 0.18, 0.11, 0.06])
    education = rng.choice(len(V.EDUCATION), n, p=[0.20, 0.25, 0.38, 0.14, 0.03])
    occupation = rng.choice(len(V.OCCUPATIONS), n, p=[0.25, 0.12, 0.08, 0.18, 0.12, 0.08, 0.10, 0.07])
    occupation = np.where(age == 0, np.where(rng.random(n) < 0.6, 5, occupation), occupation)
    occupation = np.where((age >= 4) & (occupation == 5), 6, occupation)
    gender = rng.integers(0, 2, n)
    cols = {
        "customer_id": pop.customer_id,
        "customer_type": take(("personal", "corporate"), corp.astype(np.int64)),
        "region": take(V.REGION_CODES, pop.region),
        "city": take([c.en for c in V.CITIES], pop.city),
        "industry": take([i[0] for i in V.INDUSTRIES], np.maximum(pop.industry, 0), pers),
        "company_size": take(V.COMPANY_SIZES, size, pers),
        "registered_capital": pa.array(capital, mask=pers),
        "annual_sales": pa.array(sales, mask=pers),
        "listed": pa.array(listed, mask=pers),
        "gender": take(V.GENDERS, gender, corp),
        "age_band": take(V.AGE_BANDS, age, corp),
        "education": take(V.EDUCATION, education, corp),
        "income_band": take(V.INCOME_BANDS, income, corp),
        "occupation": take(V.OCCUPATIONS, occupation, corp),
        "acquisition_channel": take(V.ACQUISITION_CHANNELS, pop.acquisition),
        "created_at": timestamps(period.start_us, pop.created),
        "consent_marketing": pa.array(rng.random(n) < 0.70),
        "consent_profiling": pa.array(rng.random(n) < 0.85),
    }
    return pa.Table.from_pydict(cols, schema=TABLES["customers"].arrow_schema())


def _person_names(rng: np.random.Generator, n: int, english: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Full names plus the romanised given and family names (for e-mail addresses)."""
    sur = rng.integers(0, len(V.SURNAMES), n)
    given = rng.integers(0, len(V.GIVEN_NAMES), n)
    first_en = rng.integers(0, len(V.EN_FIRST_NAMES), n)
    last_en = rng.integers(0, len(V.EN_LAST_NAMES), n)
    zh_name = join(take([s[0] for s in V.SURNAMES], sur), take([g[0] for g in V.GIVEN_NAMES], given))
    en_name = join(take(V.EN_FIRST_NAMES, first_en), " ", take(V.EN_LAST_NAMES, last_en))
    en = pa.array(english)
    name = pc.if_else(en, en_name, zh_name)
    first_word = pc.if_else(en, take(V.EN_FIRST_NAMES, first_en), take([g[1] for g in V.GIVEN_NAMES], given))
    last_word = pc.if_else(en, take(V.EN_LAST_NAMES, last_en), take([s[1] for s in V.SURNAMES], sur))
    return name, first_word, last_word


def identity_table(rng: np.random.Generator, pop: Population) -> pa.Table:
    """The ``identity`` rows (names, phones, e-mails, addresses) of a block."""
    n = pop.n
    corp = pop.corporate
    overseas = np.array([c.region == "overseas" for c in V.CITIES])[pop.city]
    english = np.where(overseas, rng.random(n) < 0.8, rng.random(n) < 0.15)
    person, first_word, last_word = _person_names(rng, n, english)
    contact, _, _ = _person_names(rng, n, np.where(overseas, rng.random(n) < 0.8, rng.random(n) < 0.1))
    word = rng.integers(0, len(V.COMPANY_WORDS), n)
    ind = np.maximum(pop.industry, 0)
    city_zh = take([c.zh for c in V.CITIES], pop.city)
    city_en = take([c.en for c in V.CITIES], pop.city)
    company_zh = join(
        city_zh, take([w[0] for w in V.COMPANY_WORDS], word), take([i[1] for i in V.INDUSTRIES], ind), "有限公司"
    )
    company_en = join(
        city_en,
        " ",
        take([w[1] for w in V.COMPANY_WORDS], word),
        " ",
        take([i[2] for i in V.INDUSTRIES], ind),
        " Co., Ltd.",
    )
    company_english = overseas | (rng.random(n) < 0.2)
    company = pc.if_else(pa.array(company_english), company_en, company_zh)
    name = pc.if_else(pa.array(corp), company, person)

    num = padded(pop.number, 8)
    mobile = join(
        take(V.MOBILE_PREFIXES, rng.integers(0, len(V.MOBILE_PREFIXES), n)),
        " ",
        padded(rng.integers(0, 10_000, n), 4),
        " ",
        padded(rng.integers(0, 10_000, n), 4),
    )
    other = join(padded(rng.integers(1000, 10_000, n), 4), " ", padded(rng.integers(0, 10_000, n), 4))
    phone = join(take([c.country_code for c in V.CITIES], pop.city), " ", pc.if_else(pa.array(overseas), other, mobile))
    personal_mail = join(pc.utf8_lower(first_word), ".", pc.utf8_lower(last_word), ".", num, "@example.com")
    corporate_mail = join(
        "contact.", num, "@", pc.utf8_lower(take([w[1] for w in V.COMPANY_WORDS], word)), ".example.cn"
    )
    email = pc.if_else(pa.array(corp), corporate_mail, personal_mail)
    house = padded(rng.integers(1, 1000, n), 1)
    addr_zh = join(city_zh, "市", take(V.ROADS_ZH, rng.integers(0, len(V.ROADS_ZH), n)), house, "号")
    addr_en = join(house, " ", take(V.ROADS_EN, rng.integers(0, len(V.ROADS_EN), n)), ", ", city_en)
    address = pc.if_else(pa.array(overseas), addr_en, addr_zh)
    no_phone = rng.random(n) < 0.03
    no_mail = rng.random(n) < 0.08
    cols = {
        "customer_id": pop.customer_id,
        "name": name,
        "contact_person": pc.if_else(pa.array(corp), contact, pa.scalar(None, pa.string())),
        "phone": pc.if_else(pa.array(no_phone), pa.scalar(None, pa.string()), phone),
        "email": pc.if_else(pa.array(no_mail), pa.scalar(None, pa.string()), email),
        "address": address,
        "postcode": take([c.postcode for c in V.CITIES], pop.city),
    }
    return pa.Table.from_pydict(cols, schema=TABLES["identity"].arrow_schema())

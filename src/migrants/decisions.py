"""Migration decisions: who considers moving, what each city is worth to them, the logit choice.

1. **Considering** (``select_considerers``): a monthly hazard that depends on
   life stage: ``base x unemployed x young/old x children x owner`` factors;
   graduates consider in their month of graduation with certainty.
2. **Utility** of city j for a person of type k (education x children x
   recent graduate) living in c, with origin o and hukou h::

     U = beta_income * log(max(E[w_ej] * p_emp_j + subsidy_kj - rent_j, floor))   (Harris-Todaro)
       + beta_size * log(residents_j / 1e6)            (a city is many alternatives)
       + children * (beta_school * school_access_j + beta_childcare * childcare_j)
       + [j != o] * beta_network * log(1 + share_oj / NETWORK_REF_SHARE)   (diaspora pull)
       + [j == h] * (hukou_value + children * beta_school * (1 - school_access_j))
       - [j != c] * (move_cost_fixed + move_cost_per_log_hour * log(1 + hours_cj)
                     + move_cost_province * [province differs])
       + [j != c and j in (h, o)] * return_bonus
       + Gumbel taste shock

   Staying uses the person's own income (wage, or expected wage if unemployed)
   and pays rent only if they rent.  The choice is multinomial logit.
3. Because every deterministic term is a sum of pieces indexed by (k, j),
   (c, j) and (o, j), ``exp(U)`` is a product of small tables computed once a
   month; the per-person kernel multiplies table entries and draws one uniform
   (inverse-CDF sampling of the logit), with no exp or log in the hot loop.
4. **Moves** (``apply_moves``): a person who chose another city finds a job
   there before moving (a job-led move) with the remote job-finding
   probability; otherwise the unemployed and new graduates move and search
   (speculative move), while the employed mostly stay put.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from .population import EDU_PREMIUM, OWNER, UNEMPLOYED
from .kernels import NCHUNK, chunk_starts, rows_of_bits, selection_bits
from .labour import draw_sector, hire, offer_noise, relocate
from .rng import SALT_MOVE_OFFER, SALT_MOVE_SECTOR, SALT_MOVE_SPEC, uniform

@dataclass
class Services:
    """What places offer besides wages and rents, as this month's cards set it (model state;
    ``MigrationModel.services``)."""

    school_access: np.ndarray = None   # (J,) share of migrants' children in public schools
    childcare: np.ndarray = None       # (J,) childcare places per 1,000 residents
    subsidy: np.ndarray = None         # (K, J) expected subsidies, CNY a month by person type and place
    subsidy_spend: np.ndarray = None   # (C,) the month's policy spend, CNY


@dataclass
class Outside:
    """The rest of China as the model sees it (model state; ``MigrationModel.outside``)."""

    wage_level: float = 0.0    # CNY a month
    wage_growth: float = 0.0   # this year's
    rent: float = 0.0          # CNY per person a month


N_TYPES = 6 * 2 * 2
RECENT_GRAD_MONTHS = 36


def type_table():
    """(education, has_children, recent_graduate) of each type index, arrays of length 24: the
    person types of the utility tables are ``education * 4 + has_children * 2 + recent_graduate``
    (``person_types``)."""
    k = np.arange(N_TYPES)
    return k // 4, (k // 2) % 2, k % 2


def hazard_by_age(base, f_young, f_old) -> np.ndarray:
    """Monthly hazard of weighing a move by age (128,): ``base`` x the young (< 30) or old (45+) factor."""
    a = np.arange(128)
    return base * np.where(a < 30, f_young, np.where(a >= 45, f_old, 1.0))


@njit(inline="always", cache=True)
def _considers(i, city, status, age, children, housing, grad_month, month, by_age, f_unemp, f_kids, f_owner, C,
               key):
    # branch-free: the attributes are random across rows, so branches would mispredict
    c = city[i]
    h = by_age[age[i]]
    h *= f_unemp if status[i] == UNEMPLOYED else 1.0
    h *= f_kids if children[i] > 0 else 1.0
    h *= f_owner if housing[i] == OWNER else 1.0
    h = 2.0 if grad_month[i] == month else h  # graduates weigh a move in their month of graduation
    return (uniform(key, i) < h) & (c >= 0) & (c < C)


@njit(parallel=True, fastmath=True, cache=True)
def select_considerers(city, status, age, children, housing, grad_month, month, by_age, f_unemp, f_kids, f_owner,
                       C, key):
    """Rows of people in simulated cities who weigh a move this month (ascending order).

    ``by_age`` (128,) is ``hazard_by_age(...)``; the hazard is multiplied by
    the unemployed, children and owner factors.  Two passes over fixed chunks
    (count, then fill), so the result is the same whatever the number of threads.
    """
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    counts = np.zeros(NCHUNK, np.int64)
    for ch in prange(NCHUNK):
        k = 0
        for i in range(ch * step, min(n, (ch + 1) * step)):
            k += _considers(i, city, status, age, children, housing, grad_month, month, by_age, f_unemp, f_kids,
                            f_owner, C, key)
        counts[ch] = k
    start = chunk_starts(counts)
    rows = np.empty(start[NCHUNK], np.int64)
    for ch in prange(NCHUNK):
        k = start[ch]
        for i in range(ch * step, min(n, (ch + 1) * step)):
            if _considers(i, city, status, age, children, housing, grad_month, month, by_age, f_unemp, f_kids,
                          f_owner, C, key):
                rows[k] = i
                k += 1
    return rows


@njit(parallel=True, fastmath=True, cache=True)
def select_considerers_and_returners(city, status, age, children, housing, grad_month, month, by_age, f_unemp,
                                     f_kids, f_owner, C, key, return_rate, key_return):
    """``select_considerers`` and ``select_returners`` in one pass: returns (considerers, returners), each
    ascending.  Both read the columns as they are before any move of the month (``choose_destinations``,
    between them in the month, changes no column), and each row's draws are keyed by its index, so
    the rows are those of the two kernels.  The pass keeps a bit per row and selection
    (``kernels.selection_bits``) and reads the rows off them, so no row is tested twice.
    """
    n = city.size
    bits, counts, step, words = selection_bits(n, 2)
    for ch in prange(NCHUNK):
        k0 = 0
        k1 = 0
        lo = ch * step
        hi = min(n, lo + step)
        for wi in range(words):
            s = lo + wi * 64
            e = min(hi, s + 64)
            w0 = np.uint64(0)
            w1 = np.uint64(0)
            for i in range(s, e):
                sel = _considers(i, city, status, age, children, housing, grad_month, month, by_age, f_unemp,
                                 f_kids, f_owner, C, key)
                back = city[i] == C
                if back:
                    back = uniform(key_return, i) < return_rate
                w0 |= np.uint64(sel) << np.uint64(i - s)
                w1 |= np.uint64(back) << np.uint64(i - s)
                k0 += sel
                k1 += back
            bits[0, ch * words + wi] = w0
            bits[1, ch * words + wi] = w1
        counts[0, ch] = k0
        counts[1, ch] = k1
    return rows_of_bits(bits[0], counts[0], step, words), rows_of_bits(bits[1], counts[1], step, words)


NETWORK_REF_SHARE = 0.01  # a diaspora of 1% of the residents doubles the term's argument


def network_pull(origin_share, beta):
    """exp of the network term, (J, J) [o, j]: ``(1 + share_oj / 0.01) ** beta``, and 1 at home.

    A place with no one from your origin is neutral (not a penalty); at home the
    pull is already in the hukou and return terms, so it is not counted twice.
    """
    EN = (1.0 + origin_share / NETWORK_REF_SHARE) ** beta
    np.fill_diagonal(EN, 1.0)
    return EN


def utility_tables(p, wage_level, p_emp, rent, subsidy, school_access, childcare, hours, cross_province,
                   origin_share, residents=None, amenity=None):
    """Monthly tables whose products give exp(U) (see module docstring).

    Parameters
    ----------
    p : Decisions parameters
    wage_level, p_emp, rent : (J,) CNY/month, probability, CNY/month; J = C+1 (rest of China last)
    subsidy : (K, J) CNY/month a person of type k would receive in j
    school_access : (J,) share of migrants' children admitted to public school
    childcare : (J,) childcare places per 1,000 residents
    hours, cross_province : (J, J) travel time and province-line indicator
    origin_share : (J, J) [o, j] share of j's residents whose origin is o
    residents : (J,) persons, or None (no size term).  The size term follows
        McFadden (1978): a city stands for many dwellings and jobs, so the
        log of its size enters the utility of the aggregate alternative.

    Returns
    -------
    EA (K, J), EB (J, J), EN (J, J), EH (K, J), ret (scalar), net (K, J) CNY/month
    """
    edu, kids, _ = type_table()
    expected = wage_level[None, :] * EDU_PREMIUM[edu][:, None] * p_emp[None, :]
    # at least 1 CNY a month: a place where nobody is employed (no expected income) is then all but
    # never chosen by newcomers (utility beta x log 1 = 0 against about beta x 8), while its residents'
    # stay factor (own / net) ** beta stays finite and gives them their own income's utility
    net = np.maximum(np.maximum(expected + subsidy - rent[None, :], p.income_floor_share.value * expected), 1.0)
    services = kids[:, None] * (p.beta_school.value * school_access[None, :] + p.beta_childcare.value * childcare[None, :])
    ua = p.beta_income.value * np.log(net) + services
    if residents is not None:
        ua = ua + p.beta_size.value * np.log(np.maximum(residents, 1.0) / 1e6)[None, :]
    ua[:, -1] += p.rest_of_china_constant.value  # what the one node for the rest of the country leaves out
    if amenity is not None:
        ua[:, :-1] += amenity[None, :]
    EA = np.exp(ua - ua.max(1, keepdims=True))
    cost = p.move_cost_fixed.value + p.move_cost_per_log_hour.value * np.log1p(hours) + p.move_cost_province.value * cross_province
    EB = np.exp(-cost)
    np.fill_diagonal(EB, 1.0)
    EN = network_pull(origin_share, p.beta_network.value)
    EH = np.exp(p.hukou_value.value + kids[:, None] * p.beta_school.value * (1 - school_access[None, :]))
    ret = float(np.exp(p.return_bonus.value))
    return EA, EB, EN, EH, ret, net


def outsider_choices(EA, EB, EN, considerers, rng) -> np.ndarray:
    """Where people from outside the simulated cities who weigh a move this month choose to go.

    The boundary flow into the region: the same logit as everyone's, seen from
    place C (the rest of China): place j has weight ``EA[k, j] * EB[C, j] *
    EN[C, j]`` and staying outside ``EA[k, C]``, for the type k of a newcomer
    with education e (no children, not a recent graduate: ``k = 4 e``).

    considerers : (6,) int, agents by education; rng : numpy Generator.
    Returns (6, J) agents by education and chosen place (column C: they stay outside).
    """
    C = EA.shape[1] - 1
    out = np.zeros((6, C + 1), np.int64)
    for e in range(6):
        w = EA[4 * e] * EB[C] * EN[C]  # EB[C, C] = EN[C, C] = 1: staying costs nothing
        out[e] = rng.multinomial(int(considerers[e]), w / w.sum())
    return out


def stay_factors(rows, P, month, net, rent, subsidy, beta_income, floor_share, wage_level, p_emp, rent_share=None):
    """Multiplier on exp(U) of the current city for each considerer (M,).

    The table uses the expected income of a newcomer; a person already there
    earns their own wage if employed and pays no rent if they own.
    ``rent_share`` (M,), if given, is the share of the market rent each pays
    (below 1 for tenants of subsidised units; see ``policy.units``).
    """
    k = person_types(rows, P, month)
    c = P.city[rows].astype(np.int64)
    edu = P.education[rows]
    expected = wage_level[c] * EDU_PREMIUM[edu] * p_emp[c]
    income = np.where(P.status[rows] >= 0, P.wage[rows], expected)
    own_rent = np.where(P.housing[rows] == OWNER, 0.0, rent[c])
    if rent_share is not None:
        own_rent = own_rent * rent_share
    own = np.maximum(income + subsidy[k, c] - own_rent, floor_share * np.maximum(income, 1.0))
    return (own / net[k, c]) ** beta_income, k


def person_types(rows, P, month) -> np.ndarray:
    """Type index 0..23 of each row: education x (has children) x (graduated in the last 36 months)."""
    edu = P.education[rows].astype(np.int64)
    kids = (P.children[rows] > 0).astype(np.int64)
    g = P.grad_month[rows]
    recent = ((g >= 0) & (month - g < RECENT_GRAD_MONTHS)).astype(np.int64)
    return edu * 4 + kids * 2 + recent


def pair_table(EB, EN) -> np.ndarray:
    """exp of the moving-cost and network terms for every (current city c, origin o): (J*J, J) float32.

    Row ``c*J + o``.  J**3 entries (32,768 for 32 places): small enough to stay
    in cache, and it leaves one multiply per destination in the hot loop.
    """
    J = EB.shape[0]
    return (EB[:, None, :] * EN[None, :, :]).reshape(J * J, J).astype(np.float32)


@njit(parallel=True, fastmath=True, cache=True)
def choose_destinations(rows, ktype, city, hukou, origin, stay, EA, pair, EH, ret, key):
    """Multinomial-logit destination of each considerer (M,) int64, by inverse CDF.

    Weights are ``EA[k, j] * EB[c, j] * EN[o, j]`` (``pair = pair_table(EB, EN)``
    holds the last two), then three person-specific corrections: hukou city x EH,
    current city x the stay factor, hukou/origin city x the return bonus.  One
    uniform per person.  Chunked so each chunk owns one weight buffer; results
    do not depend on the number of threads.
    """
    m = rows.size
    J = EA.shape[1]
    dest = np.empty(m, np.int64)
    ea = EA.astype(np.float32)
    nch = min(NCHUNK, max(m, 1))
    step = (m + nch - 1) // nch
    for ch in prange(nch):
        w = np.empty(J, np.float32)
        for t in range(ch * step, min(m, (ch + 1) * step)):
            i = rows[t]
            k = ktype[t]
            c = city[i]
            h = hukou[i]
            o = origin[i]
            base = c * J + o
            for j in range(J):  # vectorised by the compiler
                w[j] = ea[k, j] * pair[base, j]
            w[h] *= EH[k, h]
            w[c] *= stay[t]
            if h != c:
                w[h] *= ret
            if o != c and o != h:
                w[o] *= ret
            tot = np.float32(0.0)
            for j in range(J):
                tot += w[j]
            u = np.float32(uniform(key, i)) * tot
            acc = np.float32(0.0)
            d = J - 1
            for j in range(J):
                acc += w[j]
                if u < acc:
                    d = j
                    break
            dest[t] = d
    return dest


@njit(cache=True)
def apply_moves(rows, dest, people, month, vacancies, p_job, sector_wage, min_wage, employed_spec_share, scale, C, key):
    """Carry out the chosen moves, in row order.

    A mover to a simulated city first looks for a job there (probability
    ``p_job[j]``, and only while a vacancy they qualify for is left: a job-led
    move).  Failing that, the unemployed and new graduates move anyway and
    search on arrival (speculative), and an employed person quits and moves
    with probability ``employed_spec_share`` (else stays).  Moves to the rest
    of China always happen.  Owners who move sell and rent.

    ``people``: ``Population.columns()``; a move changes ``city``, ``months_in_city``,
    ``housing``, and with a job or a quit ``status`` and ``wage``.
    Returns movers (J, J) agents [from, to], job-led moves (J,) by destination,
    and children requested to move with their parents (J, J) persons.
    """
    city, status, wage, education = people.city, people.status, people.wage, people.education
    housing, months_in_city, children, grad_month = people.housing, people.months_in_city, people.children, people.grad_month
    J = C + 1
    flows = np.zeros((J, J), np.int64)
    kids = np.zeros((J, J), np.int64)
    jobled = np.zeros(J, np.int64)
    for t in range(rows.size):
        i = rows[t]
        c = city[i]
        d = dest[t]
        if d == c:
            continue
        hired = -1
        if d < C and uniform(key, i) < p_job[d]:
            hired = draw_sector(vacancies, d, education[i], uniform(key ^ SALT_MOVE_SECTOR, i))
        if hired < 0 and d < C and status[i] >= 0 and grad_month[i] != month:
            if uniform(key ^ SALT_MOVE_SPEC, i) >= employed_spec_share:
                continue  # employed and no job found there: stays
        # the move
        flows[c, d] += 1
        kids[c, d] += children[i] * scale
        relocate(i, d, city, months_in_city, housing)
        if hired >= 0:
            hire(i, d, hired, status, wage, education, vacancies, sector_wage, min_wage,
                 offer_noise(key ^ SALT_MOVE_OFFER, i))
            jobled[d] += 1
        elif status[i] >= -1:
            status[i] = UNEMPLOYED
            wage[i] = 0.0
    return flows, jobled, kids


@njit(parallel=True, cache=True)
def select_returners(city, rate, C, key):
    """Rows of emigrants in the rest of China who come back this month (rate a month)."""
    n = city.size
    step = (n + NCHUNK - 1) // NCHUNK
    counts = np.zeros(NCHUNK, np.int64)
    for ch in prange(NCHUNK):
        k = 0
        for i in range(ch * step, min(n, (ch + 1) * step)):
            if city[i] == C and uniform(key, i) < rate:
                k += 1
        counts[ch] = k
    start = chunk_starts(counts)
    rows = np.empty(start[NCHUNK], np.int64)
    for ch in prange(NCHUNK):
        k = start[ch]
        for i in range(ch * step, min(n, (ch + 1) * step)):
            if city[i] == C and uniform(key, i) < rate:
                rows[k] = i
                k += 1
    return rows

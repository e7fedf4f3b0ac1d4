"""Preferential application policies (申报倾斜政策, CF-POL-*): data in the tenant's policies.toml,
one engine rule per kind.

`assess()` turns an application's own data — education and work-history entries, basic fields,
employer, plan, the person's earlier applications — into a Verdict: every condition of the chosen
policy met or not, in the reader's language, and what the policy then grants (continuing
education waived, no rank-by-rank progression, a year early). Ordinary applications get the
rank-by-rank checks (逐级申报) where the tenant asks for them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import reduce

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Application, Plan, Section, Status
from ..tenancy import label
from ..tenancy.schema import EducationLevel, PolicyKind, PolicyRule, Tier, WorkPlace
from .calendar import now_local, today_local

EDUCATION_LABELS = {
    EducationLevel.secondary.value: _l("中专及以下"),
    EducationLevel.college.value: _l("大学专科"),
    EducationLevel.bachelor.value: _l("大学本科"),
    EducationLevel.postgraduate.value: _l("研究生"),
}
PLACE_LABELS = {
    WorkPlace.township.value: _l("乡镇、村（苏木乡镇、嘎查村）"),
    WorkPlace.county.value: _l("县级（旗县区）"),
    WorkPlace.city.value: _l("市级及以上（本省区内）"),
    WorkPlace.outside.value: _l("外省（区、市）"),
}
TIER_LABELS = {Tier.county.value: _l("旗县区"), Tier.city.value: _l("市直"),
               Tier.region.value: _l("自治区直属")}
ORDINARY = _l("按一般条件申报")
# An application "enjoyed" a once-per-person policy when it was passed under it.
ENJOYED = (Status.passed.value, Status.certified.value)
_EDU_RANK = {e.value: i for i, e in enumerate(EducationLevel)}
_COUNTY_OR_BELOW = {WorkPlace.township.value, WorkPlace.county.value}
_IN_REGION = {WorkPlace.township.value, WorkPlace.county.value, WorkPlace.city.value}


@dataclass(frozen=True)
class Check:
    """One condition as the reader sees it: what is required and what the file shows."""
    text: object  # a lazy string
    met: bool


@dataclass(frozen=True)
class Outcome:
    """What a kind rule found. `qualifies` overrides "every check met" for either-or rules."""
    checks: list[Check]
    qualifies: bool | None = None
    waives_ce: bool = True
    early_years: int = 0


@dataclass(frozen=True)
class Verdict:
    rule: PolicyRule | None          # None: the ordinary rules
    checks: list[Check]              # the policy's conditions (and the plan's reservation)
    qualifies: bool
    waives_ce: bool = False          # continuing education not required
    direct: bool = False             # not bound by rank-by-rank progression
    early_years: int = 0
    progression: list[Check] = field(default_factory=list)  # 逐级申报

    @property
    def problems(self) -> list:
        """Every reason the application cannot be submitted under this verdict."""
        failing = [] if self.qualifies else [c.text for c in self.checks if not c.met]
        return failing + [c.text for c in self.progression if not c.met]


# -- what the tenant offers ----------------------------------------------------------------------

def chosen(cfg, app):
    """The PolicyRule the application is made under, or None for the ordinary rules."""
    return cfg.policy(app.policy)


def outside_quota(cfg, app) -> bool:
    """Whether the application is not counted against post numbers and structure ratios."""
    rule = chosen(cfg, app)
    return bool(rule and rule.outside_quota)


def group_label(cfg, app) -> str | None:
    """The review group of its own (单独分组) the application is listed in, if any (CF-POL-5)."""
    rule = chosen(cfg, app)
    return label(rule) if rule is not None and rule.separate_group else None


def reserved_policy(cfg, plan_code: str) -> str | None:
    """The policy a plan of a separately listed quota is reserved for (CF-POL-1), if any."""
    return next((r.code for r in cfg.policies.policy if plan_code in r.plans), None)


def offered(cfg, plan_code: str) -> list[PolicyRule]:
    """Policies an applicant may choose in this plan: the one it is reserved for, else every
    policy not bound to plans of its own."""
    reserved = reserved_policy(cfg, plan_code)
    if reserved is not None:
        return [cfg.policy(reserved)]
    return [r for r in cfg.policies.policy if not r.plans]


def allowed(cfg, plan_code: str) -> list[str | None]:
    """Policy codes an application in this plan may carry (None: the ordinary rules)."""
    ordinary = [] if reserved_policy(cfg, plan_code) else [None]
    return ordinary + [r.code for r in offered(cfg, plan_code)]


def choices(cfg, plan_code: str) -> list[tuple[str, object]]:
    """(value, label) for the applicant's select; "" is the ordinary rules."""
    return [(code or "", label(cfg.policy(code)) if code else ORDINARY)
            for code in allowed(cfg, plan_code)]


# -- the verdict -----------------------------------------------------------------------------

def assess(cfg, app: Application) -> Verdict:
    """The chosen policy's conditions, met or not, and the rank-by-rank checks that remain."""
    rule, facts = chosen(cfg, app), Facts.of(app)
    plan = _plan_check(cfg, app, rule)
    checks = [] if plan is None else [plan]
    grants = {"waives_ce": False, "direct": False, "early_years": 0}
    if rule is None:
        ok = all(c.met for c in checks)
    else:
        checks += _generic_checks(cfg, app, rule)
        out = KIND_RULES[rule.kind](cfg, app, rule, facts)
        kind_ok = out.qualifies if out.qualifies is not None else all(c.met for c in out.checks)
        ok = kind_ok and all(c.met for c in checks)
        checks += out.checks
        if ok:
            grants = {"waives_ce": rule.waives_continuing_education and out.waives_ce,
                      "direct": rule.direct, "early_years": out.early_years}
    progression = _progression(cfg, app, grants["direct"], grants["early_years"], facts)
    return Verdict(rule, checks, ok, progression=progression, **grants)


def problems(cfg, app: Application) -> list:
    """Every reason, from the chosen policy and rank-by-rank progression, not to submit yet."""
    return assess(cfg, app).problems


def waives_continuing_education(cfg, app: Application) -> bool:
    """Whether the continuing-education material is not required (CF-POL-4, CF-POL-5)."""
    rule = chosen(cfg, app)
    return bool(rule and rule.waives_continuing_education and assess(cfg, app).waives_ce)


# -- facts from the file ---------------------------------------------------------------------

def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def months_between(a: date, b: date) -> int:
    """Whole months from a to b (0 when b is not after a)."""
    m = (b.year - a.year) * 12 + b.month - a.month - (1 if b.day < a.day else 0)
    return max(m, 0)


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    place: str


@dataclass(frozen=True)
class Facts:
    """The application's data as the rules read it, counted to the level's application close
    (CF-WIN-1: education, years and service count up to that day)."""
    until: date
    periods: list[Period]
    education: list[tuple[str, date]]  # (EducationLevel value, graduated on)
    current_place: str
    unplaced: int  # work entries without a place

    @classmethod
    def of(cls, app: Application) -> Facts:
        window = app.plan.window("apply")
        until = window.closes_on if window is not None else today_local()
        periods, education, unplaced, latest = [], [], 0, None
        for e in app.entries:
            data = e.data or {}
            if e.section == Section.education.value:
                day = _day(data.get("graduated_on"))
                if data.get("edu_level") in _EDU_RANK and day is not None and day <= until:
                    education.append((data["edu_level"], day))
            elif e.section == Section.work.value:
                start, place = _day(data.get("start")), data.get("place") or ""
                unplaced += not place
                if start is None or start >= until:
                    continue
                end = min(_day(data.get("end")) or until, until)
                if end > start:
                    periods.append(Period(start, end, place))
                if latest is None or (end, start) >= (latest.end, latest.start):
                    latest = Period(start, end, place)
        return cls(until, periods, education, latest.place if latest else "", unplaced)

    def months(self, places: set[str] | None = None, since: date | None = None) -> int:
        """Whole months of work (at `places`, from `since`), overlapping entries counted once."""
        spans = sorted((max(p.start, since) if since else p.start, p.end) for p in self.periods
                       if places is None or p.place in places)
        total, current = 0, None
        for a, b in spans:
            if b <= a:
                continue
            if current and a <= current[1]:
                current = (current[0], max(current[1], b))
                continue
            if current:
                total += months_between(*current)
            current = (a, b)
        return total + (months_between(*current) if current else 0)

    def graduated(self, education: EducationLevel) -> date | None:
        """The earliest graduation at `education` or higher."""
        return min((d for lv, d in self.education if _EDU_RANK[lv] >= _EDU_RANK[education.value]),
                   default=None)


# -- texts -----------------------------------------------------------------------------------

def span(months: int):
    years, rest = divmod(months, 12)
    if years and rest:
        return _l("%(y)d年%(m)d个月", y=years, m=rest)
    return _l("%(y)d年", y=years) if years else _l("%(m)d个月", m=rest)


def at_least(what, have: int, need: int) -> Check:
    """`what` (e.g. 本科毕业后从事专业技术工作满5年) against the months the file shows."""
    if have >= need:
        return Check(_l("%(what)s：已满%(have)s", what=what, have=span(have)), True)
    if have <= 0:
        return Check(_l("%(what)s：尚差%(short)s", what=what, short=span(need)), False)
    return Check(_l("%(what)s：已满%(have)s，尚差%(short)s", what=what, have=span(have),
                    short=span(need - have)), False)


def any_of(parts: list[Check]) -> Check:
    """The first alternative met, else all of them as one unmet condition."""
    met = next((c for c in parts if c.met), None)
    if met is not None:
        return met
    return Check(reduce(lambda a, b: _l("%(a)s；或%(b)s", a=a, b=b), [c.text for c in parts]),
                 False)


def _names(items) -> str:
    return str(_l("、")).join(str(x) for x in items)


def _within(ok: bool, names: str) -> Check:
    if ok:
        return Check(_l("属于该政策的适用范围（%(n)s）", n=names), True)
    return Check(_l("该政策只适用于：%(n)s", n=names), False)


def _unplaced_hint(facts: Facts) -> list[Check]:
    if not facts.unplaced:
        return []
    return [Check(_l("有%(n)d条工作经历未填写“工作地域”，未计入年限。", n=facts.unplaced), False)]


# -- checks every policy shares --------------------------------------------------------------

def _plan_check(cfg, app, rule) -> Check | None:
    """Plans of a separately listed quota take only their policy, which no other plan offers."""
    reserved = reserved_policy(cfg, app.plan.code)
    if rule is not None and rule.plans:
        if app.plan.code in rule.plans:
            return Check(_l("在该政策单列的申报计划中申报：%(p)s", p=label(app.plan)), True)
        names = _names(label(p) for p in cfg.plans.plan if p.code in rule.plans)
        return Check(_l("该政策只在以下申报计划中受理：%(p)s", p=names), False)
    if reserved is not None and (rule is None or rule.code != reserved):
        return Check(_l("本申报计划只受理按“%(p)s”申报的人员，请在基本信息中选择该政策。",
                        p=label(cfg.policy(reserved))), False)
    return None


def _submission_day(app) -> date:
    """The local day the application is (or was last) submitted."""
    if app.status in (Status.draft.value, Status.returned.value) or app.submitted_at is None:
        return today_local()
    return now_local(app.submitted_at).date()


def _generic_checks(cfg, app, rule: PolicyRule) -> list[Check]:
    out = []
    if rule.valid_until is not None:
        day = _submission_day(app)
        if day <= rule.valid_until:
            out.append(Check(_l("政策有效期至%(d)s", d=rule.valid_until.isoformat()), True))
        else:
            out.append(Check(_l("该政策有效期已于%(d)s截止", d=rule.valid_until.isoformat()),
                             False))
    if rule.once_per_person:
        year = _enjoyed_in(app, rule.code)
        if year is None:
            out.append(Check(_l("此前未享受过该政策（每人只享受一次）"), True))
        else:
            out.append(Check(_l("已于%(y)d年度按该政策评审通过，每人只能享受一次", y=year), False))
    return out


def _enjoyed_in(app, code: str) -> int | None:
    """The plan year of another application of the same person passed under this policy."""
    return db.session.scalar(
        sa.select(Plan.year).join(Application, Application.plan_id == Plan.id).where(
            Application.tenant_id == app.tenant_id, Application.applicant_id == app.applicant_id,
            Application.policy == code, Application.id != app.id,
            Application.status.in_(ENJOYED)).order_by(Plan.year).limit(1))


# -- one rule per kind -----------------------------------------------------------------------

def _series_names(cfg, series: list[str], specialties: list[str]) -> str:
    named = [label(cfg.series(s)) for s in series]
    named += [label(sp) for s in cfg.tenant.series for sp in s.specialties
              if sp.code in specialties]
    return _names(named)


def _employer_kind(app, kinds: list[str]) -> Check:
    from .people import EMPLOYER_KIND_LABELS  # people → transitions → eligibility → here

    names = _names(EMPLOYER_KIND_LABELS.get(k, k) for k in kinds)
    ok = app.employer is not None and app.employer.employer_kind in kinds
    if ok:
        return Check(_l("所在单位类型：%(n)s", n=EMPLOYER_KIND_LABELS[app.employer.employer_kind]),
                     True)
    return Check(_l("该政策只适用于以下类型单位的人员：%(n)s", n=names), False)


def _tracks(cfg, app, rule: PolicyRule, facts: Facts, places: set[str] | None, what) -> Check:
    """Any track of the applied level met: education at least the track's, and the years of
    work (at `places`) since that graduation."""
    mine = [t for t in rule.tracks if t.level == app.level]
    if not mine:
        levels = _names(label(cfg.level(lv)) for lv in dict.fromkeys(t.level for t in rule.tracks))
        return Check(_l("该政策只适用于申报：%(n)s", n=levels), False)
    parts = []
    for t in mine:
        edu = EDUCATION_LABELS[t.education.value]
        text = what(edu, t.years)
        since = facts.graduated(t.education)
        if since is None:
            parts.append(Check(_l("%(what)s：学历信息中没有%(edu)s及以上学历（请填写“学历层次”）",
                                  what=text, edu=edu), False))
        else:
            parts.append(at_least(text, facts.months(places, since), t.years * 12))
    return any_of(parts)


def _directed(cfg, app, rule, facts) -> Outcome:
    p = rule.params
    in_field = app.series in p["series"] or app.specialty in p["specialties"]
    tiers = _names(TIER_LABELS.get(t, t) for t in p["employer_tiers"])
    grassroots = app.employer is not None and app.employer.tier in p["employer_tiers"]
    return Outcome([
        _within(in_field, _series_names(cfg, p["series"], p["specialties"])),
        Check(_l("所在单位为%(t)s基层单位", t=tiers) if grassroots
              else _l("该政策只适用于%(t)s基层单位的人员", t=tiers), grassroots),
    ])


def _long_service(cfg, app, rule, facts) -> Outcome:
    p = rule.params
    county = at_least(_l("在旗县区从事专业工作满%(n)d年", n=p["county_years"]),
                      facts.months(_COUNTY_OR_BELOW), p["county_years"] * 12)
    township = at_least(_l("在苏木乡镇从事专业工作满%(n)d年", n=p["township_years"]),
                        facts.months({WorkPlace.township.value}), p["township_years"] * 12)
    best = any_of([county, township])
    return Outcome([best] + ([] if best.met else _unplaced_hint(facts)))


def _township_graduate(cfg, app, rule, facts) -> Outcome:
    township = facts.current_place == WorkPlace.township.value
    years = _tracks(cfg, app, rule, facts, {WorkPlace.township.value},
                    lambda edu, n: _l("%(edu)s毕业后在苏木乡镇专业技术岗位工作满%(n)d年",
                                      edu=edu, n=n))
    return Outcome([
        _employer_kind(app, rule.params["employer_kinds"]),
        Check(_l("现工作单位位于苏木乡镇") if township
              else _l("该政策只适用于苏木乡镇单位的人员（以最近一条工作经历的“工作地域”为准）"),
              township),
        years, *([] if years.met else _unplaced_hint(facts)),
    ])


def _township_service(cfg, app, rule, facts) -> Outcome:
    p, basic = rule.params, app.basic or {}
    home = facts.current_place in p["home_places"]
    months = at_least(_l("本年度服务苏木乡镇、嘎查村满%(n)d个月，免除当年继续教育学时要求",
                         n=p["months"]), int(basic.get("township_months") or 0), p["months"])
    years = at_least(_l("取得现职称后累计服务苏木乡镇、嘎查村满%(n)d年，可提前%(e)d年申报",
                        n=p["years"], e=p["early_years"]),
                     int(basic.get("township_years") or 0) * 12, p["years"] * 12)
    places = _names(PLACE_LABELS[x] for x in p["home_places"])
    return Outcome(
        [Check(_l("现工作单位所在地：%(p)s", p=PLACE_LABELS[facts.current_place]) if home
               else _l("该政策只适用于工作单位在%(p)s的人员（以最近一条工作经历的“工作地域”为准）",
                       p=places), home), months, years],
        qualifies=home and (months.met or years.met), waives_ce=months.met,
        early_years=p["early_years"] if years.met else 0)


def _non_public(cfg, app, rule, facts) -> Outcome:
    p = rule.params
    region = at_least(_l("在本省（区）工作满%(n)d年", n=p["region_years"]),
                      facts.months(_IN_REGION), p["region_years"] * 12)
    years = _tracks(cfg, app, rule, facts, None,
                    lambda edu, n: _l("%(edu)s毕业后从事专业技术工作满%(n)d年", edu=edu, n=n))
    return Outcome([_employer_kind(app, p["employer_kinds"]), region,
                    *([] if region.met else _unplaced_hint(facts)), years])


def _green_channel(cfg, app, rule, facts) -> Outcome:
    levels = rule.params["levels"]
    return Outcome([_within(app.level in levels, _names(label(cfg.level(lv)) for lv in levels))])


def _pandemic_frontline(cfg, app, rule, facts) -> Outcome:
    series = rule.params["series"]
    return Outcome([_within(app.series in series, _series_names(cfg, series, []))])


KIND_RULES = {
    PolicyKind.directed: _directed,
    PolicyKind.long_service: _long_service,
    PolicyKind.township_graduate: _township_graduate,
    PolicyKind.township_service: _township_service,
    PolicyKind.non_public: _non_public,
    PolicyKind.green_channel: _green_channel,
    PolicyKind.pandemic_frontline: _pandemic_frontline,
}


# -- rank by rank (逐级申报) -------------------------------------------------------------------

def level_below(cfg, level_code: str):
    """The tenant's level one rank below, or None."""
    level = cfg.level(level_code)
    return next((lv for lv in cfg.tenant.levels if level and lv.rank == level.rank - 1), None)


def _progression(cfg, app, direct: bool, early_years: int, facts: Facts) -> list[Check]:
    """The title one rank below, held for the tenant's years (fewer by a policy's early years),
    unless a qualifying policy lets the applicant apply directly."""
    prog, level = cfg.policies.progression, cfg.level(app.level)
    if prog is None or level is None or level.rank < prog.from_rank or direct:
        return []
    below, basic = level_below(cfg, app.level), app.basic or {}
    current = cfg.level(basic.get("current_level") or "")
    if current is not None and current.rank >= level.rank - 1:
        out = [Check(_l("逐级申报：现职称为%(c)s", c=label(current)), True)]
    else:
        out = [Check(_l("逐级申报：须已取得%(b)s职称，请在基本信息中填写现职称级别", b=label(below)),
                     False)]
    need = prog.years.get(app.level)
    if need:
        need -= early_years
        what = _l("取得%(b)s职称后满%(n)d年", b=label(below), n=need)
        since = _day(basic.get("title_on"))
        if since is None:
            out.append(Check(_l("%(what)s：请在基本信息中填写取得现职称的日期", what=what), False))
        else:
            out.append(at_least(what, months_between(since, facts.until), need * 12))
    return out

"""Static checks of a tenant's year, before any file moves: windows that close on a day off or
before the previous stage can finish, a notice that cannot fit before the next close, route
steps with no office, committees whose agency has no filing for the year, quotas smaller than
their allocations, committees with too few eligible experts. Each finding is a dict: cause (a
code, see report.CAUSES), stage, detail (Chinese, as shown), severity ("problem": the year does not work as configured; "warning": it works, with
less room than it should have; "note": what the rehearsal did not cover)."""
from __future__ import annotations

import math
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import Expert
from ..tenancy.schema import OrgKind, StepKind, Tier
from ..workflow.calendar import CalendarYearMissing

OFFICE_STAGES = ("employer_review", "tier_report")
PRESIDING = ("chair", "vice_chair")


def _f(cause: str, stage: str, detail: str, severity: str = "problem") -> dict:
    return {"cause": cause, "stage": stage, "detail": detail, "severity": severity}


def static(cfg, plans, calendar) -> list[dict]:
    out: list[dict] = []
    try:
        for plan in plans:
            out += _windows(cfg, plan, calendar)
    except CalendarYearMissing as e:
        out.append(_f("calendar", "apply", str(e)))
    out += _routes(cfg)
    out += _filings(cfg, plans)
    out += _quotas(cfg, plans)
    return out


def latest_submission(plan, days: int, calendar, stage: str = "employer_review") -> date | None:
    """The last working day of the application window on which a submitted file can still run
    its `days` working days of notice (counted from the next working day) and be recommended
    before `stage` closes; None when no day fits. The plan's apply close when the stage has no
    window of its own."""
    w = {x.stage: x for x in plan.windows}
    apply, office = w.get("apply"), w.get(stage)
    if apply is None:
        return None
    if office is None or days <= 0:
        return apply.closes_on
    day = apply.closes_on
    while day >= apply.opens_on:
        if calendar.is_workday(day) and calendar.nth_workday_after(day, days) < office.closes_on:
            return day
        day = date.fromordinal(day.toordinal() - 1)
    return None


def _windows(cfg, plan, calendar) -> list[dict]:
    out = []
    w = {x.stage: x for x in plan.windows}
    for x in plan.windows:
        if not calendar.is_workday(x.closes_on):
            out.append(_f("closes_on_day_off", x.stage,
                          f"{plan.code}：{x.stage} 截止日 {x.closes_on} 不是工作日（节假日或周末）。"))
    apply = w.get("apply")
    if apply is None:
        out.append(_f("window_order", "apply", f"{plan.code}：没有申报（apply）阶段。"))
        return out
    days = cfg.policies.notice_working_days
    for stage in OFFICE_STAGES:
        x = w.get(stage)
        if x is None:
            continue
        if x.closes_on < apply.closes_on:
            out.append(_f("window_order", stage,
                          f"{plan.code}：{stage} 截止日 {x.closes_on} 早于申报截止日 "
                          f"{apply.closes_on}，最后一天提交的申报无法完成审核推荐。"))
            continue
        # A file submitted on day D starts its notice that day: the recommendation comes the
        # working day after the notice ends, and must fall inside the office window. No day of
        # the application window that fits: the year does not work. Only its last days: it
        # works for files submitted by the latest day that fits, which the office announces.
        safe = latest_submission(plan, days, calendar, stage)
        ends = calendar.nth_workday_after(apply.closes_on, days)
        if safe is None:
            out.append(_f("notice_cannot_fit", "notice",
                          f"{plan.code}：申报期内任何一天提交的申报，{days} 个工作日的单位公示都无法在"
                          f"{stage} 截止日 {x.closes_on} 前结束。"))
        elif safe < apply.closes_on:
            out.append(_f("notice_tail", "notice",
                          f"{plan.code}：申报截止日 {apply.closes_on} 提交的申报，{days} 个工作日的"
                          f"单位公示至 {ends} 结束，{stage} 已于 {x.closes_on} 截止；最晚 {safe} "
                          f"提交的申报才能公示期满后推荐，请提前告知申报人和单位。", "warning"))
    offices = [w[s] for s in OFFICE_STAGES if s in w]
    check = w.get("agency_check")
    if check is not None and offices and check.closes_on < max(o.closes_on for o in offices):
        out.append(_f("window_order", "agency_check",
                      f"{plan.code}：评审服务机构审核截止日 {check.closes_on} 早于逐级审核推荐截止日。"))
    review = w.get("review")
    if review is not None and check is not None:
        if review.closes_on < apply.closes_on:
            out.append(_f("window_order", "review",
                          f"{plan.code}：评审截止日 {review.closes_on} 早于申报截止日。"))
    return out


def _routes(cfg) -> list[dict]:
    """Every step of every route rule has an office of its kind in orgs.toml."""
    out = []
    orgs = cfg.orgs.org
    hr = {o.tier for o in orgs if o.kind == OrgKind.hr_bureau}
    depts = {o.tier for o in orgs if o.kind == OrgKind.department}
    codes = {o.code for o in orgs}
    for i, rule in enumerate(cfg.routing.route):
        for step in rule.steps:
            missing = None
            if step == StepKind.city_hr and Tier.city not in hr:
                missing = "市级人社局"
            elif step == StepKind.region_hr and Tier.region not in hr:
                missing = "自治区（省级）人社厅"
            elif step == StepKind.county_hr and any(d.hr_bureau not in codes
                                                     for d in cfg.tenant.districts):
                missing = "区县人社局"
            elif step == StepKind.city_department and Tier.city not in depts:
                missing = "市级行业主管部门"
            elif step == StepKind.county_department and Tier.county not in depts:
                missing = "区县行业主管部门"
            if missing:
                out.append(_f("route_no_office", "offices",
                              f"routing.toml 第 {i + 1} 条路径的 {step.value} 环节没有{missing}。"))
    return out


def _filings(cfg, plans) -> list[dict]:
    """The agency of every committee is filed (directory.toml [[agency]]) through the year."""
    out = []
    year = max(p.year for p in plans)
    filed = {a.code: a for a in cfg.directory.agency}
    for c in cfg.directory.committee:
        a = filed.get(c.agency)
        if a is None:
            out.append(_f("committee_no_filing", "review",
                          f"评审委员会 {c.code} 的评审服务机构 {c.agency} 没有备案。"))
        elif a.valid_until < date(year, 12, 31) or a.filed_on > date(year, 1, 1):
            out.append(_f("committee_no_filing", "review",
                          f"评审委员会 {c.code} 的评审服务机构 {c.agency} 的备案有效期"
                          f"（{a.filed_on}至{a.valid_until}）不覆盖 {year} 年。"))
    return out


def _quotas(cfg, plans) -> list[dict]:
    out = []
    years = {p.year for p in plans}
    given: dict[str, int] = {}
    for a in (cfg.demo.allocation if cfg.demo else []):
        given[a.quota] = given.get(a.quota, 0) + a.places
    for q in cfg.policies.review_quota:
        if q.year in years and given.get(q.code, 0) > q.total:
            out.append(_f("quota_too_small", "offices",
                          f"评审名额 {q.code} 共 {q.total} 个，已分配 {given[q.code]} 个。"))
    return out


def experts(cfg, tenant_id: int, plans) -> list[dict]:
    """The experts the tenant's files name (before the rehearsal adds its synthetic pool): for
    each committee and level of the year, fewer eligible ones than the smallest panel, or no
    presiding one, is a problem; fewer than a usual panel, or too few from the private sector for
    the committee's share, a warning. A series with none named is noted."""
    from ..workflow.experts import ineligibility
    from .population import MIN_PANEL, PANEL_SIZE
    out = []
    pool: dict[str, list[Expert]] = {}
    for e in db.session.scalars(sa.select(Expert).filter_by(tenant_id=tenant_id,
                                                            status="approved")):
        pool.setdefault(e.series, []).append(e)
    levels = {lv for p in plans for lv in p.levels}
    day = min((w.opens_on for p in plans for w in p.windows if w.stage == "review"),
              default=date(max(p.year for p in plans), 7, 1))
    for c in cfg.directory.committee:
        for series in c.series:
            if series not in pool:
                out.append(_f("synthetic_experts", "review",
                              f"评审委员会 {c.code}：配置中没有 {series} 系列的专家，演练使用模拟专家库。",
                              "note"))
                continue
            for level in sorted(set(c.levels) & levels):
                ok = [e for e in pool[series] if not ineligibility(cfg, e, level, day)]
                chair = any(e.role in PRESIDING for e in ok)
                private = sum(1 for e in ok if e.private_sector)
                need = math.ceil(PANEL_SIZE * c.private_share)
                where = f"评审委员会 {c.code}（{series}/{level}）"
                if len(ok) < MIN_PANEL or not chair:
                    out.append(_f("too_few_experts", "review",
                                  f"{where}可抽取专家仅 {len(ok)} 人"
                                  f"{'' if chair else '，且无主任或副主任委员'}，"
                                  f"评审会至少需 {MIN_PANEL} 人。"))
                elif len(ok) < PANEL_SIZE or private < need:
                    out.append(_f("too_few_experts", "review",
                                  f"{where}可抽取专家 {len(ok)} 人，其中民营企业专家 {private} 人；"
                                  f"{PANEL_SIZE} 人的评审会需民营企业专家 {need} 人。", "warning"))
    return out

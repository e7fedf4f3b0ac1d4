"""Eligibility at submission: every problem listed at once, each in the user's language."""
from __future__ import annotations

from collections import Counter
from datetime import date

from flask_babel import lazy_gettext as _l

from ..models import PersonType, Section
from ..tenancy import label
from ..tenancy.schema import Condition
from . import freelance, policies
from .calendar import today_local
from .integrity import active_record, barred_message
from .routing import required_committee


def _exam_rule(cfg, app):
    return next((r for r in cfg.policies.exam_required
                 if app.series in r.series and app.level in r.levels), None)


def _exam_required(cfg, app) -> bool:
    return _exam_rule(cfg, app) is not None


def exam_replaces_review(cfg, series: str, level: str) -> bool:
    """Titles filled by national or regional examination alone are not reviewed (CF-EXAM-1)."""
    return any(series in r.series and level in r.levels
               for r in cfg.policies.exam_replaces_review)


def _exam_problem(cfg, app):
    """A missing or expired passing score for an exam-plus-review title, or None."""
    rule = _exam_rule(cfg, app)
    if rule is None:
        return None
    names = dict(series=label(cfg.series(app.series)), level=label(cfg.level(app.level)))
    if rule.valid_years is None:
        if app.exam_passed:
            return None
        return _l("%(series)s系列%(level)s实行考评结合，须先通过全国统一考试方可申报。", **names)
    year = (app.basic or {}).get("exam_year")
    if not year or int(year) > app.plan.year:
        return _l("%(series)s系列%(level)s实行考评结合，请填写考试成绩合格的年份。", **names)
    last = int(year) + rule.valid_years - 1
    if last < app.plan.year:
        return _l("%(y)s年的考试合格成绩有效期至%(last)s年，已过有效期，不能申报%(year)s年度评审。",
                  y=year, last=last, year=app.plan.year)
    return None


# Dated fields of list sections: what happened after the level's application close does not
# count (CF-WIN-1).
_DATED = {Section.education.value: "graduated_on", Section.work.value: "start"}


def _after_close(app) -> list:
    window = app.plan.window("apply")
    if window is None:
        return []
    close, out = window.closes_on, []
    for e in app.entries:
        key = _DATED.get(e.section)
        value = (e.data or {}).get(key) if key else (e.data or {}).get("year")
        try:
            late = (date.fromisoformat(value) > close) if key else (int(value) > close.year)
        except (TypeError, ValueError):
            continue
        if late:
            what = e.data.get("school") or e.data.get("org_name") or e.data.get("title") \
                or e.data.get("name") or ""
            out.append(_l("“%(what)s”的日期（%(v)s）晚于本级别申报截止日%(d)s，学历、资历和业绩只计算到"
                          "申报截止日，请删除或更正。", what=what, v=value, d=close.isoformat()))
    return out


def _letter_required(cfg, app) -> bool:
    e, pol = app.employer, cfg.policies
    kinds = {k.value for k in pol.letter_employer_kinds}
    return bool(pol.central_unit_letter and e is not None and e.employer_kind in kinds
                and not e.entrustment_exempt and cfg.level(app.level).rank >= pol.letter_min_rank)


def _in_central_catalogue(cfg, app) -> str:
    """The series (or specialty) name when an entrusted central-unit application falls in the
    central senior-committee catalogue, else "" (BJ-CENTRAL-1: 已备案的系列（专业）不接受委托)."""
    if not _letter_required(cfg, app):
        return ""
    for c in cfg.policies.central_catalogue:
        if c.series == app.series and app.level in c.levels and (
                not c.specialties or app.specialty in c.specialties):
            spec = cfg.specialty(app.series, app.specialty) if c.specialties else None
            return label(spec) if spec is not None else label(cfg.series(app.series))
    return ""


def _qualification_problems(cfg, app) -> list:
    """A qualification counts as its title only for its series, one level up at most, and with
    the education and years its series measures set (BJ-EQUIV-1, BJ-EQUIV-2)."""
    q = cfg.qualification(app.intl_qualification)
    if q is None:
        return []
    out, held = [], cfg.level(q.counts_as)
    names = dict(q=label(q), lv=label(held))
    if q.series and app.series not in q.series:
        out.append(_l("%(q)s对应%(s)s系列的职称，不能作为申报本系列职称的条件。",
                      q=label(q), s="、".join(label(cfg.series(c)) for c in q.series)))
    if cfg.level(app.level).rank > held.rank + 1:
        out.append(_l("%(q)s对应%(lv)s，只能作为申报高一级职称的条件。", **names))
    if q.tracks:
        facts = policies.Facts.of(app)
        parts = []
        for t in q.tracks:
            edu = policies.EDUCATION_LABELS[t.education.value]
            what = _l("%(edu)s毕业后从事专业技术工作满%(n)d年", edu=edu, n=t.years)
            since = facts.graduated(t.education)
            if since is None:
                parts.append(policies.Check(
                    _l("%(what)s：学历信息中没有%(edu)s及以上学历（请填写“学历层次”）",
                       what=what, edu=edu), False))
            else:
                parts.append(policies.at_least(what, facts.months(None, since), t.years * 12))
        best = policies.any_of(parts)
        if not best.met:
            out.append(_l("%(q)s须符合相应系列规定的学历和工作年限条件方可对应%(lv)s：%(c)s",
                          c=best.text, **names))
    return out


def condition_holds(cfg, app, cond: Condition | None) -> bool:
    """Whether a checklist item with `required_when = cond` applies to this application."""
    if cond is None:
        return False
    return {
        Condition.always: True,
        Condition.freelancer: app.person_type == PersonType.freelancer.value,
        Condition.high_skill: app.person_type == PersonType.high_skill.value,
        Condition.central_unit_letter: _letter_required(cfg, app),
        Condition.poge: app.poge,
        Condition.exam_required: _exam_required(cfg, app),
        Condition.intl_qualification: bool(app.intl_qualification),
        Condition.continuing_education: not policies.waives_continuing_education(cfg, app),
    }[cond]


def required_materials(cfg, app) -> list:
    return [m for m in cfg.checklist.material if condition_holds(cfg, app, m.required_when)]


def problems(cfg, app) -> list:
    """All reasons the application cannot be submitted yet (empty list: it can)."""
    out = []
    record = active_record(app.tenant_id, app.applicant, today_local())  # BJ-INTEG-1, CF-INTEG-1
    if record is not None:
        out.append(barred_message(record))
    pol = cfg.policies
    level = cfg.level(app.level)
    if app.person_type in pol.barred_person_types:
        out.append(_l("公务员不得参加专业技术人员职称评审。"))
    if (app.person_type == PersonType.high_skill.value and pol.high_skill_series is not None
            and app.series not in pol.high_skill_series):
        out.append(_l("高技能人才只能申报以下系列：%(s)s。", s=_names(cfg, pol.high_skill_series)))
    if app.person_type == PersonType.freelancer.value:
        if pol.freelancer_series is not None and app.series not in pol.freelancer_series:
            out.append(_l("自由职业者只能申报以下系列：%(s)s。", s=_names(cfg, pol.freelancer_series)))
        if app.association_org_id is None:
            out.append(_l("自由职业者须选择推荐的协会或学会。"))
        out.extend(freelance.problems(cfg, app))  # BJ-SCOPE-3: recent work, the association
    elif app.employer_org_id is None:
        out.append(_l("请先关联所在单位。"))
    if exam_replaces_review(cfg, app.series, app.level):
        out.append(_l("该系列（专业）此级别实行以考代评，不再进行评审。"))
    exam = _exam_problem(cfg, app)
    if exam is not None:
        out.append(exam)
    if app.poge and (pol.poge is None or app.level not in pol.poge.levels):
        out.append(_l("破格申报仅适用于高级职称。"))
    committee = app.committee
    if app.series not in committee.series or app.level not in committee.levels or (
            committee.specialties and app.specialty not in committee.specialties):
        out.append(_l("所选评审委员会不受理该系列、专业或级别，请从名录中重新选择。"))
    wanted = required_committee(cfg, app)
    if wanted is not None and wanted != committee.code:
        target = cfg.committee(wanted)
        out.append(_l("该专业按单位所在区实行联合评审，应选择：%(c)s。", c=label(target)))
    if app.level not in app.plan.levels:
        out.append(_l("本计划不受理该级别。"))
    out.extend(_qualification_problems(cfg, app))  # BJ-EQUIV-1, BJ-EQUIV-2
    catalogue = _in_central_catalogue(cfg, app)
    if catalogue:  # BJ-CENTRAL-1
        out.append(_l("%(s)s已列入《中央单位高级职称评审委员会备案目录》，不接受中央在京单位委托评审，"
                      "请通过本单位（系统）的评审委员会申报。", s=catalogue))
    basic = app.basic or {}
    if not basic.get("gender") or not basic.get("birth_date"):
        out.append(_l("请填写基本信息（性别、出生日期）。"))
    have_sections = {e.section for e in app.entries}
    if Section.education.value not in have_sections:
        out.append(_l("请至少填写一条学历信息。"))
    if Section.work.value not in have_sections:
        out.append(_l("请至少填写一条工作经历。"))
    out.extend(_after_close(app))
    out.extend(policies.problems(cfg, app))  # CF-POL-1…7 and rank-by-rank progression
    counts = Counter(a.material for a in app.attachments)
    for m in required_materials(cfg, app):
        need = pol.poge.min_recommenders if (m.required_when == Condition.poge and pol.poge) \
            else m.min_count
        if counts[m.code] < need:
            out.append(_l("缺少材料：%(m)s（需要%(n)d份，已上传%(have)d份）。",
                          m=label(m), n=need, have=counts[m.code]))
    return out


def _names(cfg, codes) -> str:
    return str(_l("、")).join(label(cfg.series(c)) for c in codes)

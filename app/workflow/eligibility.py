"""Eligibility at submission: every problem listed at once, each in the user's language."""
from __future__ import annotations

from collections import Counter
from datetime import date

from flask_babel import lazy_gettext as _l

from ..models import PersonType, ReviewMode, Section
from ..tenancy import label
from ..tenancy.schema import Condition
from . import policies
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
    classified = (app.basic or {}).get("classified")
    if classified and app.review_mode != ReviewMode.offline_paper.value:
        out.append(_l("涉密人员只能参加线下纸质评审，请选择线下纸质评审的申报计划。"))  # CF-MODE-1
    if app.intl_qualification:
        q = next((q for q in pol.international_qualification
                  if q.code == app.intl_qualification), None)
        if q is not None and level.rank > cfg.level(q.counts_as).rank + 1:
            out.append(_l("%(q)s对应%(lv)s，只能作为申报高一级职称的条件。",
                          q=label(q), lv=label(cfg.level(q.counts_as))))
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

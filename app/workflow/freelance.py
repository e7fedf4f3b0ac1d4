"""Freelancers (自由职业者, BJ-SCOPE-3): who recently worked in the tenant's area in one of its
listed fields, recommended by a listed association whose series covers the application.

What counts comes from the tenant (policies.toml `[freelancer]`): the fields, the years of
recent work required and, per association (orgs.toml `series`), the series it recommends in.
The applicant declares the field and since when they have worked freelance in the area in the
basic-information section; the evidence is an upload typed by the checklist.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from ..models import PersonType
from ..tenancy import label
from .calendar import today_local
from .errors import Invalid


def applies(cfg, app) -> bool:
    return cfg.policies.freelancer is not None and app.person_type == PersonType.freelancer.value


def field_name(cfg, app) -> str | None:
    """The name, in the reader's language, of the field the freelancer declared; None if none."""
    code = (app.basic or {}).get("freelance_field")
    field = next((f for f in cfg.policies.freelancer.fields if f.code == code), None)
    return label(field) if field is not None else None


def reference_day(app) -> date:
    """The day the recent work is counted back from: the close of the application window (what
    happened after it does not count), else today."""
    window = app.plan.window("apply")
    return window.closes_on if window is not None else today_local()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def basic_fields(cfg, app, data: dict) -> dict:
    """The freelance declaration of the basic-information form, checked; {} for anyone else.
    Raises Invalid (nothing saved) for a field not in the list or a date after today."""
    if not applies(cfg, app):
        return {}
    field = data.get("freelance_field") or ""
    if field and field not in {f.code for f in cfg.policies.freelancer.fields}:
        raise Invalid(_l("请从列表中选择从事的专业领域。"))
    since = data.get("freelance_since")
    if since and since > today_local():
        raise Invalid(_l("在京从事自由职业的起始日期不能晚于今天。"))
    return {"freelance_field": field, "freelance_since": since.isoformat() if since else ""}


def problems(cfg, app) -> list:
    """Why a freelancer's application cannot be submitted yet (BJ-SCOPE-3)."""
    if not applies(cfg, app):
        return []
    rule, basic, out = cfg.policies.freelancer, app.basic or {}, []
    if basic.get("freelance_field") not in {f.code for f in rule.fields}:
        out.append(_l("自由职业者请在基本信息中选择从事的专业领域（%(f)s）。",
                      f="、".join(label(f) for f in rule.fields)))
    try:
        since = date.fromisoformat(basic.get("freelance_since") or "")
    except ValueError:
        out.append(_l("自由职业者请在基本信息中填写在京从事自由职业的起始日期。"))
    else:
        day = reference_day(app)
        if since > _years_before(day, rule.min_years):
            out.append(_l("自由职业者须近%(n)d年在京从事所列专业领域工作（截至%(d)s），"
                          "填写的起始日期为%(since)s。",
                          n=rule.min_years, d=day.isoformat(), since=since.isoformat()))
    assoc = app.association
    if assoc is not None and assoc.series and app.series not in assoc.series:
        out.append(_l("所选推荐协会（%(a)s）不推荐该系列的申报，请联系相应的协会或学会。",
                      a=label(assoc)))
    return out

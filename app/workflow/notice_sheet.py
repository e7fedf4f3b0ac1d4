"""The employer's notice sheet (单位内部公示): the files an employer holds in its notice, as the
page it prints and posts.

The seeds ask the employer to check what each applicant declared and post it inside the unit for
at least five working days, recommending only when no objection came (BJ-WIN-2, CF-UNIT-1;
freelancers' associations the same, BJ-FREE-1). The sheet shows, per person, what the review is
about — name, series, specialty, level applied for, current title, how they apply (ordinary,
exceptional or under a preferential policy) — and the period counted as everywhere else
(notice_period.py); never an ID or mobile number. Objections go to the unit that posts it, which
answers for its review (谁审核、谁签字、谁负责; about the truth of the material, CF-OBJ-1)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Application, Plan, Status, User
from ..tenancy import label
from . import inbox, notice_period

MAX_CONTACT = 60


@dataclass
class Row:
    app: Application
    series: str
    specialty: str
    level: str
    current_title: str
    way: str          # 正常申报 / 破格申报 / the preferential policy
    period: notice_period.NoticePeriod | None


@dataclass
class Sheet:
    rows: list[Row]
    period: notice_period.NoticePeriod | None   # the period when every row shares one
    plans: list                                  # the plans of the files in notice


def _way(cfg, app: Application) -> str:
    if app.policy and cfg.policy(app.policy):
        return label(cfg.policy(app.policy))
    return gettext("破格申报") if app.poge else gettext("正常申报")


def _current_title(cfg, app: Application) -> str:
    basic = app.basic or {}
    if basic.get("current_title"):
        return basic["current_title"]
    level = cfg.level(basic.get("current_level") or "")
    return label(level) if level else "—"


def sheet(cfg, tenant_id: int, org_id: int, today: date, plan_id: int | None = None) -> Sheet:
    """The office's files in its notice (of `plan_id` when given), by the day the notice
    started, series, level and name: three queries."""
    f = inbox.Filters(status=Status.in_notice.value, plan=plan_id, sort="name")  # joins the names it orders by
    q = (inbox.filtered(tenant_id, org_id, f, today)
         .options(selectinload(Application.applicant), selectinload(Application.plan))
         .order_by(Application.notice_starts_on, Application.series, Application.level,
                   User.name, Application.id))
    rows = []
    for app, _due in db.session.execute(q).all():
        series = cfg.series(app.series)
        specialty = cfg.specialty(app.series, app.specialty) if app.specialty else None
        rows.append(Row(app, label(series) if series else app.series,
                        label(specialty) if specialty else "", label(cfg.level(app.level)),
                        _current_title(cfg, app), _way(cfg, app),
                        notice_period.period(cfg, app.notice_starts_on, app.notice_ends_on)))
    periods = {r.period for r in rows}
    in_notice = (sa.select(Application.plan_id).where(
        Application.tenant_id == tenant_id, Application.holder_org_id == org_id,
        Application.status == Status.in_notice.value).distinct())
    plans = db.session.scalars(sa.select(Plan).where(Plan.tenant_id == tenant_id,
                                                     Plan.id.in_(in_notice))
                               .order_by(Plan.year.desc(), Plan.id)).all()
    return Sheet(rows, periods.pop() if len(periods) == 1 else None, plans)


def contact(args) -> dict:
    """The contact line typed on the sheet's form (not stored; printed as given, blank lines
    to fill in by hand otherwise)."""
    return {k: (args.get(k) or "").strip()[:MAX_CONTACT] for k in ("contact", "phone", "place")}

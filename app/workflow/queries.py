"""Read-side helpers for pages: lists with their related rows loaded in a fixed number of
queries, whatever the number of rows."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Application, Committee, Org, OrgStatus, User
from ..tenancy import label
from .applications import open_plans
from .eligibility import exam_replaces_review

PAGE_SIZE = 50


def parse_date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def applications_of(user: User) -> list[Application]:
    return db.session.scalars(
        sa.select(Application).filter_by(tenant_id=user.tenant_id, applicant_id=user.id)
        .options(selectinload(Application.plan), selectinload(Application.committee))
        .order_by(Application.id.desc())).all()


def fill_new_choices(form, cfg, tenant_id: int, user=None) -> None:
    plans = open_plans(tenant_id, user)
    form.plan.choices = [(p.id, label(p)) for p in plans]
    # A committee whose office has been closed (app/workflow/orgtree.py) is not offered.
    committees = db.session.scalars(
        sa.select(Committee).join(Org, Org.id == Committee.agency_org_id)
        .where(Committee.tenant_id == tenant_id, Org.closed_on.is_(None))
        .order_by(Committee.id)).all()
    # BJ-DIR-1: once the year's directory is published, only its committees are offered.
    from .directory import eligible_committee_ids
    eligible = eligible_committee_ids(tenant_id, {p.year for p in plans})
    # A self-review unit's committees: only for its own staff (seed 002 第九条).
    from .self_review_run import offered_committee_ids
    own = offered_committee_ids(tenant_id, user) if any(p.owner_org_id for p in plans) else set()
    units = set(db.session.scalars(sa.select(Org.id).where(
        Org.tenant_id == tenant_id, Org.kind == "self_review_unit")))
    committees = [c for c in committees if c.id in own or (
        c.agency_org_id not in units and (eligible is None or c.id in eligible))]
    form.committee.choices = [(c.id, label(c)) for c in committees]
    # A series whose every level is filled by examination alone is not offered (CF-EXAM-1).
    offered = [s for s in cfg.tenant.series
               if not all(exam_replaces_review(cfg, s.code, lv) for lv in s.levels)]
    form.series.choices = [(s.code, label(s)) for s in offered]
    form.specialty.choices = [("", "—")] + [
        (sp.code, f"{label(s)} · {label(sp)}") for s in offered for sp in s.specialties]
    form.level.choices = [(lv.code, label(lv)) for lv in cfg.tenant.levels]


def exam_only(cfg) -> list[str]:
    """"Series · level" of every title filled by examination alone, to show beside the form."""
    return [f"{label(cfg.series(s))} · {label(cfg.level(lv))}"
            for r in cfg.policies.exam_replaces_review for s in r.series for lv in r.levels
            if cfg.series(s) is not None and lv in cfg.series(s).levels]


def handled_by(tenant_id: int, org_id: int, limit: int = PAGE_SIZE):
    """Applications this office has already acted on (most recent first)."""
    from .exports import handled
    return db.session.scalars(
        handled(tenant_id, org_id).options(selectinload(Application.applicant),
                                           selectinload(Application.committee))
        .limit(limit)).all()


def office_application(tenant_id: int, org_id: int, app_id: int) -> Application | None:
    """An application this office holds or lies on its route; None otherwise (→ 404)."""
    app = db.session.scalar(sa.select(Application).filter_by(id=app_id, tenant_id=tenant_id)
                            .options(selectinload(Application.entries),
                                     selectinload(Application.attachments),
                                     selectinload(Application.steps)))
    if app is None:
        return None
    on_route = any(step["org_id"] == org_id for step in (app.route or []))
    if app.holder_org_id == org_id or on_route:
        return app
    return None


def pending_employers(tenant_id: int, hr_org: Org) -> list[Org]:
    """Employers registered in the districts this HR bureau is territorial for."""
    from ..tenancy import config_for
    cfg = config_for(tenant_id)
    districts = [d.code for d in cfg.tenant.districts if d.hr_bureau == hr_org.code]
    return db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id, Org.status == OrgStatus.pending.value,
        Org.district.in_(districts)).order_by(Org.id)).all()


def plans(tenant_id: int):
    from ..models import Plan
    return db.session.scalars(sa.select(Plan).filter_by(tenant_id=tenant_id)
                              .order_by(Plan.is_demo.desc(), Plan.year.desc(), Plan.id)).all()


def org_choices(tenant_id: int) -> dict[str, list[Org]]:
    """Employers (approved) and recommending offices (HR bureaus, departments) of a tenant."""
    from ..tenancy.schema import OrgKind
    rows = db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id, Org.status == OrgStatus.approved.value,
        Org.closed_on.is_(None), Org.kind.in_([OrgKind.employer.value, OrgKind.hr_bureau.value,
                      OrgKind.department.value, OrgKind.self_review_unit.value]))
        .order_by(Org.kind, Org.name)).all()
    return {"employers": [o for o in rows if o.kind in (OrgKind.employer.value,
                                                        OrgKind.self_review_unit.value)],
            "offices": [o for o in rows if o.kind in (OrgKind.hr_bureau.value,
                                                      OrgKind.department.value)]}

"""Write a tenant's files into the database (idempotent: run on every start-up)."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Committee, Org, Plan, PlanWindow, Tenant
from ..models.agencies import AgencyFiling, FilingStatus
from .loader import TenantConfig


def _upsert(model, match: dict, values: dict):
    row = db.session.scalar(sa.select(model).filter_by(**match))
    if row is None:
        row = model(**match)
        db.session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    return row


def org_ids(tenant_id: int) -> dict[str, int]:
    return dict(db.session.execute(
        sa.select(Org.code, Org.id).filter_by(tenant_id=tenant_id)).all())


def sync_tenant(cfg: TenantConfig) -> Tenant:
    """Tenant row, offices from orgs.toml, committees, and the plans of plans/*.toml.

    Employers registered through the portal are left alone, and so is every unit created or
    changed in the portal (`portal_managed`, app/workflow/orgtree.py): the file seeds a unit,
    the portal's later values stay. A plan's windows are rewritten from
    the file, so a date corrected in the file takes effect on the next start, except a closing
    date a tenant admin has moved in the portal (audited there), which stays as moved."""
    tenant = _upsert(Tenant, {"slug": cfg.slug}, {"name": cfg.name})
    db.session.flush()
    managed = set(db.session.scalars(sa.select(Org.code).filter_by(tenant_id=tenant.id,
                                                                   portal_managed=True)))
    for seed in cfg.orgs.org:
        if seed.code in managed:
            continue
        _upsert(Org, {"tenant_id": tenant.id, "code": seed.code}, {
            "name": seed.name, "name_en": seed.name_en, "kind": seed.kind.value,
            "tier": seed.tier.value if seed.tier else None, "district": seed.district,
            "series": list(seed.series)})
    db.session.flush()
    ids = org_ids(tenant.id)
    for seed in cfg.orgs.org:
        if seed.parent and seed.code not in managed:
            db.session.get(Org, ids[seed.code]).parent_id = ids[seed.parent]
    for c in cfg.directory.committee:
        _upsert(Committee, {"tenant_id": tenant.id, "code": c.code}, {
            "name": c.name, "name_en": c.name_en, "agency_org_id": ids[c.agency],
            "series": list(c.series), "levels": list(c.levels),
            "specialties": list(c.specialties), "district_only": c.district_only,
            "private_share": c.private_share})
    _seed_agency_filings(tenant.id, cfg, ids)
    for p in cfg.plans.plan:
        plan = _upsert(Plan, {"tenant_id": tenant.id, "code": p.code}, {
            "year": p.year, "name": p.name, "name_en": p.name_en, "levels": list(p.levels),
            "review_mode": p.review_mode, "is_demo": False,
            "mode_rules": [m.model_dump() for m in p.mode]})
        set_windows(plan, {stage: (w.opens, w.closes) for stage, w in p.windows.items()},
                    keep_admin_closes=True)
    db.session.commit()
    return tenant


def _seed_agency_filings(tenant_id: int, cfg: TenantConfig, ids: dict[str, int]) -> None:
    """An agency's filing as the tenant files record it, for agencies with none yet: once the
    city HR bureau has decided on a filing in the portal, the files no longer touch it."""
    have = set(db.session.scalars(sa.select(AgencyFiling.org_id).filter_by(tenant_id=tenant_id)))
    for seed in cfg.directory.agency:
        if ids[seed.code] in have:
            continue
        db.session.add(AgencyFiling(
            tenant_id=tenant_id, org_id=ids[seed.code], status=FilingStatus.filed.value,
            phone=seed.phone, address=seed.address, hours=seed.hours, head=seed.head,
            profile="", scope="", purpose="", staff="", facilities="", strengths="",
            committees="", return_reason="", staff_count=0,
            filed_on=seed.filed_on, valid_until=seed.valid_until))


def set_windows(plan: Plan, windows: dict, keep_admin_closes: bool = False) -> None:
    """Make the plan's windows exactly `windows` ({stage: (opens, closes)}). With
    `keep_admin_closes`, a closing date a tenant admin moved in the portal stays as moved."""
    existing = {w.stage: w for w in plan.windows}
    for stage, (opens, closes) in windows.items():
        w = existing.pop(stage, None)
        if w is None:
            plan.windows.append(PlanWindow(stage=stage, opens_on=opens, closes_on=closes))
        elif keep_admin_closes and w.closes_set_by is not None:
            w.opens_on = opens
        else:
            w.opens_on, w.closes_on, w.closes_set_by = opens, closes, None
    for w in existing.values():
        plan.windows.remove(w)

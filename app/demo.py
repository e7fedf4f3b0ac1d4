"""Demo data from tenants/<slug>/demo.toml: employers, one account per role, a 演示 plan.

Idempotent: existing rows are kept. The demo plan's windows are laid out from the load day, and
laid out again when its application window has already closed, so the demo works on any day."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from .extensions import db
from .models import Org, OrgStatus, Plan, User
from .tenancy.loader import TenantConfig, TenantConfigError
from .tenancy.schema import OrgKind
from .tenancy.sync import _upsert, org_ids, set_windows
from .workflow.accounts import hash_password, set_id_number
from .workflow.ids import clean_uscc


def load_demo(cfg: TenantConfig, tenant_id: int, today: date) -> list[tuple[str, str, str]]:
    """Create what is missing; return (username, role, org name) of every demo account."""
    demo = cfg.demo
    if demo is None:
        return []
    where = cfg.path / "demo.toml"
    for i, e in enumerate(demo.employer):
        code = clean_uscc(e.uscc)
        if code is None:
            raise TenantConfigError(f"{where}: key employer.{i}.uscc: fails the GB 32100 check")
        ids = org_ids(tenant_id)
        if e.code not in ids:
            db.session.add(Org(
                tenant_id=tenant_id, code=e.code, name=e.name, name_en=e.name_en,
                kind=OrgKind.employer.value, tier=e.tier.value, district=e.district,
                parent_id=ids.get(e.parent) if e.parent else None, uscc=code,
                employer_kind=e.employer_kind.value, entrustment_exempt=e.entrustment_exempt,
                status=OrgStatus(e.status).value))
    db.session.flush()
    ids = org_ids(tenant_id)
    accounts = []
    for i, u in enumerate(demo.user):
        for key in ("org", "association"):
            ref = getattr(u, key)
            if ref is not None and ref not in ids:
                raise TenantConfigError(f"{where}: key user.{i}.{key}: unknown org {ref!r}")
        user = db.session.scalar(sa.select(User).filter_by(tenant_id=tenant_id,
                                                           username=u.username))
        if user is None:
            user = User(tenant_id=tenant_id, username=u.username, name=u.name, role=u.role,
                        org_id=ids.get(u.org), association_org_id=ids.get(u.association),
                        person_type=u.person_type, mobile=u.mobile,
                        password_hash=hash_password(demo.password))
            if u.id_number and not set_id_number(user, u.id_number):
                raise TenantConfigError(f"{where}: key user.{i}.id_number: fails GB 11643")
            db.session.add(user)
        org = db.session.get(Org, ids[u.org]) if u.org else None
        accounts.append((u.username, u.role, org.name if org else ""))
    if demo.demo_plan is not None:
        p = demo.demo_plan
        plan = db.session.scalar(sa.select(Plan).filter_by(tenant_id=tenant_id, code=p.code))
        apply = plan.window("apply") if plan else None
        if plan is None or apply is None or apply.closes_on < today:
            plan = _upsert(Plan, {"tenant_id": tenant_id, "code": p.code}, {
                "year": today.year, "name": p.name, "name_en": p.name_en,
                "levels": list(p.levels), "review_mode": p.review_mode, "is_demo": True})
            set_windows(plan, {stage: (today + timedelta(days=a), today + timedelta(days=b))
                               for stage, (a, b) in p.windows.items()})
    db.session.commit()
    return accounts

"""Demo data from tenants/<slug>/demo.toml: employers, one account per role, a 演示 plan.

Idempotent: existing rows are kept. The demo plan's windows are laid out from the load day, and
laid out again when its application window has already closed, so the demo works on any day."""
from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from pypdf import PdfWriter

from . import uploads
from .extensions import db
from .models import (
    Application, Attachment, Committee, Entry, Expert, Org, OrgStatus, Plan, QuotaAllocation,
    UnitPosts, User,
)
from .tenancy.loader import TenantConfig, TenantConfigError
from .tenancy.schema import OrgKind
from .tenancy.sync import _upsert, org_ids, set_windows
from .workflow.accounts import hash_password, set_id_number
from .workflow.actors import Actor
from .workflow.applications import create_application
from .workflow.calendar import TZ
from .workflow.eligibility import required_materials
from .workflow.policies import level_below
from .workflow import profiles
from .workflow.transitions import audit, transition
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
                enterprise_flags=[f.value for f in e.enterprise_flags] or None,
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
    for i, x in enumerate(demo.expert):
        _demo_expert(tenant_id, x, ids, demo.password, f"{where}: expert.{i}")
        accounts.append((x.username, "expert", x.employer))
    if demo.demo_plan is not None:
        p = demo.demo_plan
        plan = db.session.scalar(sa.select(Plan).filter_by(tenant_id=tenant_id, code=p.code))
        apply = plan.window("apply") if plan else None
        opens = today + timedelta(days=p.windows["apply"][0])
        if plan is None or apply is None or apply.closes_on < today or apply.opens_on > opens:
            plan = _upsert(Plan, {"tenant_id": tenant_id, "code": p.code}, {
                "year": today.year, "name": p.name, "name_en": p.name_en,
                "levels": list(p.levels), "review_mode": p.review_mode, "is_demo": True,
                "mode_rules": [m.model_dump() for m in p.mode]})
            set_windows(plan, {stage: (today + timedelta(days=a), today + timedelta(days=b))
                               for stage, (a, b) in p.windows.items()})
        db.session.commit()
        for i, seed in enumerate(demo.demo_application):
            _demo_application(cfg, tenant_id, plan, seed, today, f"{where}: demo_application.{i}")
        for i, fee in enumerate(demo.fee):
            _demo_fee(cfg, tenant_id, plan, fee, f"{where}: fee.{i}")
    _demo_quotas(cfg, tenant_id, ids, today.year, where)
    db.session.commit()
    return accounts


def _demo_quotas(cfg, tenant_id: int, ids: dict, year: int, where) -> None:
    """Demo units' posts in the load day's year (CF-POL-9) and shares of review quotas
    (CF-POL-8), as their clerks would have entered them."""
    for quota in cfg.policies.review_quota:
        given = sum(a.places for a in cfg.demo.allocation if a.quota == quota.code)
        if given > quota.total:
            raise TenantConfigError(f"{where}: key allocation: {given} places for {quota.code!r}, "
                                    f"more than its total {quota.total}")
    for i, p in enumerate(cfg.demo.posts):
        if p.org not in ids or cfg.level(p.level) is None:
            raise TenantConfigError(f"{where}: key posts.{i}: unknown org or level")
        match = {"tenant_id": tenant_id, "org_id": ids[p.org], "year": year, "level": p.level}
        if not db.session.scalar(sa.select(UnitPosts.id).filter_by(**match)):
            db.session.add(UnitPosts(**match, posts=p.posts, holders=p.holders))
    for i, a in enumerate(cfg.demo.allocation):
        known = (any(q.code == a.quota for q in cfg.policies.review_quota)
                 and (a.org is None or a.org in ids)
                 and (a.district is None or cfg.district(a.district) is not None))
        if not known:
            raise TenantConfigError(f"{where}: key allocation.{i}: unknown quota, org or district")
        match = {"tenant_id": tenant_id, "quota": a.quota, "district": a.district,
                 "org_id": ids.get(a.org) if a.org else None}
        if not db.session.scalar(sa.select(QuotaAllocation.id).filter_by(**match)):
            db.session.add(QuotaAllocation(**match, places=a.places))


def _demo_application(cfg, tenant_id: int, plan: Plan, seed, today: date, where: str) -> None:
    """Create, fill and move one demo application through the transition service, acting at
    10:00 on the day `days_ago` before today (the demo plan's windows must cover that day)."""
    user = db.session.scalar(sa.select(User).filter_by(tenant_id=tenant_id, username=seed.applicant))
    committee = db.session.scalar(sa.select(Committee).filter_by(tenant_id=tenant_id,
                                                                  code=seed.committee))
    if user is None or committee is None:
        raise TenantConfigError(f"{where}: unknown applicant or committee")
    if db.session.scalar(sa.select(Application.id).filter_by(applicant_id=user.id, plan_id=plan.id)):
        return  # already there: the demo keeps its data
    when = datetime.combine(today - timedelta(days=seed.days_ago), time(10), TZ)
    actor = Actor.of(user)
    if cfg.policies.profile_verification and not profiles.is_verified(user):
        # The demo's employer verified this applicant's profile (CF-REG-1) beforehand.
        audit(Actor.system(tenant_id), "users", user.id, profiles.VERIFY, reason="演示数据", now=when)
    app = create_application(cfg, actor, user, plan_id=plan.id, committee_id=committee.id,
                             series=seed.series, level=seed.level, specialty=seed.specialty,
                             now=when)
    below = level_below(cfg, app.level)
    app.basic = {**app.basic, "gender": "female", "birth_date": "1988-03-12",
                 "current_title": "助理工程师", "current_level": below.code if below else "",
                 "title_on": "2014-09-01"}
    db.session.add_all([
        Entry(application_id=app.id, section="education", data={
            "school": "北京交通大学", "major": "土木工程", "degree": "本科",
            "graduated_on": "2010-07-01"}),
        Entry(application_id=app.id, section="work", data={
            "org_name": app.employer.name if app.employer else "", "position": "结构设计",
            "start": "2010-08-01", "end": ""}),
        Entry(application_id=app.id, section="papers", data={
            "title": "装配式混凝土框架节点抗震性能试验研究", "journal": "建筑结构", "year": "2023",
            "coauthors": ""}),
    ])
    for m in required_materials(cfg, app):
        data = _demo_pdf()
        stored, digest = uploads.store(cfg.slug, data, "application/pdf")
        db.session.add(Attachment(application_id=app.id, material=m.code, filename=f"{m.code}.pdf",
                                  stored_name=stored, mime="application/pdf", size=len(data),
                                  sha256=digest, uploaded_by=user.id))
    db.session.commit()
    if seed.stage in ("submitted", "in_notice"):
        # The applicant signs the tenant's personal pledge as on the page (BJ-PLEDGE-1).
        transition(cfg, app, "submit", actor, now=when,
                   pledge=cfg.pledge.version if cfg.pledge else None)
    if seed.stage == "in_notice":
        clerk = db.session.scalar(sa.select(User).filter_by(
            tenant_id=tenant_id, org_id=app.holder_org_id, role="employer_clerk"))
        if clerk is None:
            raise TenantConfigError(f"{where}: the employer has no employer_clerk account")
        transition(cfg, app, "start_notice", Actor.of(clerk), now=when)


def _demo_expert(tenant_id: int, x, ids: dict, password: str, where: str) -> None:
    """An expert of the pool with a login (the agreement is signed at first sign-in)."""
    if db.session.scalar(sa.select(User.id).filter_by(tenant_id=tenant_id, username=x.username)):
        return
    if x.employer_org and x.employer_org not in ids:
        raise TenantConfigError(f"{where}.employer_org: unknown org {x.employer_org!r}")
    user = User(tenant_id=tenant_id, username=x.username, name=x.name, role="expert",
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    db.session.add(Expert(
        tenant_id=tenant_id, user_id=user.id, name=x.name, gender=x.gender,
        birth_date=x.birth_date, title_level=x.title_level, title_year=x.title_year,
        series=x.series, specialty=x.specialty, employer_name=x.employer,
        employer_org_id=ids.get(x.employer_org) if x.employer_org else None,
        private_sector=x.private_sector, role=x.role, entry_route=x.entry_route,
        term_start=x.term_start, terms=x.terms))


def _demo_fee(cfg, tenant_id: int, plan: Plan, fee, where: str) -> None:
    """The demo plan's fee window spans its agency-check window, set by the agency's clerk."""
    from .workflow.fees import set_fee_window
    clerk = db.session.scalar(sa.select(User).filter_by(tenant_id=tenant_id,
                                                        username=fee.agency_clerk))
    committee = db.session.scalar(sa.select(Committee).filter_by(tenant_id=tenant_id,
                                                                  code=fee.committee))
    window = plan.window("agency_check")
    if clerk is None or committee is None or window is None:
        raise TenantConfigError(f"{where}: unknown clerk or committee, or no agency_check window")
    set_fee_window(cfg, Actor.of(clerk), committee_id=committee.id, plan_id=plan.id,
                   opens_on=window.opens_on, closes_on=window.closes_on,
                   amount=fee.amount_yuan * 100, instructions=fee.instructions)


def _demo_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()

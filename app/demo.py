"""Demo data from tenants/<slug>/demo.toml: employers, an account for every office on the demo
files' routes, a 演示 plan, and files at every stage of the year (draft to certified).

Every file is moved by the services the pages use (create_application, transition(), sessions,
ballots, results, the certificate batch), acting on past days of the demo plan's windows where a
stage needs time to pass (the employer's notice, the public notice of results). Idempotent:
existing rows are kept, a file that exists is left as it is. The demo plan's windows are laid
out from the load day, and laid out again when its application window has already closed, so
the demo works on any day."""
from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from . import uploads
from .extensions import db
from .models import (
    Application, Attachment, Committee, Expert, ItemState, Org, OrgStatus, Plan, ProfileItem,
    QuotaAllocation, Status, UnitPosts, User,
)
from .tenancy.loader import TenantConfig, TenantConfigError
from .tenancy.schema import OrgKind, StepKind
from .tenancy.sync import _upsert, org_ids, set_windows
from .workflow import (
    committees, defense, demo_clock, expert_pool, experts, profiles, results, review_group,
    sessions,
)
from .workflow.accounts import hash_password, set_id_number
from .workflow.actors import Actor
from .workflow.applications import create_application
from .workflow.calendar import TZ, WorkCalendar, now_local
from .workflow.eligibility import required_materials
from .workflow.ids import clean_uscc
from .workflow.policies import level_below
from .workflow.routing import STEP_ROLE
from .workflow.transitions import audit, transition


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
    password = _SharedPassword(demo.password)
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
                        password_hash=password.hash)
            if u.id_number and not set_id_number(user, u.id_number):
                raise TenantConfigError(f"{where}: key user.{i}.id_number: fails GB 11643")
            db.session.add(user)
        org = db.session.get(Org, ids[u.org]) if u.org else None
        accounts.append((u.username, u.role, org.name if org else ""))
    for i, x in enumerate(demo.expert):
        _demo_expert(tenant_id, x, ids, password, f"{where}: expert.{i}")
        accounts.append((x.username, "expert", x.employer))
    # Units' posts and quota shares first: files are forwarded against them.
    _demo_quotas(cfg, tenant_id, ids, today.year, where)
    db.session.commit()
    certify = False
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
            demo_clock.reset(plan)  # laid out afresh: its demo clock starts again
        db.session.commit()
        # The fee is set before files reach it; files are then taken to their stages.
        for i, fee in enumerate(demo.fee):
            _demo_fee(cfg, tenant_id, plan, fee, f"{where}: fee.{i}")
        for i, seed in enumerate(demo.demo_application):
            made = _demo_application(cfg, tenant_id, plan, seed, today,
                                     f"{where}: demo_application.{i}")
            certify = certify or (made and seed.stage == "certified")
    db.session.commit()
    if certify:
        # The nightly batch, run for the load day: files whose public notice has ended.
        from .workflow.certificates import issue_batch
        issue_batch(tenant_id, today)
    return accounts


class _SharedPassword:
    """The demo password hashed once per load, when a new account first needs it: every demo
    account shares the published password, and Argon2 is slow on purpose."""

    def __init__(self, password: str):
        self.password, self._hash = password, None

    @property
    def hash(self) -> str:
        if self._hash is None:
            self._hash = hash_password(self.password)
        return self._hash


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


def _demo_application(cfg, tenant_id: int, plan: Plan, seed, today: date, where: str) -> bool:
    """Create and fill one demo application, then take it to its stage; False when it exists.
    `submitted` and `in_notice` act at 10:00 on the day `days_ago` before today; later stages
    start on the first day of the plan's application window (see _Journey)."""
    user = db.session.scalar(sa.select(User).filter_by(tenant_id=tenant_id, username=seed.applicant))
    committee = db.session.scalar(sa.select(Committee).filter_by(tenant_id=tenant_id,
                                                                  code=seed.committee))
    if user is None or committee is None:
        raise TenantConfigError(f"{where}: unknown applicant or committee")
    if db.session.scalar(sa.select(Application.id).filter_by(applicant_id=user.id, plan_id=plan.id)):
        return False  # already there: the demo keeps its data
    early = seed.stage in ("draft", "submitted", "in_notice")
    start = today - timedelta(days=seed.days_ago) if early else plan.window("apply").opens_on
    when = _at(start, today)
    actor = Actor.of(user)
    _demo_profile(cfg, tenant_id, user, when)
    if cfg.policies.profile_verification and not profiles.basic_verified(user):
        # The demo's employer verified this applicant's basic information (CF-REG-1) beforehand.
        audit(Actor.system(tenant_id), "users", user.id, profiles.VERIFY, reason="演示数据",
              now=when)
    app = create_application(cfg, actor, user, plan_id=plan.id, committee_id=committee.id,
                             series=seed.series, level=seed.level, specialty=seed.specialty,
                             now=when)
    below = level_below(cfg, app.level)
    app.basic = {**app.basic, "gender": "female", "birth_date": "1988-03-12",
                 "current_title": "助理工程师", "current_level": below.code if below else "",
                 "title_on": "2014-09-01"}
    for m in required_materials(cfg, app):
        data = _demo_pdf()
        stored, digest = uploads.store(cfg.slug, data, "application/pdf")
        db.session.add(Attachment(application_id=app.id, material=m.code, filename=f"{m.code}.pdf",
                                  stored_name=stored, mime="application/pdf", size=len(data),
                                  sha256=digest, uploaded_by=user.id))
    db.session.commit()
    if seed.stage != "draft":
        _Journey(cfg, app, today, start, where).to(seed.stage, seed.until)
    return True


def _demo_profile(cfg, tenant_id: int, user: User, when: datetime) -> None:
    """The applicant's profile (业绩档案), made once and taken into each demo application:
    where the employer verifies profiles (CF-REG-1), its demo clerk has checked the education
    and the work history, and the paper still waits for the check."""
    if db.session.scalar(sa.select(ProfileItem.id).filter_by(user_id=user.id).limit(1)):
        return
    unit_id = user.org_id or user.association_org_id
    clerk = db.session.scalar(sa.select(User).where(
        User.tenant_id == tenant_id, User.org_id == unit_id, User.active.is_(True),
        User.role.in_(profiles.VERIFIER_ROLES)).order_by(User.id)) if unit_id else None
    checker = Actor.of(clerk) if clerk else Actor.system(tenant_id)
    rows = [
        ("education", {"school": "北京交通大学", "major": "土木工程", "degree": "本科",
                       "graduated_on": "2010-07-01", "evidence": "毕业证书、学位证书（学信网可查）"},
         True),
        ("work", {"org_name": user.org.name if user.org else "", "position": "结构设计",
                  "start": "2010-08-01", "end": "", "evidence": "劳动合同、社会保险缴费记录"}, True),
        ("papers", {"title": "装配式混凝土框架节点抗震性能试验研究", "journal": "建筑结构",
                    "year": "2023", "coauthors": "", "evidence": "期刊封面、目录及正文"}, False),
    ]
    verifies = bool(cfg.policies.profile_verification)
    for kind, data, checked in rows:
        item = ProfileItem(tenant_id=tenant_id, user_id=user.id, kind=kind,
                           state=ItemState.unverified.value, version=1)
        item.data = data
        db.session.add(item)
        db.session.flush()
        audit(Actor.of(user), "profile_items", item.id, "create", reason=kind,
              to_state=item.state, now=when)
        if checked and verifies:
            item.state, item.checked_at = ItemState.verified.value, when
            item.checked_by = clerk.id if clerk else None
            audit(checker, "profile_items", item.id, profiles.VERIFY_ITEM, reason=kind,
                  from_state=ItemState.unverified.value, to_state=item.state, now=when)


def _at(day: date, today: date) -> datetime:
    """10:00 on a past day of the demo; on the load day, the present moment (10:00 when the demo
    is loaded for a day other than the clock's)."""
    if day >= today:
        now = now_local()
        return now if now.date() == today else datetime.combine(today, time(10), TZ)
    return datetime.combine(day, time(10), TZ)


class _Journey:
    """One demo file taken stage by stage through the services, each office acting through its
    own demo account. Past days: the application window's first day (submission and the
    employer's notice), the day after the notice (the offices' recommendations, the agency's
    check and the fee), the review day (the tenant's plan-filing lead time later) and, for a
    certified file, the public notice of results, which must end before the load day."""

    def __init__(self, cfg, app: Application, today: date, start: date, where: str):
        self.cfg, self.app, self.today, self.where = cfg, app, today, where
        self.calendar = WorkCalendar(cfg)
        self.start = start if start >= today else self.workday(start)

    def workday(self, day: date) -> date:
        """Offices act on working days: `day`, or the first working day after it."""
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return day

    def fail(self, text: str):
        raise TenantConfigError(f"{self.where}: {text}")

    def clerk(self, org_id: int, role: str) -> Actor:
        user = db.session.scalar(sa.select(User).filter_by(
            tenant_id=self.app.tenant_id, org_id=org_id, role=role, active=True).order_by(User.id))
        if user is None:
            org = db.session.get(Org, org_id)
            self.fail(f"no demo {role} account for {org.code if org else org_id}")
        return Actor.of(user)

    def holder(self) -> Actor:
        return self.clerk(self.app.holder_org_id,
                          STEP_ROLE[StepKind(self.app.current_step["kind"])].value)

    def to(self, stage: str, until: str | None) -> None:
        cfg, app = self.cfg, self.app
        t0 = _at(self.start, self.today)
        transition(cfg, app, "submit", Actor.of(app.applicant), now=t0,
                   pledge=cfg.pledge.version if cfg.pledge else None)  # BJ-PLEDGE-1
        if until and until not in {db.session.get(Org, st["org_id"]).code for st in app.route}:
            self.fail(f"until: {until!r} is not an office on this file's route")
        if stage == "submitted":
            return
        transition(cfg, app, "start_notice", self.holder(), now=t0)
        if stage == "in_notice":
            return
        # The notice has run its working days with no objection: each office recommends.
        self.day = self.workday(app.notice_ends_on + timedelta(days=1))
        now = self.past(self.day)
        while app.status != Status.recommended.value:
            if until and db.session.get(Org, app.holder_org_id).code == until:
                return
            transition(cfg, app, "recommend", self.holder(), now=now, opinion="同意推荐",
                       no_objection=True)
        if until or stage == "recommended":
            return
        agency = self.holder()
        if stage == "returned":  # one notice listing every correction, due in the tenant's days
            transition(cfg, app, "agency_return", agency, now=_at(self.today, self.today),
                       opinion="请补正后重新提交",
                       items=[{"target": "papers", "text": "论文须附期刊检索证明"},
                              {"target": "work", "text": "工作经历请写明起止年月和所任职务"}])
            return
        transition(cfg, app, "check_pass", agency, now=now, opinion="材料齐全，审核通过")
        if stage == "checked":
            return
        if sessions.ready_status(app.tenant_id) == Status.paid.value:
            transition(cfg, app, "confirm_payment", agency, now=now, reference="DEMO-BANK-0001")
        elif stage == "paid":
            self.fail("the tenant charges no fee: no file is ever paid")
        if stage == "paid":
            return
        self.review(agency, stage)

    def past(self, day: date) -> datetime:
        if day >= self.today:
            self.fail(f"the demo plan's windows leave no time for this stage before {self.today}")
        return _at(day, self.today)

    def review(self, agency: Actor, stage: str) -> None:
        cfg, app = self.cfg, self.app
        lead = cfg.policies.plan_filing_days_before or 0
        held = self.today + timedelta(days=max(lead, 7)) if stage == "in_session" \
            else self.workday(self.day + timedelta(days=lead))
        _file_committee(cfg, agency, app.committee, self.start, self.where)
        s = sessions.create_session(cfg, agency, committee_id=app.committee_id,
                                    plan_id=app.plan_id, series=app.series, level=app.level,
                                    specialties=[], panel_size=5, held_on=held)
        sessions.add_files(agency, s, [app.id])
        if lead:  # CF-PLAN-2: filed the tenant's days before the meeting
            transition(cfg, s, "file_plan", agency,
                       now=_at(self.today, self.today) if stage == "in_session"
                       else self.past(self.day))
        transition(cfg, s, "draw", agency)
        if stage == "in_session":
            return
        review_day = self.past(held)
        item = s.items[0]
        if defense.defends(cfg, app.level):  # BJ-DEF-1
            defense.record_defense(cfg, agency, s, item.id, "held", now=review_day)
        active = [m for m in s.members if m.status == "active"]
        if review_group.uses_review_group(cfg):  # BJ23-PANEL-1
            writer = Actor.of(active[0].expert.user)
            experts.sign_confidentiality(writer, active[0].expert)
            review_group.record_opinion(cfg, writer, s, item,
                                        f"{item.code}：专业技术工作业绩符合评审条件。", [])
        # AE-DUTY-1: the agency records the panel's pre-review training before the ballot.
        expert_pool.record_training(agency, s, [m.expert_id for m in active])
        chair = Actor.of(next(m for m in active if m.role in sessions.PRESIDING).expert.user)
        transition(cfg, s, "open_voting", chair, present=[m.id for m in active], now=review_day)
        for m in active:
            sessions.cast_ballot(Actor.of(m.expert.user), s, {item.id: "yes"})
        transition(cfg, s, "close", chair, now=review_day)
        if stage == "voted":
            return
        self.publish(agency, s, review_day if stage == "certified" else None)

    def publish(self, agency: Actor, s, past: datetime | None) -> None:
        """Results to the public: accepted by the city HR bureau then publicised (BJ-ACC-1), or
        publicised by the committee office, then reported with its documents and filed or
        confirmed (CF-RESULT-1, CF-RESULT-2). With `past` (a past day), everything ends before
        the load day; without, the notice opens on the load day."""
        cfg = self.cfg
        now = past or _at(self.today, self.today)
        pub = results._publication(cfg, s)
        if not results.notice_first(cfg):
            transition(cfg, pub, "request", agency, now=now,
                       report="评审会按程序召开，出席委员过半数，表决结果已封存。")
            if results.self_filed(cfg, s):
                transition(cfg, pub, "file", agency, now=now)
            else:
                hr = results.city_hr(s.tenant_id)
                transition(cfg, pub, "accept", self.clerk(hr.id, "hr_officer"), now=now,
                           opinion="验收通过")
            if past is not None and pub.ends_on >= self.today:
                self.fail("the demo plan's windows leave no time for the public notice of "
                          f"results to end before {self.today}")
            return
        transition(cfg, pub, "publicise", agency, now=now)
        if past is None:
            return
        after = self.past(self.workday(pub.ends_on + timedelta(days=1)))
        for kind in results.missing_documents(cfg, pub):
            results.add_document(cfg, agency, pub, kind, f"{kind}.pdf", _demo_pdf())
        transition(cfg, pub, "report", agency, now=after, report="公示期间未收到异议。")
        if results.self_filed(cfg, s):
            transition(cfg, pub, "file", agency, now=after)
        else:
            hr = results.city_hr(s.tenant_id)
            transition(cfg, pub, "accept", self.clerk(hr.id, "hr_officer"), now=after,
                       opinion="确认评审结果")


def _file_committee(cfg, agency: Actor, committee: Committee, start: date, where: str) -> None:
    """The committee filed by its agency (AE-COMM-1) for the demo's year, with the tenant's
    experts of its series as its roster, unless a filing already covers it."""
    if committee.filed_valid_on(start) and committee.filed_valid_on(start + timedelta(days=365)):
        return
    roster = list(db.session.scalars(sa.select(Expert.id).where(
        Expert.tenant_id == committee.tenant_id, Expert.series.in_(committee.series))))
    if not roster:
        raise TenantConfigError(f"{where}: no demo experts of the series of {committee.code}")
    filed = start - timedelta(days=30)
    committees.file_committee(
        agency, committee, filed_on=filed, valid_until=filed + timedelta(days=2 * 365),
        scope="本评委会评审范围内的专业技术人员", standard_text="业绩成果|60\n答辩|40",
        procedure="材料审核、答辩、专业评议、表决、公示", roster=roster)


def _demo_expert(tenant_id: int, x, ids: dict, password: "_SharedPassword", where: str) -> None:
    """An expert of the pool with a login (the agreement is signed at first sign-in)."""
    if db.session.scalar(sa.select(User.id).filter_by(tenant_id=tenant_id, username=x.username)):
        return
    if x.employer_org and x.employer_org not in ids:
        raise TenantConfigError(f"{where}.employer_org: unknown org {x.employer_org!r}")
    user = User(tenant_id=tenant_id, username=x.username, name=x.name, role="expert",
                password_hash=password.hash)
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
    from .models.fees import FeeWindow
    have = db.session.scalar(sa.select(FeeWindow).filter_by(committee_id=committee.id,
                                                            plan_id=plan.id))
    if have is not None and (have.opens_on, have.closes_on) == (window.opens_on,
                                                                window.closes_on):
        return  # set on an earlier load for these windows: kept as the clerk left it
    set_fee_window(cfg, Actor.of(clerk), committee_id=committee.id, plan_id=plan.id,
                   opens_on=window.opens_on, closes_on=window.closes_on,
                   amount=fee.amount_yuan * 100, instructions=fee.instructions)


def _demo_pdf() -> bytes:
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()

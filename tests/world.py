"""One populated database for the access matrix and the form fuzzing: in each tenant, a file at
every stage the routes serve (draft, recommended, in a drawn session, passed, certified), the
objects around them (sessions, items, slots, publications, objections, re-checks, certificates,
payments, recordings, reports, job runs) and one account per role in the files' own offices
and in other offices of the same tenant. Built once per worker and copied for each module
that uses it: see `world_app`."""
from __future__ import annotations

import copy
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
import time_machine

from app import uploads
from app.extensions import db
from app.models import ProfileItem, SessionFile, User
from app.models.oversight import Complaint, SessionSupervisor
from app.models.fees import Payment
from app.models.reports import TierReport
from app.models.certificates import Certificate
from app.models.results import Objection, PublicationFile
from app.tenancy import tenants
from app.workflow import agencies, defense, directory, notices, results, sessions
from app.workflow.certificates import issue_batch
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_review import (
    VOTE_DAY, chifeng_session, new_session, pool_of, ready_to_vote, recommended,
)

# Roles of the matrix; hr_officer is split by tier because the county and the city bureau are
# given different work (employer approval, acceptance of results).
ROLES = ("anonymous", "applicant", "employer_clerk", "department_clerk", "hr_county", "hr_city",
         "association_clerk", "agency_clerk", "expert", "tenant_admin")

# Names no other row carries: a 200 page shown to another office or tenant must not contain them.
OWN_NAMES = {"beijing": ("欧阳明珠", "司马青云", "诸葛文瀚", "上官雨桐", "公孙长风"),
             "chifeng": ("乌兰图雅",)}


@dataclass
class Side:
    """One tenant's part of the world: usernames by role (own office, another office) and the
    ids routes take."""
    slug: str
    own: dict[str, str] = field(default_factory=dict)
    other: dict[str, str] = field(default_factory=dict)
    ids: dict[str, object] = field(default_factory=dict)


def _pdf_on_disk(slug: str, stored_name: str) -> None:
    uploads.storage().put(f"{slug}/{stored_name}", f.pdf_bytes())


def _files_on_disk(slug: str, apps) -> None:
    """Factory attachments name files that were never written; write them, so downloads serve."""
    for a in apps:
        for att in a.attachments:
            _pdf_on_disk(slug, att.stored_name)


def _rehearsal_run(tenant_id: int) -> int:
    """A finished rehearsal with a small report on disk (app/jobs/rehearsal.py)."""
    import json

    from app.jobs.rehearsal import report_key
    from app.models import JobRun
    run = JobRun(tenant_id=tenant_id, name="rehearsal", key="rehearsal:beijing:2026:small",
                 status="finished")
    db.session.add(run)
    db.session.commit()
    uploads.storage().put(report_key("beijing", run.id), json.dumps({
        "tenant": "beijing", "year": 2026, "size": "small", "files": 0, "clean": True,
        "plans": ["bj-2026"], "stages": [], "findings": [], "outcomes": {}, "cast": {}}).encode())
    return run.id


def _profile_item(user: User, kind: str = "education") -> int:
    """One unverified item of the person's profile (业绩档案)."""
    item = ProfileItem(tenant_id=user.tenant_id, user_id=user.id, kind=kind, state="unverified",
                       version=1)
    item.data = {"school": "北京工业大学", "major": "机械", "degree": "本科",
                 "graduated_on": "2007-07-01", "evidence": "毕业证书"}
    db.session.add(item)
    db.session.flush()
    slug = "beijing" if user.tenant_id == f.tenant_id("beijing") else "chifeng"
    item.scan_stored, item.scan_filename = f"profile-{item.id}.pdf", "毕业证书.pdf"
    item.scan_mime, item.scan_size, item.scan_sha256 = "application/pdf", 100, "0" * 64
    _pdf_on_disk(slug, item.scan_stored)
    db.session.commit()
    return item.id


def _beijing() -> Side:
    cfg = tenants()["beijing"]
    side = Side("beijing")
    agency = f.make_user("beijing", "bj-ag", "agency_clerk", "bj-agency-eng")
    apps, clerk = recommended(4, employer="emp")  # emp in Haidian; applicants emp-a0..3
    for a, name in zip(apps, OWN_NAMES["beijing"]):
        a.applicant.name = name
        a.basic = {**a.basic, "name": name}
    db.session.commit()
    pool_of(14)
    closed = new_session(agency, apps[:2], size=5)
    transition(cfg, closed, "draw", f.actor(agency))
    ready_to_vote(closed, agency)
    chair = next(m for m in closed.members if m.role == "chair")
    active = [m for m in closed.members if m.status == "active"]
    transition(cfg, closed, "open_voting", f.actor(chair.expert.user),
               present=[m.id for m in active], now=VOTE_DAY)
    for m in active:
        sessions.cast_ballot(f.actor(m.expert.user), closed, {i.id: "yes" for i in closed.items})
    transition(cfg, closed, "close", f.actor(chair.expert.user))
    hr_city = f.make_user("beijing", "bj-hr-city", "hr_officer", "bj-hr")
    with time_machine.travel(at(2026, 11, 23, 10), tick=False):
        pub = results.request_acceptance(cfg, f.actor(agency), closed, "评审情况报告")
        transition(cfg, pub, "accept", f.actor(hr_city), opinion="验收通过")
    run = issue_batch(apps[0].tenant_id, date(2026, 12, 5))
    cert = db.session.scalar(sa.select(Certificate).filter_by(application_id=apps[0].id))
    tid = f.tenant_id("beijing")
    db.session.add(Objection(tenant_id=tid, application_id=apps[1].id, kind="material",
                             target="申报人", facts="论文抄袭", evidence="比对报告",
                             lead="期刊编辑部", status="open",
                             routed_org_id=f.org("beijing", "emp").id))
    db.session.commit()
    obj = db.session.scalar(sa.select(Objection).filter_by(application_id=apps[1].id))
    recheck = results.request_recheck(f.actor(apps[0].applicant), apps[0], "请复核表决票数")

    # A second session, drawn, not voting: the experts' pages, the defense schedule.
    drawn = new_session(agency, [apps[2]], size=5)
    transition(cfg, drawn, "draw", f.actor(agency))
    member = next(m for m in drawn.members if m.role == "chair")
    slot = defense.create_slot(cfg, f.actor(agency), drawn,
                               starts_at=datetime(2026, 11, 20, 9, 30), place="答辩室",
                               what_to_bring="身份证原件", capacity=5, now=at(2026, 11, 1, 9))
    defense.assign(cfg, f.actor(agency), drawn, drawn.items[0].id, slot.id, now=at(2026, 11, 1, 9))

    recording = SessionFile(session_id=closed.id, kind="minutes", filename="会议纪要.pdf",
                            stored_name="minutes-1.pdf", mime="application/pdf", size=100,
                            sha256="0" * 64, uploaded_by=agency.id)
    db.session.add(recording)
    pub_file = PublicationFile(publication_id=pub.id, kind="approval_report",
                               filename="审批报告.pdf", stored_name="pub-file-1.pdf",
                               mime="application/pdf", size=100, sha256="0" * 64,
                               uploaded_by=agency.id)
    db.session.add(pub_file)
    payment = Payment(tenant_id=tid, application_id=apps[0].id, provider="gateway",
                      amount=35000, order_no="BJMATRIX0001")
    db.session.add(payment)
    pending = f.make_employer("beijing", "emp-pending", "haidian", status="pending")
    draft_user = f.make_user("beijing", "emp-draft", "applicant", "emp", name="公孙长风",
                             id_number=f.ID_NUMBERS[4])
    draft = f.make_application("beijing", draft_user, "bj-2026", "bj-eng", "engineering",
                               "intermediate", "mechanical")
    db.session.commit()
    _pdf_on_disk("beijing", recording.stored_name)
    _pdf_on_disk("beijing", pub_file.stored_name)
    _files_on_disk("beijing", apps + [draft])

    # The year's directory, published; yearly notices: one filed by the county bureau (with its
    # PDF), one acknowledged and public.
    year_directory = directory.generate(cfg, f.actor(hr_city), 2026, date(2026, 12, 10))
    directory.publish(cfg, f.actor(hr_city), year_directory, year_directory.version)
    county_hr = f.make_user("beijing", "bj-hr-hd", "hr_officer", "bj-hr-haidian")
    filed_notice = notices.file_notice(
        cfg, f.actor(county_hr), year=2026, title="海淀区2026年职称评审工作通知", body="",
        issued_on=date(2026, 5, 6), opens_on=None, closes_on=None, filename="通知.pdf",
        data=f.pdf_bytes())
    public_notice = notices.file_notice(
        cfg, f.actor(county_hr), year=2026, title="海淀区2026年职称评审补充通知", body="补充事项",
        issued_on=date(2026, 5, 20), opens_on=None, closes_on=None)
    notices.acknowledge(cfg, f.actor(hr_city), public_notice)

    # Other offices of the same tenant.
    f.make_employer("beijing", "emp-other", "xicheng")
    side.own = {
        "applicant": apps[0].applicant.username, "employer_clerk": clerk.username,
        "department_clerk": f.make_user("beijing", "bj-dept", "department_clerk",
                                        "bj-dept-econ-info").username,
        "hr_county": county_hr.username,
        "hr_city": hr_city.username,
        "association_clerk": f.make_user("beijing", "bj-assoc", "association_clerk",
                                         "bj-assoc-art").username,
        "agency_clerk": agency.username, "expert": member.expert.user.username,
        "tenant_admin": f.make_user("beijing", "bj-admin", "tenant_admin", "bj-hr").username,
    }
    outsider_expert = f.make_expert("beijing", "局外专家")
    nominee, vetted, change = _pool_entries(agency, member.expert)
    side.other = {
        "applicant": f.make_user("beijing", "oth-a", "applicant", "emp-other").username,
        "employer_clerk": f.make_user("beijing", "oth-c", "employer_clerk", "emp-other").username,
        "hr_county": f.make_user("beijing", "oth-hr", "hr_officer", "bj-hr-chaoyang").username,
        "association_clerk": f.make_user("beijing", "oth-assoc", "association_clerk",
                                         "bj-assoc-crafts").username,
        "agency_clerk": f.make_user("beijing", "oth-ag", "agency_clerk", "bj-agency-econ").username,
        "expert": outsider_expert.user.username,
    }
    # A complaint routed to the agency, with an uploaded piece of evidence (AE-COMPLAIN-1), and
    # the county bureau's clerk appointed to supervise both sessions (AE-SUPERV-1).
    watcher = db.session.scalar(sa.select(User).filter_by(tenant_id=tid,
                                                          username=side.own["hr_county"]))
    supervisor = SessionSupervisor(tenant_id=tid, session_id=drawn.id, user_id=watcher.id,
                                   appointed_by=hr_city.id)
    db.session.add(SessionSupervisor(tenant_id=tid, session_id=closed.id, user_id=watcher.id,
                                     appointed_by=hr_city.id))
    complaint = Complaint(tenant_id=tid, code="ABCD-EFGH-JKLM-NPQR", kind="procedure",
                          agency_org_id=agency.org_id, target="评审服务机构", facts="未全程录像",
                          evidence="现场照片", lead="同场申报人", evidence_filename="证据.pdf",
                          evidence_stored="complaint-1.pdf", evidence_mime="application/pdf",
                          status="open", routed_org_id=agency.org_id, due_on=date(2026, 12, 11))
    db.session.add_all([supervisor, complaint])
    db.session.commit()
    _pdf_on_disk("beijing", complaint.evidence_stored)
    side.ids = {
        "complaint": complaint.id, "supervisor": supervisor.id,
        "dept_user": db.session.scalar(sa.select(User.id).filter_by(
            tenant_id=tid, username=side.own["department_clerk"])),
        "app": apps[0].id, "att": apps[0].attachments[0].id,
        "entry": apps[0].entries[0].id, "draft_entry": draft.entries[0].id,
        "draft_applicant": draft_user.username, "recommended_app": apps[3].id,
        "recommended_att": apps[3].attachments[0].id, "defense_app": apps[2].id,
        "defense_applicant": apps[2].applicant.username, "run_ref": f"run-{run.id}",
        "rehearsal": _rehearsal_run(tid),
        "draft": draft.id,
        "draft_att": draft.attachments[0].id, "closed_session": closed.id,
        "session": drawn.id, "item": drawn.items[0].id,
        "item_att": apps[2].attachments[0].id, "session_file": recording.id,
        "pub_file": pub_file.id,
        "pub": pub.id, "pub_app": apps[0].id, "obj": obj.id, "recheck": recheck.id,
        "cert": cert.id, "cert_number": cert.number, "order_no": payment.order_no,
        "org": pending.id, "committee": f.committee("beijing", "bj-eng").id,
        "expert_id": outsider_expert.id, "plan": f.plan("beijing", "bj-2026").id,
        "run": run.id, "unit": f.org("beijing", "emp").id, "clerk_user": clerk.id,
        "nominee": nominee.id, "vetted": vetted.id, "change": change.id,
        "filing": agencies.filing_of(tid, f.org("beijing", "bj-agency-eng").id).id,
        "agency_org": f.org("beijing", "bj-agency-eng").id, "notice": filed_notice.id,
        "public_notice": public_notice.id, "self_review": _self_review(clerk).id,
        "batch": _batch(agency, apps[3]),
        "profile_item": _profile_item(apps[0].applicant),
        **_self_review_unit(),
    }
    return side


def _batch(agency, app) -> int:
    """A batch the agency's clerk did on 1 Aug (its undo window long over): one file refused."""
    from app.models.batches import Batch, BatchItem
    b = Batch(tenant_id=agency.tenant_id, org_id=agency.org_id, actor_id=agency.id,
              action="check_pass", at=at(2026, 8, 1, 9), undo_until=at(2026, 8, 1, 9, 10))
    db.session.add(b)
    db.session.flush()
    db.session.add(BatchItem(batch_id=b.id, application_id=app.id, done=False, reason="—",
                             status_before=app.status, holder_before=app.holder_org_id,
                             route_pos_before=app.route_pos, version_before=app.version))
    db.session.commit()
    return b.id


def _self_review_unit() -> dict:
    """bj-self-university approved as a self-review unit, its documents approved, its 2026 plan
    filed and a committee awaiting the city HR bureau's filing (SR-RUN-1): the accounts of its
    clerk and its committee office, and the ids its pages take."""
    from app.workflow import self_review, self_review_run as run
    cfg = tenants()["beijing"]
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        unit_clerk = f.make_user("beijing", "sr-clerk", "employer_clerk", "bj-self-university")
        office = f.make_user("beijing", "sr-office", "agency_clerk", "bj-self-university")
        city = f.make_user("beijing", "sr-city", "hr_officer", "bj-hr")
        a = self_review.file(cfg, f.actor(unit_clerk), {
            "unit_type": "public_institution", "institution_kind": "university",
            "legal_person": True, "total_staff": "100",
            "professional_staff": "90", "scope": ["engineering:senior"],
            "experts": [{"key": "engineering:", "count": "9"}], "influence": "行业领先",
            "department_org_id": f.org("beijing", "bj-dept-econ-info").id},
            {"plan": ("方案.pdf", f.pdf_bytes()), "standards": ("标准.pdf", f.pdf_bytes())})
        transition(cfg, a, "recommend", f.actor(f.make_user(
            "beijing", "sr-dept", "department_clerk", "bj-dept-econ-info")), opinion="同意推荐")
        transition(cfg, a, "form_group", f.actor(city), group="甲\n乙")
        transition(cfg, a, "approve", f.actor(city),
                   findings={k: "符合" for k in self_review.ASPECTS})
        actor = f.actor(unit_clerk)
        setup = f.unit_documents_approved(cfg, unit_clerk, city)
        yp = run.file_year_plan(cfg, actor, {
            "year": "2026", "apply_opens": "2026-03-10", "apply_closes": "2026-04-10",
            "review_opens": "2026-05-10", "review_closes": "2026-06-30", "procedure": "评议",
            "experts": "校内外专家", "indicators": "业绩", "groups": "机械组",
            "scope": ["engineering:senior"]})
        expert = f.make_expert("beijing", "校评委")
        committee = run.set_up_committee(cfg, f.actor(office), yp, {
            "name": "校工程技术评委会", "series": "engineering", "levels": ["senior"],
            "scope": "本校", "standard": "业绩|100", "procedure": "评议", "roster": [expert.id]})
        # BJ23-SELF-1: the university entrusts its 2027 academic review to the education
        # commission, whose clerk has yet to accept it.
        from app.workflow import entrustment
        edu = f.make_user("beijing", "sr-edu", "department_clerk", "bj-edu-commission")
        entrusted = entrustment.file(cfg, actor, entrusted_org_id=f.org(
            "beijing", "bj-edu-commission").id, year=2027, scope=["engineering:senior"])
    return {"sr_edu": edu.username, "sr_entrustment": entrusted.id,
            "sr_edu_org": entrusted.entrusted_org_id,
            "sr_clerk": unit_clerk.username, "sr_office": office.username, "sr_setup": setup.id,
            "sr_committee": committee.id, "sr_year_plan": yp.id, "sr_expert": expert.id}


def _self_review(clerk):
    """The employer's application to become a self-review unit, awaiting the Haidian bureau's
    recommendation (SR-APPLY-1)."""
    from app.workflow import self_review
    return self_review.file(tenants()["beijing"], f.actor(clerk), {
        "unit_type": "enterprise", "legal_person": True, "total_staff": "100",
        "professional_staff": "80", "scope": ["engineering:senior"],
        "experts": [{"key": "engineering:", "count": "6"}], "influence": "行业领先"},
        {"plan": ("方案.pdf", f.pdf_bytes()), "standards": ("标准.pdf", f.pdf_bytes())})


def _pool_entries(agency, own_expert):
    """The expert pool's work in progress (AE-EXP-1/4/6): a nomination the Haidian bureau filed
    for the engineering agency to vet, one the agency vetted for city HR to approve, and the
    own expert's update of their employer waiting for that employer's check."""
    from app.workflow import expert_pool
    cfg = tenants()["beijing"]
    bureau = f.make_user("beijing", "bj-hr-hd-nominator", "hr_officer", "bj-hr-haidian")
    base = dict(gender="male", birth_date=date(1985, 6, 15), title_level="senior",
                title_year=2015, series="engineering", specialty="",
                employer_org_id=f.org("beijing", "emp").id, agency_org_id=agency.org_id)
    nominee = expert_pool.nominate(cfg, f.actor(bureau), {
        **base, "name": "待审专家", "id_number": f.ID_NUMBERS[1], "mobile": "13900000001"},
        date(2026, 11, 1))
    vetted = expert_pool.nominate(cfg, f.actor(bureau), {
        **base, "name": "待批专家", "id_number": "110108198506150101", "mobile": "13900000002"},
        date(2026, 11, 1))
    transition(cfg, vetted, "vet_pass", f.actor(agency))
    own_expert.agency_org_id = agency.org_id
    db.session.commit()
    change = expert_pool.propose_change(cfg, f.actor(own_expert.user), own_expert, {
        "title_level": own_expert.title_level, "title_year": own_expert.title_year,
        "series": own_expert.series, "specialty": own_expert.specialty or "",
        "employer_org_id": f.org("beijing", "emp").id, "available": True})
    return nominee, vetted, change


def _chifeng() -> Side:
    cfg, s, ag, a = chifeng_session()  # cf-firm (Songshan), cf-clerk, cf-hr, cf-ag, cf-a
    side = Side("chifeng")
    a.applicant.name = OWN_NAMES["chifeng"][0]
    a.basic = {**a.basic, "name": a.applicant.name}
    # An applicant whose profile awaits the employer's verification (CF-REG-1).
    unverified = f.make_user("chifeng", "cf-new", "applicant", "cf-firm", name="巴特尔")
    tid = f.tenant_id("chifeng")
    report = TierReport(tenant_id=tid, org_id=f.org("chifeng", "cf-hr-songshan").id,
                        plan_id=a.plan_id, kind="statistics", filename="统计表.xlsx",
                        stored_name="stats-1.xlsx", rows=1)
    db.session.add(report)
    db.session.commit()
    uploads.storage().put(f"chifeng/reports/{report.stored_name}", b"PK\x03\x04")
    _files_on_disk("chifeng", [a])
    f.make_employer("chifeng", "cf-firm2", "hongshan", kind="non_public")
    member = next(m for m in s.members if m.role == "chair")
    side.own = {
        "applicant": a.applicant.username, "employer_clerk": "cf-clerk",
        "department_clerk": f.make_user("chifeng", "cf-dept", "department_clerk",
                                        "cf-edu-songshan").username,
        "hr_county": "cf-hr",
        "hr_city": f.make_user("chifeng", "cf-hr-city", "hr_officer", "cf-hr").username,
        "association_clerk": f.make_user("chifeng", "cf-assoc", "association_clerk").username,
        "agency_clerk": ag.username, "expert": member.expert.user.username,
        "tenant_admin": f.make_user("chifeng", "cf-admin", "tenant_admin", "cf-hr").username,
    }
    side.other = {
        "applicant": f.make_user("chifeng", "cf-oth-a", "applicant", "cf-firm2").username,
        "employer_clerk": f.make_user("chifeng", "cf-oth-c", "employer_clerk",
                                      "cf-firm2").username,
        "hr_county": f.make_user("chifeng", "cf-oth-hr", "hr_officer",
                                 "cf-hr-hongshan").username,
        "agency_clerk": f.make_user("chifeng", "cf-oth-ag", "agency_clerk",
                                    "cf-agency-ningcheng").username,
        "expert": f.make_expert("chifeng", "局外专家乙").user.username,
    }
    quota = cfg.policies.review_quota[0].code if cfg.policies.review_quota else "none"
    side.ids = {
        "app": a.id, "att": a.attachments[0].id, "session": s.id, "item": s.items[0].id,
        "item_att": a.attachments[0].id, "user": unverified.id, "report": report.id,
        "quota": quota, "recommended_app": a.id, "recommended_att": a.attachments[0].id,
        "unit": f.org("chifeng", "cf-firm").id, "plan": a.plan_id,
        "profile_item": _profile_item(a.applicant), "staff_item": _profile_item(unverified),
    }
    return side


def _demo_plan(slug: str) -> int:
    """A plan marked 演示, as `flask demo load` makes one: the demo clock's pages need it."""
    from app.models import Plan, PlanWindow
    plan = Plan(tenant_id=f.tenant_id(slug), code=f"{slug}-demo", year=2026, name="演示计划",
                name_en="Demo plan", levels=["intermediate"], review_mode="named", is_demo=True)
    plan.windows.append(PlanWindow(stage="apply", opens_on=date(2026, 11, 1),
                                   closes_on=date(2027, 1, 31)))
    db.session.add(plan)
    db.session.commit()
    return plan.id


def build_world() -> dict[str, Side]:
    """Both tenants' sides; call inside an app context on a freshly synced database."""
    chifeng = _chifeng()
    beijing = _beijing()
    for side in (chifeng, beijing):
        side.ids["demo_plan"] = _demo_plan(side.slug)
    return {"beijing": beijing, "chifeng": chifeng}


# This worker's world, built once (SQLite): the database file, its upload folder and the sides.
_template: dict[str, object] = {}


def _world_template(tmp_path_factory) -> tuple[Path, Path, dict[str, Side]]:
    """The world built on first use into a file of its own; every module then works on a copy
    of it (the database file and the files on disk), as if it had built the world itself."""
    from .conftest import build_app, scratch_dir
    if "sqlite" not in _template:
        tmp = tmp_path_factory.mktemp("world-template")
        path = scratch_dir() / (tmp.name + ".db")
        app = build_app(f"sqlite:///{path}", tmp)
        with app.app_context():
            sides = build_world()
            db.session.remove()
            db.engine.dispose()
        _template["sqlite"] = (path, tmp / "uploads", sides)
    return _template["sqlite"]


@contextmanager
def world_app(database_url: str | None, tmp_path_factory, name: str):
    """A module's app over one database holding the world: (app, sides); dropped afterwards.
    On SQLite the database and its files are a fresh copy of this worker's world; on a database
    server the world is built anew."""
    from .conftest import build_app, make_app, scratch_dir
    tmp = tmp_path_factory.mktemp(name)
    if database_url is None:
        template, files, built = _world_template(tmp_path_factory)
        path = scratch_dir() / (tmp.name + ".db")
        shutil.copyfile(template, path)
        if files.is_dir():
            shutil.copytree(files, tmp / "uploads")
        app, sides = make_app(f"sqlite:///{path}", tmp), copy.deepcopy(built)
    else:
        app = build_app(database_url, tmp)
        with app.app_context():
            sides = build_world()
            db.session.remove()
    yield app, sides
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    if database_url is None:
        path.unlink(missing_ok=True)

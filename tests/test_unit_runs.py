"""A self-review unit running its evaluations on Beijing's data (seed 002 第六条、第九条(六)(七)、
第十条、第十三条; 2026 notice 三(三), 2023 notice 三(二)): only its own staff insured in the
city, within its approved series and levels; refusals kept for the city HR bureau; results
accepted, publicised, re-checked and certified by the city HR bureau; academic review entrusted
to the education commission or the municipal party school."""
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, AuditEvent, Committee, Expert, Status
from app.models.certificates import Certificate
from app.models.unit_runs import AcademicEntrustment, AcademicOpinion, SelfReviewEvent
from app.tenancy import tenants
from app.tenancy.schema import CommitteeSeed
from app.workflow import applications, certificates, entrustment, results, sessions
from app.workflow import self_review as svc
from app.workflow import unit_scope
from app.workflow.errors import Forbidden, Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_results import EVIDENCE
from .test_review import VOTE_DAY, pool_of, ready_to_vote

UNIT = "bj-self-university"
CODE = "bj-self-univ-eng"
APPLY_DAY = at(2026, 7, 8, 9)


def CFG():
    """Beijing, with the unit's committee among the year's committees (a unit files its own)."""
    cfg = tenants()["beijing"]
    seed = CommitteeSeed(code=CODE, name="某理工大学工程技术系列自主评审委员会",
                         name_en="University engineering committee", agency=UNIT,
                         series=["engineering"], levels=["associate_senior", "senior"])
    return replace(cfg, directory=cfg.directory.model_copy(
        update={"committee": [*cfg.directory.committee, seed]}))


def approve_unit(approved=None, unit_type="public_institution", institution_kind="university"):
    """The university applies, is recommended by its department and approved by city HR for
    engineering 副高级 and 正高级 (or the keys in `approved`). Its committee is filed."""
    clerk = f.make_user("beijing", "unit-clerk", "employer_clerk", UNIT)
    office = f.make_user("beijing", "unit-office", "agency_clerk", UNIT)
    dept = f.make_user("beijing", "dept", "department_clerk", "bj-dept-econ-info")
    hr = f.make_user("beijing", "city-hr", "hr_officer", "bj-hr")
    cfg = CFG()
    row = svc.file(cfg, f.actor(clerk), {
        "unit_type": unit_type, "institution_kind": institution_kind, "legal_person": True,
        "total_staff": "1000", "professional_staff": "800",
        "scope": ["engineering:associate_senior", "engineering:senior"],
        "experts": [{"key": "engineering:", "count": "30"}], "influence": "学科评估A类",
        "department_org_id": f.org("beijing", "bj-dept-econ-info").id},
        {"plan": ("方案.pdf", f.pdf_bytes()), "standards": ("标准.pdf", f.pdf_bytes())})
    transition(cfg, row, "recommend", f.actor(dept), opinion="同意推荐")
    transition(cfg, row, "form_group", f.actor(hr), group="张评估\n李评估")
    transition(cfg, row, "approve", f.actor(hr), findings={k: "符合" for k in svc.ASPECTS},
               approved=approved)
    _documents_approved(cfg, clerk, hr)
    db.session.add(Committee(tenant_id=f.tenant_id("beijing"), code=CODE,
                             name="某理工大学工程技术系列自主评审委员会",
                             name_en="University engineering committee",
                             agency_org_id=f.org("beijing", UNIT).id, series=["engineering"],
                             levels=["associate_senior", "senior"]))
    db.session.commit()
    f.file_committee("beijing", CODE)
    return {"clerk": clerk, "office": office, "hr": hr, "dept": dept}


def _documents_approved(cfg, clerk, hr):
    """The unit's plan and standards approved by city HR (第九条(二)), as of 2 Mar 2026."""
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        f.unit_documents_approved(cfg, clerk, hr)


def create(user, level="senior"):
    with time_machine.travel(APPLY_DAY, tick=False):
        return applications.create_application(
            CFG(), f.actor(user), user, plan_id=f.plan("beijing", "bj-2026").id,
            committee_id=f.committee("beijing", CODE).id, series="engineering", level=level,
            specialty="mechanical")


def events():
    return db.session.scalars(sa.select(SelfReviewEvent).order_by(SelfReviewEvent.id)).all()


def staff(name):
    return f.make_user("beijing", name, "applicant", UNIT, name=name)


def recommended_to_unit(n, people):
    """n of the unit's staff, insured in Beijing, submitted and recommended by the unit."""
    apps = []
    for i in range(n):
        u = staff(f"教师{i}")
        a = f.make_application("beijing", u, "bj-2026", CODE, "engineering", "senior",
                               "mechanical")
        a.basic = {**a.basic, "local_insurance": True}
        db.session.commit()
        with time_machine.travel(APPLY_DAY, tick=False):
            transition(CFG(), a, "submit", f.actor(u), pledge=f.PLEDGE)
            transition(CFG(), a, "start_notice", f.actor(people["clerk"]))
        with time_machine.travel(at(2026, 7, 20, 9), tick=False):
            transition(CFG(), a, "recommend", f.actor(people["clerk"]), opinion="同意",
                       no_objection=True, insurance_verified=True)
        apps.append(a)
    return apps


def unit_session(people, apps, size=6):
    """The unit's session of `apps`, checked, paid and drawn: a third or more from outside."""
    office = people["office"]
    with time_machine.travel(at(2026, 8, 1, 9), tick=False):
        for a in apps:
            transition(CFG(), a, "check_pass", f.actor(office))
            transition(CFG(), a, "confirm_payment", f.actor(office), reference="BANK-2026-0801")
    s = sessions.create_session(CFG(), f.actor(office), committee_id=f.committee("beijing", CODE).id,
                                plan_id=f.plan("beijing", "bj-2026").id, series="engineering",
                                level="senior", specialties=[], panel_size=size,
                                held_on=date(2026, 11, 20))
    sessions.add_files(f.actor(office), s, [a.id for a in apps])
    for i in range(size):
        f.make_expert("beijing", f"院内专家{i}", role="chair" if i == 0 else "member",
                      employer=UNIT)
    pool_of(size)  # from no unit: outside the university
    transition(CFG(), s, "draw", f.actor(office))
    return s


# -- SR-SCOPE-1 / SR-SUPERV-1: who the unit may take ---------------------------------------------

@pytest.mark.rule("SR-SCOPE-1", "SR-SUPERV-1")
def test_an_outsider_is_refused_with_the_reason_and_the_refusal_recorded(ctx):
    approve_unit()
    f.make_employer("beijing", "emp", "haidian")
    outsider = f.make_user("beijing", "outsider", "applicant", "emp", name="外单位人员")
    with pytest.raises(Invalid, match="只评审与本单位建立劳动人事关系的专业技术人员") as refused:
        create(outsider)
    assert "第六条" in str(refused.value.message)
    assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 0
    (e,) = events()
    assert (e.kind, e.series, e.level, e.applicant_id, e.unit_org_id) == (
        "application_refused", "engineering", "senior", outsider.id, f.org("beijing", UNIT).id)
    assert "只评审与本单位建立劳动人事关系" in e.reason
    assert db.session.scalar(sa.select(AuditEvent).filter_by(
        subject_type="self_review_events", subject_id=e.id)).action == "application_refused"


@pytest.mark.rule("SR-SCOPE-1", "SR-SUPERV-1")
def test_own_staff_outside_the_approved_levels_is_refused_and_recorded(ctx):
    approve_unit(approved=["engineering:senior"])  # 副高级 asked for, not approved
    teacher = staff("本校教师")
    with pytest.raises(Invalid, match="未经批准自主评审工程技术系列副高级职称"):
        create(teacher, level="associate_senior")
    assert [e.kind for e in events()] == ["application_refused"]
    # Within the approved scope the draft is created; nothing more is recorded.
    app = create(teacher)
    assert app.status == Status.draft.value and app.employer_org_id == f.org("beijing", UNIT).id
    assert len(events()) == 1


@pytest.mark.rule("SR-SCOPE-1")
def test_an_unapproved_unit_takes_no_application(ctx):
    f.make_user("beijing", "x", "hr_officer", "bj-hr")
    db.session.add(Committee(tenant_id=f.tenant_id("beijing"), code=CODE, name="委员会",
                             agency_org_id=f.org("beijing", UNIT).id, series=["engineering"],
                             levels=["senior"]))
    db.session.commit()
    with pytest.raises(Invalid, match="未经批准自主评审"):
        create(staff("本校教师"))


@pytest.mark.rule("SR-SCOPE-1", "SR-SUPERV-1")
def test_submission_needs_the_city_insurance_declaration_and_the_unit_verifies_it(ctx):
    people = approve_unit()
    teacher = staff("本校教师")
    app = create(teacher)
    a = f.make_application("beijing", teacher, "bj-2026", CODE, "engineering", "senior",
                           "mechanical")
    db.session.delete(app)
    db.session.commit()
    with time_machine.travel(APPLY_DAY, tick=False):
        with pytest.raises(Invalid, match="依法在北京缴纳社会保险"):
            transition(CFG(), a, "submit", f.actor(teacher), pledge=f.PLEDGE)
        db.session.refresh(a)
        assert a.status == Status.draft.value
        assert [(e.kind, e.application_id) for e in events()] == [("submission_refused", a.id)]
        # The declaration is a basic-information field of a unit's file only.
        applications.save_basic(CFG(), a, f.actor(teacher), {
            "gender": "male", "birth_date": date(1985, 6, 15), "title_on": date(2015, 7, 1),
            "current_level": a.basic["current_level"], "local_insurance": True})
        assert a.basic["local_insurance"] is True
        transition(CFG(), a, "submit", f.actor(teacher), pledge=f.PLEDGE)
        assert a.holder_org_id == f.org("beijing", UNIT).id
        transition(CFG(), a, "start_notice", f.actor(people["clerk"]))
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        with pytest.raises(Invalid, match="在北京缴纳社会保险的情况"):
            transition(CFG(), a, "recommend", f.actor(people["clerk"]), opinion="同意",
                       no_objection=True)
        transition(CFG(), a, "recommend", f.actor(people["clerk"]), opinion="同意",
                   no_objection=True, insurance_verified=True)
    assert a.status == Status.recommended.value and a.holder_org_id == f.org("beijing", UNIT).id
    assert len(events()) == 1


@pytest.mark.rule("SR-SCOPE-1")
def test_the_insurance_wording_is_the_tenants(app):
    with app.test_request_context():
        assert unit_scope.place(tenants()["beijing"]) == "北京"
        assert str(unit_scope.insurance_label(tenants()["chifeng"])) == (
            "本人与本单位建立劳动人事关系，依法在赤峰缴纳社会保险")


@pytest.mark.rule("SR-SCOPE-1")
def test_chifeng_units_evaluate_within_their_filed_scope_in_chifengs_words(app):
    with app.test_request_context():
        cf = tenants()["chifeng"]
        unit = f.org("chifeng", "cf-self-hospital")
        c = Committee(tenant_id=unit.tenant_id, code="cf-self-health", name="医院自主评审委员会",
                      agency_org_id=unit.id, series=["health", "engineering"],
                      levels=["intermediate", "senior"])
        db.session.add(c)
        db.session.commit()
        # No approval recorded in the portal: the scope its committee filed (orgs.toml).
        assert {"series": "health", "level": "intermediate"} in unit_scope.approved_scope(cf, unit)
        assert unit_scope.refusal(cf, unit, c, unit.id, "health", "intermediate", True) is None
        assert "依法在赤峰缴纳社会保险" in str(
            unit_scope.refusal(cf, unit, c, unit.id, "health", "intermediate", False))
        assert "未经批准自主评审工程系列正高级职称" in str(
            unit_scope.refusal(cf, unit, c, unit.id, "engineering", "senior", True))
        assert "只评审与本单位建立劳动人事关系" in str(
            unit_scope.refusal(cf, unit, c, None, "health", "senior", True))


@pytest.mark.rule("SR-SCOPE-1")
def test_the_applicant_ticks_the_declaration_and_the_unit_sees_it(app, client, login):
    with app.app_context():
        approve_unit()
        teacher = staff("本校教师")
        app_id = create(teacher).id
    with time_machine.travel(APPLY_DAY, tick=False):
        login("beijing", "本校教师")
        page = client.get(f"/beijing/me/applications/{app_id}").get_data(as_text=True)
        assert "依法在北京缴纳社会保险" in page
        client.post(f"/beijing/me/applications/{app_id}/basic",
                    data={"gender": "male", "local_insurance": "y"})
    with app.app_context():
        assert db.session.get(Application, app_id).basic["local_insurance"] is True


# -- SR-SUPERV-1: sessions beyond the scope, and the city HR bureau's list -----------------------

@pytest.mark.rule("SR-SUPERV-1")
def test_a_session_beyond_the_approved_scope_is_refused_recorded_and_listed(app, client, login):
    with app.app_context():
        people = approve_unit(approved=["engineering:senior"])
        with pytest.raises(Invalid, match="不能组织该评审会"):
            sessions.create_session(
                CFG(), f.actor(people["office"]), committee_id=f.committee("beijing", CODE).id,
                plan_id=f.plan("beijing", "bj-2026").id, series="engineering",
                level="associate_senior", specialties=[], panel_size=5,
                held_on=date(2026, 11, 20))
        assert [e.kind for e in events()] == ["session_refused"]
        from app.models import ReviewSession
        assert db.session.scalar(sa.select(sa.func.count(ReviewSession.id))) == 0
        with pytest.raises(Invalid, match="只评审与本单位"):
            f.make_employer("beijing", "emp", "haidian")
            create(f.make_user("beijing", "outsider", "applicant", "emp", name="外单位人员"))
        from app.workflow import home
        hr = people["hr"]
        items = [i for i in home.waiting(hr, date(2026, 7, 10))
                 if i["endpoint"] == "selfreview.supervision"]
        assert [i["count"] for i in items] == [2]
        assert unit_scope.waiting(people["office"], date(2026, 7, 10)) == []
    login("beijing", "city-hr")
    page = client.get("/beijing/self-review/supervision").get_data(as_text=True)
    assert "超出批准的系列或级别组织评审会" in page and "外单位人员" in page
    assert "不能组织该评审会" in page and "只评审与本单位建立劳动人事关系" in page
    english = client.get("/beijing/self-review/supervision?lang=en").get_data(as_text=True)
    assert "Reason for refusal" in english and "is not approved to evaluate" not in english
    assert "拒绝理由" not in english  # the reasons stay as recorded, the page is English
    client.get("/beijing/self-review/supervision?lang=zh")
    login("beijing", "unit-office")
    assert client.get("/beijing/self-review/supervision").status_code == 403


# -- SR-RUN-2: results to city HR, ≥ 5 working days' notice, leads re-checked, certificates ------

@pytest.mark.rule("SR-RUN-2")
def test_unit_results_are_accepted_publicised_rechecked_and_certified_by_city_hr(ctx):
    assert tenants()["beijing"].policies.self_review.notice_working_days >= 5
    people = approve_unit()
    apps = recommended_to_unit(3, people)
    s = unit_session(people, apps)
    outside = [m for m in s.members if m.status == "active" and m.expert.employer_org_id is None]
    assert len(outside) >= 2  # a third of 6 from outside the unit
    # The unit's own experts are drawn beside them: working for the unit is no conflict in its
    # own committee (their colleagues are the unit's whole caseload).
    unit_id = f.org("beijing", UNIT).id
    assert not [x for x in s.draw_excluded if x.get("reason") == "same_employer"]
    assert {c["id"] for c in s.draw_candidates} >= {
        e.id for e in db.session.scalars(sa.select(Expert).filter_by(employer_org_id=unit_id))}
    ready_to_vote(s, people["office"])
    active = [m for m in s.members if m.status == "active"]
    chair = next(m for m in active if m.role == "chair")
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user),
               present=[m.id for m in active], now=VOTE_DAY)
    first, second = s.items[0], s.items[1]
    for m in active:
        sessions.cast_ballot(f.actor(m.expert.user), s,
                             {i.id: "yes" if i in (first, second) else "no" for i in s.items})
    transition(CFG(), s, "close", f.actor(chair.expert.user))
    hr, office = people["hr"], people["office"]
    with time_machine.travel(at(2026, 11, 23, 10), tick=False):
        # The unit, acting as its committee's office, reports for acceptance; nothing is filed
        # by the unit itself and the notice waits for the city HR bureau.
        pub = results.request_acceptance(CFG(), f.actor(office), s, "本校自主评审情况报告")
        assert pub.status == "requested" and pub.starts_on is None
        with pytest.raises(Forbidden):
            transition(CFG(), pub, "accept", f.actor(office), opinion="自行验收")
        with pytest.raises(Forbidden):
            transition(CFG(), pub, "accept", f.actor(people["dept"]), opinion="验收")
        transition(CFG(), pub, "accept", f.actor(hr), opinion="验收通过")
    # Accepted Mon 23 Nov: 24, 25, 26, 27, 30 Nov: five working days.
    assert (pub.status, pub.starts_on, pub.ends_on) == ("accepted", date(2026, 11, 23),
                                                         date(2026, 11, 30))
    # 第九条(七): the unit publicises its accepted results, whatever the level.
    assert pub.publisher_org_id == f.org("beijing", UNIT).id
    # A lead on either kind goes to the city HR bureau, not to the unit.
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        review = results.lodge_objection(CFG(), pub.tenant_id, pub, first.application_id,
                                         {**EVIDENCE, "kind": "review"})
        material = results.lodge_objection(CFG(), pub.tenant_id, pub, second.application_id,
                                           EVIDENCE)
    assert review.routed_org_id == material.routed_org_id == f.org("beijing", "bj-hr").id
    with pytest.raises(Forbidden):
        transition(CFG(), review, "reject", f.actor(office), opinion="无问题")
    transition(CFG(), review, "reject", f.actor(hr), opinion="会同行业主管部门复查，反映不实")
    transition(CFG(), material, "uphold", f.actor(hr), opinion="会同区人社局复查，论文代写属实")
    assert db.session.get(Application, second.application_id).status == Status.annulled.value
    # No certificate during the notice; after it, the city HR bureau issues the passed one.
    assert certificates.issue_batch(pub.tenant_id, today=date(2026, 11, 30)).rows_changed == 0
    certificates.issue_batch(pub.tenant_id, today=date(2026, 12, 1))
    (cert,) = db.session.scalars(sa.select(Certificate)).all()
    assert cert.application_id == first.application_id
    assert cert.issuer_org_id == f.org("beijing", "bj-hr").id
    assert db.session.get(Application, first.application_id).status == Status.certified.value


@pytest.mark.rule("SR-RUN-2")
def test_a_unit_notice_is_never_shorter_than_the_self_review_figure(ctx):
    cfg = tenants()["beijing"]
    short = cfg.policies.model_copy(update={"public_notice_working_days": 3})
    people = approve_unit()
    s = unit_session(people, recommended_to_unit(1, people), size=6)
    assert results.notice_days(replace(cfg, policies=short), s) == 5
    assert results.notice_days(CFG(), s) == 5
    with pytest.raises(ValueError):  # the tenant cannot set a unit's notice below 5 days
        type(cfg.policies.self_review)(notice_working_days=4)


# -- BJ23-SELF-1 / BJ-SELF-1: academic review entrusted -------------------------------------------

def entrust(people, scope=("engineering:senior",), body="bj-edu-commission"):
    return entrustment.file(CFG(), f.actor(people["clerk"]),
                            entrusted_org_id=f.org("beijing", body).id, year=2026,
                            scope=list(scope), note="本校不具备学术评议能力")


@pytest.mark.rule("BJ-SELF-1", "BJ23-SELF-1")
def test_only_a_university_or_party_school_entrusts_and_only_to_the_named_bodies(ctx):
    assert tenants()["beijing"].policies.self_review.academic_review_bodies == [
        "bj-edu-commission", "bj-party-school"]
    people = approve_unit(unit_type="enterprise", institution_kind="")
    with pytest.raises(Invalid, match="只有实行自主评聘的高等学校（党校）可以委托学术评议"):
        entrust(people)
    from app.models.self_review import SelfReviewApplication
    row = db.session.scalar(sa.select(SelfReviewApplication))
    row.unit_type, row.institution_kind = "public_institution", "party_school"
    db.session.commit()
    with pytest.raises(Invalid) as bad:
        entrustment.file(CFG(), f.actor(people["clerk"]),
                         entrusted_org_id=f.org("beijing", "bj-dept-econ-info").id, year=2026,
                         scope=["engineering:intermediate"])
    assert [str(p) for p in bad.value.problems] == [
        "请选择受托开展学术评议的单位。", "委托的系列和级别须在本单位批准自主评审的范围内。"]
    # Only on the unit's own plan and standards, approved by the city HR bureau (三(二)).
    from app.models.self_review_run import SelfReviewSetup
    setup = db.session.scalar(sa.select(SelfReviewSetup))
    setup.status = "submitted"
    db.session.commit()
    with pytest.raises(Invalid, match="经市人力资源社会保障局审定后，方可委托学术评议"):
        entrust(people, body="bj-party-school")
    setup.status = "approved"
    db.session.commit()
    e = entrust(people, body="bj-party-school")
    assert (e.status, e.scope) == ("filed", [{"series": "engineering", "level": "senior"}])
    with pytest.raises(Forbidden):  # only the entrusted body accepts
        transition(CFG(), e, "accept", f.actor(people["dept"]))
    with pytest.raises(Forbidden):  # an ordinary employer is no unit
        f.make_employer("beijing", "emp", "haidian")
        entrustment.file(CFG(), f.actor(f.make_user("beijing", "emp-clerk", "employer_clerk",
                                                    "emp")),
                         entrusted_org_id=f.org("beijing", "bj-party-school").id, year=2026,
                         scope=["engineering:senior"])


@pytest.mark.rule("BJ-SELF-1", "BJ23-SELF-1")
def test_the_entrusted_body_sees_only_those_files_and_the_vote_waits_for_its_opinion(
        app, client, login):
    with app.app_context():
        people = approve_unit()
        edu = f.make_user("beijing", "edu", "department_clerk", "bj-edu-commission")
        f.make_user("beijing", "school", "department_clerk", "bj-party-school")
        apps = recommended_to_unit(1, people)
        s = unit_session(people, apps)
        ready_to_vote(s, people["office"])
        other = f.make_application("beijing", staff("副高教师"), "bj-2026", CODE, "engineering",
                                   "associate_senior", "mechanical")
        other.status = Status.checked.value
        db.session.commit()
        e = entrust(people)
        transition(CFG(), e, "accept", f.actor(edu), opinion="接受委托")
        assert e.status == "accepted"
        s_id, file_id, other_id, en_id = s.id, apps[0].id, other.id, e.id
        # The ballot waits for the academic opinion on the entrusted file.
        chair = next(m for m in s.members if m.role == "chair" and m.status == "active")
        present = [m.id for m in s.members if m.status == "active"]
        with pytest.raises(Invalid) as waiting:
            transition(CFG(), s, "open_voting", f.actor(chair.expert.user), present=present,
                       now=VOTE_DAY)
        assert "A001：受托单位的学术评议意见尚未记录" in [str(p) for p in waiting.value.problems]
    login("beijing", "edu")
    listing = client.get(f"/beijing/self-review/entrustments/{en_id}/files").get_data(as_text=True)
    assert "教师0" in listing and "副高教师" not in listing
    assert client.get(f"/beijing/self-review/entrusted/{file_id}").status_code == 200
    english = client.get(f"/beijing/self-review/entrusted/{file_id}?lang=en").get_data(
        as_text=True)
    assert "Record the academic review opinion" in english and "学术评议" not in english
    client.get(f"/beijing/self-review/entrusted/{file_id}?lang=zh")
    assert client.get(f"/beijing/self-review/entrusted/{other_id}").status_code == 404
    with app.app_context():
        ordinary = f.make_application("beijing", f.make_user("beijing", "普通", "applicant"),
                                      "bj-2026", "bj-eng", "engineering", "senior")
        ordinary_id = ordinary.id
    assert client.get(f"/beijing/self-review/entrusted/{ordinary_id}").status_code == 404
    page = client.post(f"/beijing/self-review/entrusted/{file_id}",
                       data={"verdict": "pass", "opinion": ""}, follow_redirects=True)
    assert "请填写学术评议意见" in page.get_data(as_text=True)
    client.post(f"/beijing/self-review/entrusted/{file_id}",
                data={"verdict": "pass", "opinion": "学术水平达到正高级要求"})
    # Another body, and the unit's own clerk, do not see the file through this path.
    login("beijing", "school")
    assert client.get(f"/beijing/self-review/entrusted/{file_id}").status_code == 404
    assert client.get(f"/beijing/self-review/entrustments/{en_id}/files").status_code == 404
    login("beijing", "unit-clerk")
    assert client.get(f"/beijing/self-review/entrusted/{file_id}").status_code == 403
    with app.app_context():
        (op,) = db.session.scalars(sa.select(AcademicOpinion)).all()
        assert (op.application_id, op.passed, op.comments) == (file_id, True,
                                                               "学术水平达到正高级要求")
        assert db.session.scalar(sa.select(AuditEvent).filter_by(
            subject_type="applications", subject_id=file_id, action="academic_opinion"))
        from app.models import ReviewSession
        s = db.session.get(ReviewSession, s_id)
        with pytest.raises(Invalid, match="已记录"):
            transition(CFG(), db.session.get(Application, file_id), "academic_opinion",
                       f.actor(edu_user()),
                       verdict="fail", opinion="再评")
        chair = next(m for m in s.members if m.role == "chair" and m.status == "active")
        transition(CFG(), s, "open_voting", f.actor(chair.expert.user),
                   present=[m.id for m in s.members if m.status == "active"], now=VOTE_DAY)
        assert s.status == "voting"


def edu_user():
    from app.models import User
    return db.session.scalar(sa.select(User).filter_by(username="edu"))


@pytest.mark.rule("BJ23-SELF-1")
def test_a_body_declines_with_a_reason_and_the_unit_follows_it_on_its_page(app, client, login):
    with app.app_context():
        people = approve_unit()
        f.make_user("beijing", "edu", "department_clerk", "bj-edu-commission")
    login("beijing", "unit-clerk")
    page = client.get("/beijing/self-review/entrustments").get_data(as_text=True)
    assert "北京市教育委员会" in page and "中共北京市委党校" in page
    with app.app_context():
        edu_id = f.org("beijing", "bj-edu-commission").id
    r = client.post("/beijing/self-review/entrustments",
                    data={"entrusted_org_id": edu_id, "year": "2026",
                          "scope": ["engineering:senior"]})
    assert r.status_code == 303
    login("beijing", "edu")
    with app.app_context():
        en = db.session.scalar(sa.select(AcademicEntrustment))
        en_id, version = en.id, en.version
        from app.models import User
        from app.workflow import home
        edu = db.session.scalar(sa.select(User).filter_by(username="edu"))
        assert [i["count"] for i in home.waiting(edu, date(2026, 7, 10))
                if i["endpoint"] == "selfreview.entrustments"] == [1]
    assert "委托学术评议" in client.get("/beijing/home").get_data(as_text=True)  # in the menu
    client.post(f"/beijing/self-review/entrustments/{en_id}/decline",
                data={"version": version, "opinion": ""})
    with app.app_context():
        assert db.session.get(AcademicEntrustment, en_id).status == "filed"
    client.post(f"/beijing/self-review/entrustments/{en_id}/decline",
                data={"version": version, "opinion": "本年度评议任务已满"})
    login("beijing", "unit-clerk")
    page = client.get("/beijing/self-review/entrustments").get_data(as_text=True)
    assert "不予接受" in page and "本年度评议任务已满" in page
    assert people


def test_a_units_committee_stays_out_of_the_public_directory(ctx):
    """The yearly directory lists the committees the public chooses from; a unit's committee,
    filed and standing, is left out with the reason (seed 002 第六条)."""
    from app.workflow import directory
    approve_unit()
    rows, excluded = directory.build_rows(CFG(), f.tenant_id("beijing"), 2026, date(2026, 7, 8))
    assert CODE not in {r["committee_code"] for r in rows}
    reasons = {x["committee"].code: str(x["reason"]) for x in excluded}
    assert reasons[CODE] == "自主评审单位的评委会，只受理本单位人员"
    assert "bj-eng" in {r["committee_code"] for r in rows} or "bj-eng" in reasons

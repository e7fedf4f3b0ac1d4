"""A self-review unit at work (seed 002 第九条(一)–(五)): once the city HR bureau approved it,
the unit names its office and staff, has its rule documents decided, publicised and approved,
files its yearly plan within its approved scope, sets up committees the bureau files, and opens
its plan to its own staff only; their files stay in the unit and reach its committee office."""
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, Plan, Status, User
from app.models.self_review_run import SelfReviewSetup, SelfReviewYearPlan
from app.tenancy import tenants
from app.workflow import applications, home, routing, self_review, sessions
from app.workflow import self_review_run as run
from app.workflow.errors import Forbidden, Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at


def approve(slug: str, unit: str, hr: str, scope: list[str], series: str):
    """The unit applies (as a new R&D institute, straight to the city HR bureau) and the bureau
    approves the series and levels `scope` (seed 002 第八条)."""
    cfg = tenants()[slug]
    clerk = f.make_user(slug, f"{unit}-clerk", "employer_clerk", unit)
    clerk.office_admin = False
    city = f.make_user(slug, f"{slug}-city-hr", "hr_officer", hr)
    a = self_review.file(cfg, f.actor(clerk), {
        "unit_type": "rd_institute", "legal_person": True, "total_staff": "100",
        "professional_staff": "90", "scope": scope,
        "experts": [{"key": f"{series}:", "count": "9"}], "influence": "行业领先"},
        {"plan": ("方案.pdf", f.pdf_bytes()), "standards": ("标准.pdf", f.pdf_bytes())})
    transition(cfg, a, "form_group", f.actor(city), group="甲\n乙\n丙")
    transition(cfg, a, "approve", f.actor(city),
               findings={k: "符合" for k in self_review.ASPECTS}, approved=scope)
    return cfg, clerk, city


def documents_approved(cfg, clerk, city, decided=date(2026, 2, 20)):
    return f.unit_documents_approved(cfg, clerk, city, decided.isoformat())


def plan_data(**kw):
    data = {"year": "2026", "apply_opens": "2026-03-10", "apply_closes": "2026-04-10",
            "review_opens": "2026-05-10", "review_closes": "2026-06-30",
            "procedure": "个人申报、单位公示、评委会评议、无记名投票",
            "experts": "本单位正高级专家三分之二，外单位专家三分之一",
            "indicators": "业绩成果60分，答辩40分", "groups": "机械组、电子组",
            "scope": ["engineering:senior"]}
    data.update(kw)
    return data


def declare_insured(a):
    """The applicant declares employment with the unit and social insurance in the city, as a
    unit's applicant does in the basic information (seed 002 第六条)."""
    a.basic = {**a.basic, "local_insurance": True}
    db.session.commit()


def invite_office(cfg, clerk, username="office-1"):
    user, _ids = run.invite_staff(cfg, clerk, {"name": "评审办工作人员", "mobile": "13800138000",
                                               "username": username})
    return user


@pytest.mark.rule("SR-RUN-1")
def test_documents_are_decided_publicised_and_approved_or_returned_with_reasons(ctx):
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        cfg, clerk, city = approve("beijing", "bj-self-university", "bj-hr",
                                   ["engineering:senior"], "engineering")
        actor = f.actor(clerk)
        # An ordinary employer's clerk is not a self-review unit.
        f.make_employer("beijing", "other", "haidian")
        with pytest.raises(Forbidden):
            run.ensure_setup(f.actor(f.make_user("beijing", "o-clerk", "employer_clerk", "other")))
        setup = run.ensure_setup(actor)
        with pytest.raises(Invalid) as e:
            transition(cfg, setup, "name_office", actor, office_name="", office_contact="")
        assert len(e.value.problems) == 2
        transition(cfg, setup, "name_office", actor, office_name="职称评审办公室",
                   office_contact="王老师 010-12345678")
        # The unit's clerk staffs the office with committee-office clerks (agency role).
        staff = invite_office(cfg, clerk)
        assert (staff.role, staff.org_id, staff.active) == ("agency_clerk", clerk.org_id, False)
        with pytest.raises(Forbidden):  # the office staff do not invite
            run.invite_staff(cfg, staff, {"name": "x", "mobile": "13800138001",
                                          "username": "office-2"})
        # Documents: both files and the collective decision, or nothing is saved.
        with pytest.raises(Invalid) as e:
            run.record_decision(cfg, actor, setup, {"plan": ("方案.pdf", f.pdf_bytes())},
                                decision_body="", decided_on="2026-02-20")
        assert {"请上传评价标准。", "请填写集体决策的会议或机构（如党委会、办公会）。"} <= \
            {str(p) for p in e.value.problems}
        db.session.refresh(setup)
        assert setup.status == "none" and setup.plan_stored is None
        run.record_decision(cfg, actor, setup, {"plan": ("方案.pdf", f.pdf_bytes()),
                                                "standards": ("标准.pdf", f.pdf_bytes())},
                            decision_body="党委会", decided_on="2026-02-20")
        assert setup.status == "decided"
        # Submitting before publicity is refused; the publicity's end may not precede its start.
        with pytest.raises(Exception):
            transition(cfg, setup, "submit_documents", actor)
        with pytest.raises(Invalid, match="公示结束日期不能早于开始日期"):
            transition(cfg, setup, "record_publicity", actor, publicity_from="2026-02-27",
                       publicity_to="2026-02-21")
        transition(cfg, setup, "record_publicity", actor, publicity_from="2026-02-21",
                   publicity_to="2026-02-27")
        transition(cfg, setup, "submit_documents", actor)
        # Only the city HR bureau decides; a return needs reasons.
        with pytest.raises(Forbidden):
            transition(cfg, setup, "approve_documents", actor)
        waiting = {str(i["label"]): i["count"] for i in home.waiting(city, date(2026, 3, 2))}
        assert waiting["待审定的自主评审单位制度文件"] == 1
        with pytest.raises(Invalid, match="退回须写明理由"):
            transition(cfg, setup, "return_documents", f.actor(city), opinion="")
        transition(cfg, setup, "return_documents", f.actor(city), opinion="评价标准缺少业绩指标")
        assert (setup.status, setup.return_reason) == ("returned", "评价标准缺少业绩指标")
        # Corrected: a new collective decision (the plan kept, the standard replaced), publicity,
        # resubmission, approval.
        old_plan = setup.plan_stored
        run.record_decision(cfg, actor, setup, {"standards": ("标准2.pdf", f.pdf_bytes())},
                            decision_body="党委会", decided_on="2026-02-28")
        assert setup.plan_stored == old_plan and setup.standards_filename == "标准2.pdf"
        transition(cfg, setup, "record_publicity", actor, publicity_from="2026-02-28",
                   publicity_to="2026-03-01")
        transition(cfg, setup, "submit_documents", actor)
        transition(cfg, setup, "approve_documents", f.actor(city))
        assert (setup.status, setup.approved_on) == ("approved", date(2026, 3, 2))
    trail = db.session.execute(sa.select(AuditEvent.action, AuditEvent.to_state).where(
        AuditEvent.subject_type == "self_review_setups").order_by(AuditEvent.id)).all()
    assert [a for a, _ in trail] == [
        "create", "name_office", "record_decision", "record_publicity", "submit_documents",
        "return_documents", "record_decision", "record_publicity", "submit_documents",
        "approve_documents"]
    assert trail[-1][1] == "approved"


@pytest.mark.rule("SR-RUN-1", "BJ-SELF-1")
def test_a_beijing_unit_files_its_plan_and_committee_and_opens_it_to_its_own_staff(ctx):
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        cfg, clerk, city = approve("beijing", "bj-self-university", "bj-hr",
                                   ["engineering:senior", "engineering:associate_senior"],
                                   "engineering")
        actor = f.actor(clerk)
        tid = clerk.tenant_id
        # Nothing done yet: the home page and the page list exactly what is missing.
        items = run.waiting(clerk, date(2026, 3, 2))
        assert items[0]["count"] == 4
        documents_approved(cfg, clerk, city)
        # The yearly plan: dates in order, every part of 第九条(三), scope within the approval.
        with pytest.raises(Invalid) as e:
            run.file_year_plan(cfg, actor, plan_data(
                review_opens="2026-04-01", procedure="", scope=["engineering:senior",
                                                                "economics:senior"]))
        found = [str(p) for p in e.value.problems]
        assert "日期顺序应为：申报开始 ≤ 申报截止 < 评审开始 ≤ 评审结束。" in found
        assert "请填写评审程序（第九条(三)）。" in found
        assert any("经济" in p and "不在市人力资源社会保障局同意的自主评审范围内" in p for p in found)
        assert db.session.scalar(sa.select(sa.func.count(Plan.id)).where(
            Plan.owner_org_id.is_not(None))) == 0
        yp = run.file_year_plan(cfg, actor, plan_data())
        plan = yp.plan
        assert (plan.code, plan.owner_org_id, plan.levels) == (
            "sr-bj-self-university-2026", clerk.org_id, ["senior"])
        assert {w.stage: (w.opens_on, w.closes_on) for w in plan.windows} == {
            "apply": (date(2026, 3, 10), date(2026, 4, 10)),
            "employer_review": (date(2026, 3, 10), date(2026, 6, 30)),
            "agency_check": (date(2026, 3, 10), date(2026, 6, 30)),
            "review": (date(2026, 5, 10), date(2026, 6, 30))}
        with pytest.raises(Invalid) as e:
            run.file_year_plan(cfg, actor, plan_data())
        assert str(e.value.problems[0]) == "本单位2026年度评审工作计划已制定。"
        # Not yet: no office staff, no committee.
        with pytest.raises(Invalid) as e:
            transition(cfg, yp, "open_plan", actor)
        senior = run.scope_label(cfg, {"series": "engineering", "level": "senior"})
        assert [str(p) for p in e.value.problems] == [
            "尚未配备专职工作人员（第九条(一)）。", f"{senior}尚无已备案的评审委员会（第九条(四)）。"]
        office = invite_office(cfg, clerk)
        experts = [f.make_expert("beijing", f"专家{i}", role="chair" if i == 0 else "member")
                   for i in range(6)]
        with pytest.raises(Invalid) as e:  # a level outside the plan
            run.set_up_committee(cfg, f.actor(office), yp, {
                "name": "评委会", "series": "engineering", "levels": ["associate_senior"],
                "scope": "本校教师", "standard": "业绩|60\n答辩|40", "procedure": "评议、表决",
                "roster": [e.id for e in experts]})
        assert "请选择本年度计划中该系列的评审级别。" in [str(p) for p in e.value.problems]
        c = run.set_up_committee(cfg, f.actor(office), yp, {
            "name": "北京某理工大学工程技术系列高级职称评审委员会", "series": "engineering",
            "levels": ["senior"], "scope": "本校工程技术人员", "standard": "业绩|60\n答辩|40",
            "procedure": "评议、表决", "roster": [e.id for e in experts]})
        assert c.agency_org_id == clerk.org_id and c.filed_on is None
        # The unit does not file its own committee; the city HR bureau does (AE-COMM-1).
        from app.workflow import committees
        with pytest.raises(Forbidden):
            committees.file_committee(f.actor(office), c, filed_on=date(2026, 3, 2),
                                      valid_until=date(2029, 3, 1), scope=c.scope,
                                      standard_text="业绩|60", procedure="x", roster=c.roster)
        assert run.waiting(city, date(2026, 3, 2))[0]["label"] == "待备案的自主评审单位评审委员会"
        with pytest.raises(Invalid):
            transition(cfg, yp, "open_plan", actor)
        run.file_unit_committee(cfg, f.actor(city), c, date(2026, 3, 2), date(2029, 3, 1))
        assert c.filed_on == date(2026, 3, 2)
        assert run.missing(cfg, tid, clerk.org_id, yp) == []
        transition(cfg, yp, "open_plan", actor)
        assert yp.status == "open"
    # The plan is offered to the unit's own staff only; other plans as before.
    own = f.make_user("beijing", "own-staff", "applicant", "bj-self-university")
    f.make_employer("beijing", "outsider-co", "haidian")
    outsider = f.make_user("beijing", "outsider", "applicant", "outsider-co")
    with time_machine.travel(at(2026, 3, 15, 9), tick=False):
        assert plan.id in [p.id for p in applications.open_plans(tid, own)]
        assert plan.id not in [p.id for p in applications.open_plans(tid, outsider)]
        assert plan.id not in [p.id for p in applications.open_plans(tid)]
        with pytest.raises(Invalid, match="本单位"):
            applications.create_application(cfg, f.actor(outsider), outsider, plan_id=plan.id,
                                            committee_id=c.id, series="engineering",
                                            level="senior", specialty="mechanical")
        with pytest.raises(Invalid):  # a level outside the unit's plan
            applications.create_application(cfg, f.actor(own), own, plan_id=plan.id,
                                            committee_id=c.id, series="engineering",
                                            level="associate_senior", specialty="mechanical")
        # An ordinary committee cannot be chosen in the unit's plan.
        with pytest.raises(Invalid, match="本单位已备案"):
            applications.create_application(cfg, f.actor(own), own, plan_id=plan.id,
                                            committee_id=f.committee("beijing", "bj-eng").id,
                                            series="engineering", level="senior",
                                            specialty="mechanical")
        draft = applications.create_application(cfg, f.actor(own), own, plan_id=plan.id,
                                                committee_id=c.id, series="engineering",
                                                level="senior", specialty="mechanical")
        assert draft.plan_id == plan.id
    # The file stays in the unit: its clerk as employer, then its committee office.
    a = f.make_application("beijing", f.make_user("beijing", "own-2", "applicant",
                                                  "bj-self-university"),
                           plan.code, c.code, "engineering", "senior", "mechanical")
    declare_insured(a)
    with time_machine.travel(at(2026, 3, 16, 9), tick=False):
        transition(cfg, a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
        assert a.route == [{"kind": "employer", "org_id": clerk.org_id},
                           {"kind": "agency", "org_id": clerk.org_id}]
        transition(cfg, a, "start_notice", actor)
    with time_machine.travel(at(2026, 3, 30, 9), tick=False):
        # (the clerk has checked the employment and insurance the applicant declared)
        transition(cfg, a, "recommend", actor, opinion="同意", no_objection=True,
                   insurance_verified=True)
        assert (a.status, a.holder_org_id) == (Status.recommended.value, clerk.org_id)
        transition(cfg, a, "check_pass", f.actor(office))
        assert a.status == Status.checked.value


@pytest.mark.rule("SR-RUN-1", "CF-MODE-4")
def test_the_same_engine_runs_a_chifeng_unit_and_its_files_reach_a_paper_review_session(ctx):
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        cfg, clerk, city = approve("chifeng", "cf-self-hospital", "cf-hr", ["health:intermediate"],
                                   "health")
        documents_approved(cfg, clerk, city)
        office = invite_office(cfg, clerk, "cf-office")
        yp = run.file_year_plan(cfg, f.actor(clerk), plan_data(
            scope=["health:intermediate"], apply_opens="2026-05-26", apply_closes="2026-06-10",
            review_opens="2026-07-01", review_closes="2026-10-30"))
        with pytest.raises(Invalid) as e:
            run.file_year_plan(cfg, f.actor(clerk), plan_data(year="2027",
                                                              apply_opens="2027-03-10",
                                                              apply_closes="2027-04-10",
                                                              review_opens="2027-05-10",
                                                              review_closes="2027-06-30",
                                                              scope=["health:senior"]))
        assert [str(p) for p in e.value.problems] == [
            run.scope_label(cfg, {"series": "health", "level": "senior"})
            + "不在市人力资源社会保障局同意的自主评审范围内，不能列入年度计划。"]
        experts = [f.make_expert("chifeng", f"院外{i}", series="health", level="senior",
                                 role="chair" if i == 0 else "member") for i in range(6)]
        c = run.set_up_committee(cfg, f.actor(clerk), yp, {
            "name": "医院卫生系列中级职称评审委员会", "series": "health",
            "levels": ["intermediate"], "scope": "本院卫生专业技术人员",
            "standard": "业绩|60\n答辩|40", "procedure": "评议、表决",
            "roster": [e.id for e in experts]})
        run.file_unit_committee(cfg, f.actor(city), c, date(2026, 3, 2), date(2029, 3, 1))
        transition(cfg, yp, "open_plan", f.actor(clerk))
    # The unit's plan takes the tenant's rule: self-review units' files on paper (CF-MODE-4).
    plan = yp.plan
    assert plan.mode_for(c, "health", None, "intermediate") == "offline_paper"
    a = f.make_application("chifeng", f.make_user("chifeng", "nurse", "applicant",
                                                  "cf-self-hospital"),
                           plan.code, c.code, "health", "intermediate")
    declare_insured(a)
    # Chifeng routes a city unit's file through its department and the city HR bureau; a file in
    # the unit's own plan stays in the unit.
    assert len(routing.matching_rule(cfg, a, a.employer).steps) > 2
    with time_machine.travel(at(2026, 6, 1, 9), tick=False):
        transition(cfg, a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
    assert [s["kind"] for s in a.route] == ["employer", "agency"]
    assert {s["org_id"] for s in a.route} == {clerk.org_id}
    with time_machine.travel(at(2026, 6, 2, 9), tick=False):
        transition(cfg, a, "start_notice", f.actor(clerk))
    with time_machine.travel(at(2026, 6, 15, 9), tick=False):
        transition(cfg, a, "recommend", f.actor(clerk), opinion="同意", no_objection=True,
                   insurance_verified=True)
        transition(cfg, a, "check_pass", f.actor(office))
        s = sessions.create_session(cfg, f.actor(office), committee_id=c.id, plan_id=plan.id,
                                    series="health", level="intermediate", specialties=[],
                                    panel_size=5, held_on=date(2026, 7, 15))
    assert sessions.session_mode(s) == "offline_paper"
    assert sessions.add_files(f.actor(office), s, [a.id]) == 1
    assert db.session.get(type(a), a.id).status == Status.in_review.value
    # A later year without a tenant plan of its own takes the latest year's rules; a plan whose
    # applications already closed cannot be opened.
    with time_machine.travel(at(2027, 5, 2, 9), tick=False):
        later = run.file_year_plan(cfg, f.actor(clerk), plan_data(
            year="2027", apply_opens="2027-03-10", apply_closes="2027-04-10",
            review_opens="2027-05-10", review_closes="2027-06-30",
            scope=["health:intermediate"]))
        assert later.plan.mode_for(c, "health", None, "intermediate") == "offline_paper"
        with pytest.raises(Invalid) as e:
            transition(cfg, later, "open_plan", f.actor(clerk))
        assert "年度计划的申报截止日期2027-04-10已过，不能再开放申报。" in map(str, e.value.problems)
        assert later.status == "filed"


@pytest.mark.rule("SR-RUN-1")
def test_an_employer_approved_as_a_unit_becomes_one_and_staffs_its_office(ctx, client, login):
    f.make_employer("beijing", "rd-co", "haidian", tier="city")
    f.make_user("beijing", "plain-clerk", "employer_clerk", "rd-co")
    # Before the approval: no unit pages.
    login("beijing", "plain-clerk")
    assert client.get("/beijing/self-review/run").status_code == 404
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        cfg, clerk, city = approve("beijing", "rd-co", "bj-hr", ["engineering:senior"],
                                   "engineering")
        org = run.unit_of(f.actor(clerk))
        assert org is not None and org.kind == "employer"
        # Staffing its committee office (or naming the office) makes it a self-review unit.
        user = invite_office(cfg, clerk, "rd-office")
        assert org.kind == "self_review_unit"
        event = db.session.scalar(sa.select(AuditEvent).filter_by(subject_type="orgs",
                                                                  subject_id=org.id))
        assert (event.action, event.from_state, event.to_state) == (
            "self_review_unit", "employer", "self_review_unit")
        assert (user.role, user.org_id) == ("agency_clerk", org.id)
    page = client.get("/beijing/self-review/run").get_data(as_text=True)
    assert "尚未明确专职机构（第九条(一)）。" in page and "rd-office" in page


@pytest.mark.rule("SR-RUN-1")
def test_a_unit_filed_in_the_tenant_files_sets_up_without_a_portal_approval(ctx):
    """Chifeng's hospital was filed as a self-review unit before the portal (orgs.toml records
    its scope): its clerk sets up the office and plan within that scope; an employer with no
    approval and no filed scope cannot."""
    clerk = f.make_user("chifeng", "hospital-clerk", "employer_clerk", "cf-self-hospital")
    hospital = f.org("chifeng", "cf-self-hospital")
    assert run.unit_of(f.actor(clerk)) == hospital
    assert {"series": "health", "level": "senior"} in run.approved_scope(
        hospital.tenant_id, hospital.id)
    f.make_employer("chifeng", "plain-co", "songshan")
    other = f.make_user("chifeng", "plain-clerk", "employer_clerk", "plain-co")
    assert run.unit_of(f.actor(other)) is None
    with pytest.raises(Forbidden):
        run.ensure_setup(f.actor(other))

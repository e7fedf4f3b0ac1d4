"""The expert pool run from the portal: entry by the right recommending office or by invitation,
the agency's vetting and the city HR bureau's approval before an expert can be drawn; the
expert's own updates checked by employer and agency; pre-review training before the year's
first ballot; the yearly assessment, renewal of terms and exit (seed 003 第九、十五、十七、十九、
二十二、三十二条)."""
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine
from stdnum.cn import ric

from app.extensions import db
from app.models import AuditEvent, BallotReceipt, Expert
from app.models.expert_pool import ExpertChange
from app.tenancy import tenants
from app.workflow import experts, expert_pool, sessions
from app.workflow.errors import Conflict, Forbidden, Invalid
from app.workflow.ids import decrypt_id
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_review import VOTE_DAY, drawn_session, new_session, pool_of, recommended

CFG = lambda: tenants()["beijing"]  # noqa: E731
TODAY = date(2026, 11, 2)
_serial = iter(range(100, 1000))


def id_number(born="19800101") -> str:
    """A valid mainland ID number (a new one on every call)."""
    base = f"110105{born}{next(_serial):03d}"
    return base + ric.calc_check_digit(base + "0")  # it reads the first 17 of 18


def data(employer, agency_org, **kw) -> dict:
    return {"name": kw.pop("name", "新专家"), "gender": "male", "birth_date": date(1980, 1, 1),
            "id_number": kw.pop("id_number", None) or id_number(),
            "mobile": kw.pop("mobile", "13911112222"), "title_level": "senior",
            "title_year": 2015, "series": "engineering", "specialty": "",
            "employer_org_id": employer.id if employer else 0,
            "agency_org_id": agency_org.id if agency_org else 0, **kw}


@pytest.fixture
def agency(ctx):
    return f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")


@pytest.fixture
def offices(agency):
    return {"haidian": f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian"),
            "chaoyang": f.make_user("beijing", "hr-cy", "hr_officer", "bj-hr-chaoyang"),
            "dongcheng": f.make_user("beijing", "hr-dc", "hr_officer", "bj-hr-dongcheng"),
            "dept": f.make_user("beijing", "dept", "department_clerk", "bj-dept-econ-info"),
            "city": f.make_user("beijing", "hr-city", "hr_officer", "bj-hr"),
            "agency": agency,
            "other_agency": f.make_user("beijing", "ag2", "agency_clerk", "bj-agency-econ")}


def refused(actor_user, payload) -> Invalid:
    before = db.session.scalar(sa.select(sa.func.count(Expert.id)))
    with pytest.raises(Invalid) as e:
        expert_pool.nominate(CFG(), f.actor(actor_user), payload, TODAY)
    assert db.session.scalar(sa.select(sa.func.count(Expert.id))) == before  # nothing saved
    return e.value


# -- entry (AE-EXP-1) ------------------------------------------------------------------------------

@pytest.mark.rule("AE-EXP-1")
def test_only_the_right_office_recommends_an_expert(offices):
    ag = f.org("beijing", "bj-agency-eng")
    district_unit = f.make_employer("beijing", "hd-unit", "haidian")
    city_unit = f.make_employer("beijing", "city-unit", "dongcheng", kind="public_institution",
                                tier="city", parent="bj-dept-econ-info")
    central = f.make_employer("beijing", "central", "haidian", kind="central_unit", tier="city")
    private = f.make_employer("beijing", "firm", "haidian", kind="non_public", tier="city")

    # District, central and non-public units: the HR bureau of their district.
    for unit in (district_unit, central, private):
        e = refused(offices["chaoyang"], data(unit, ag))
        assert any("所在区人力资源社会保障部门" in str(p) and unit.name in str(p)
                   for p in e.problems)
        e = refused(offices["dept"], data(unit, ag))
        assert any("所在区人力资源社会保障部门" in str(p) for p in e.problems)
        ok = expert_pool.nominate(CFG(), f.actor(offices["haidian"]), data(unit, ag), TODAY)
        assert (ok.status, ok.entry_route) == ("nominated", "recommended")
        assert ok.recommended_by_org_id == offices["haidian"].org_id
    assert ok.private_sector  # a non-public unit's expert counts for the private share

    # Municipal units: their supervising department, not the district bureau.
    e = refused(offices["dongcheng"], data(city_unit, ag))
    assert any("行业主管部门" in str(p) for p in e.problems)
    by_dept = expert_pool.nominate(CFG(), f.actor(offices["dept"]), data(city_unit, ag), TODAY)
    assert by_dept.agency_org_id == ag.id and by_dept.status == "nominated"

    # No registered employer, no recommendation; what the city bureau enters is an invitation.
    assert any("工作单位" in str(p) for p in refused(offices["haidian"], data(None, ag)).problems)
    assert refused(offices["haidian"], data(district_unit, None)).problems
    invited = expert_pool.nominate(CFG(), f.actor(offices["city"]), data(city_unit, ag), TODAY)
    assert invited.entry_route == "invited"
    with pytest.raises(Forbidden):
        expert_pool.nominate(CFG(), f.actor(f.make_user("beijing", "a1", "applicant", "hd-unit")),
                             data(district_unit, ag), TODAY)


@pytest.mark.rule("AE-EXP-1")
def test_the_city_hr_bureau_invites_and_the_id_number_is_stored_encrypted(offices):
    number = id_number("19750505")
    ag = offices["agency"].org
    # Measures 第十五条(二): invitation is the city HR bureau's; an agency cannot invite.
    with pytest.raises(Forbidden):
        expert_pool.nominate(CFG(), f.actor(offices["agency"]),
                             data(None, ag, employer_name="某所"), TODAY)
    e = expert_pool.nominate(CFG(), f.actor(offices["city"]), data(
        None, ag, employer_name="中国科学院某研究所", id_number=number, mobile="13800138000"),
        TODAY)
    assert (e.entry_route, e.agency_org_id, e.status) == ("invited", ag.id, "nominated")
    assert e.recommended_by_org_id == offices["city"].org_id
    assert number not in (e.id_number_enc or "") and decrypt_id(e.id_number_enc) == number
    assert e.id_number_masked == number[:3] + "*" * 13 + number[-2:]
    assert "13800138000" not in e.mobile_enc and decrypt_id(e.mobile_enc) == "13800138000"
    # The same person cannot be nominated twice.
    again = refused(offices["city"], data(None, ag, employer_name="某所", id_number=number))
    assert any("已在库中" in str(p) for p in again.problems)
    bad = refused(offices["city"], data(None, ag, employer_name="某所",
                                        id_number="110105198001011234", mobile="123"))
    assert {"身份证号码格式不正确。", "请填写正确的手机号码。"} <= {str(p) for p in bad.problems}


# -- vetting and approval (AE-EXP-6) -------------------------------------------------------------

@pytest.mark.rule("AE-EXP-6", "AE-EXP-2")
def test_agency_vets_city_hr_approves_and_only_approved_experts_are_drawn(offices):
    ag = f.org("beijing", "bj-agency-eng")
    apps, _ = recommended(1)
    pool_of(6)
    s = new_session(offices["agency"], apps)
    unit = f.make_employer("beijing", "hd-unit", "haidian")
    e = expert_pool.nominate(CFG(), f.actor(offices["haidian"]), data(unit, ag, name="候选专家"),
                             TODAY)

    def drawn_ids():
        return {c["id"] for c in sessions.candidates(CFG(), s)[0]}

    assert e.id not in drawn_ids()
    # Only the agency named in the nomination vets it; a return needs its reasons.
    with pytest.raises(Forbidden):
        transition(CFG(), e, "vet_pass", f.actor(offices["other_agency"]))
    with pytest.raises(Invalid, match="退回理由"):
        transition(CFG(), e, "vet_return", f.actor(offices["agency"]), opinion=" ")
    transition(CFG(), e, "vet_pass", f.actor(offices["agency"]), role="chair")
    assert (e.status, e.role) == ("vetted", "chair")
    assert e.id not in drawn_ids()  # vetted is not yet in the pool

    # Only the city HR bureau approves; the first term starts with the approval.
    with pytest.raises(Forbidden):
        transition(CFG(), e, "approve", f.actor(offices["haidian"]))
    with pytest.raises(Forbidden):
        transition(CFG(), e, "approve", f.actor(offices["agency"]))
    with time_machine.travel(at(2026, 11, 3, 10), tick=False):
        transition(CFG(), e, "approve", f.actor(offices["city"]))
    assert (e.status, e.approved_on, e.term_start, e.terms) == (
        "approved", date(2026, 11, 3), date(2026, 11, 3), 1)
    assert e.id in drawn_ids()
    with pytest.raises(Conflict):  # approved once
        transition(CFG(), e, "approve", f.actor(offices["city"]))
    trail = db.session.execute(sa.select(AuditEvent.action, AuditEvent.to_state).filter_by(
        subject_type="experts", subject_id=e.id).order_by(AuditEvent.id)).all()
    assert [tuple(r) for r in trail] == [("nominate", "nominated"), ("vet_pass", "vetted"),
                                         ("approve", "approved")]

    # The expert conditions (AE-EXP-2) are checked at vetting: 副高 held under 3 years.
    number = id_number("19820303")
    young = expert_pool.nominate(CFG(), f.actor(offices["haidian"]), data(
        unit, ag, name="新晋专家", title_level="associate_senior", title_year=2025,
        id_number=number), TODAY)
    with pytest.raises(Invalid) as why, time_machine.travel(at(2026, 11, 3, 10), tick=False):
        transition(CFG(), young, "vet_pass", f.actor(offices["agency"]))  # held since 2025
    assert any("副高级职称3年以上" in str(p) for p in why.value.problems)
    assert young.status == "nominated"
    transition(CFG(), young, "vet_return", f.actor(offices["agency"]),
               opinion="取得副高级职称不满3年")
    assert (young.status, young.decision_note) == ("returned", "取得副高级职称不满3年")
    # The recommending office files it again, corrected; nobody else may.
    assert any("已在库中" in str(p) for p in refused(offices["chaoyang"], data(
        unit, ag, id_number=number)).problems)
    again = expert_pool.nominate(CFG(), f.actor(offices["haidian"]), data(
        unit, ag, name="新晋专家", title_level="associate_senior", title_year=2020,
        id_number=number), TODAY)
    assert (again.id, again.status, again.title_year) == (young.id, "nominated", 2020)
    transition(CFG(), again, "vet_pass", f.actor(offices["agency"]))
    assert again.status == "vetted"


@pytest.mark.rule("AE-EXP-6")
def test_the_agencys_own_entry_waits_for_city_hr_and_returns_carry_reasons(offices):
    apps, _ = recommended(1)
    pool_of(6)
    s = new_session(offices["agency"], apps)
    e = experts.add_expert(CFG(), f.actor(offices["agency"]), {
        "name": "机构录入专家", "gender": "male", "birth_date": date(1975, 1, 1),
        "title_level": "senior", "title_year": 2012, "series": "engineering", "role": "member",
        "entry_route": "invited", "term_start": date(2026, 1, 1), "terms": 1})
    assert (e.status, e.agency_org_id) == ("vetted", offices["agency"].org_id)
    assert e.id not in {c["id"] for c in sessions.candidates(CFG(), s)[0]}
    with pytest.raises(Invalid, match="退回理由"):
        transition(CFG(), e, "approval_return", f.actor(offices["city"]))
    transition(CFG(), e, "approval_return", f.actor(offices["city"]), opinion="请补充推荐材料")
    assert (e.status, e.decision_note) == ("returned", "请补充推荐材料")


# -- the expert's own data (AE-EXP-4) ------------------------------------------------------------

@pytest.mark.rule("AE-EXP-4")
def test_an_experts_update_counts_only_after_employer_and_agency_check(offices):
    apps, _ = recommended(1)
    pool_of(6)
    s = new_session(offices["agency"], apps)
    unit = f.make_employer("beijing", "new-unit", "xicheng")
    employer_clerk = f.make_user("beijing", "unit-clerk", "employer_clerk", "new-unit")
    other_clerk = f.make_user("beijing", "oth-clerk", "employer_clerk", "emp")
    e = f.make_expert("beijing", "自助专家", role="member")
    e.agency_org_id = offices["agency"].org_id
    db.session.commit()
    change = expert_pool.propose_change(CFG(), f.actor(e.user), e, {
        "title_level": "senior", "title_year": 2015, "series": "engineering",
        "specialty": "mechanical", "employer_org_id": unit.id, "available": False,
        "mobile": "13700001111"})
    assert change.status == "employer_check" and "13700001111" not in change.mobile_enc
    # Pending: nothing counts yet; the draw still uses the approved values.
    db.session.refresh(e)
    assert (e.available, e.employer_org_id, e.specialty) == (True, None, None)
    assert e.id in {c["id"] for c in sessions.candidates(CFG(), s)[0]}
    with pytest.raises(Invalid, match="核对中"):
        expert_pool.propose_change(CFG(), f.actor(e.user), e, {
            "title_level": "senior", "title_year": 2015, "series": "engineering",
            "employer_name": "某单位", "available": True})
    # The employer named in the change checks first, then the expert's agency.
    with pytest.raises(Forbidden):
        transition(CFG(), change, "employer_pass", f.actor(other_clerk))
    with pytest.raises(Conflict, match="待所在单位核对"):  # not the agency's turn yet
        transition(CFG(), change, "agency_pass", f.actor(offices["agency"]))
    transition(CFG(), change, "employer_pass", f.actor(employer_clerk))
    assert change.status == "agency_check"
    db.session.refresh(e)
    assert e.available is True
    with pytest.raises(Forbidden):
        transition(CFG(), change, "agency_pass", f.actor(offices["other_agency"]))
    transition(CFG(), change, "agency_pass", f.actor(offices["agency"]))
    db.session.refresh(e)
    assert change.status == "applied"
    assert (e.available, e.employer_org_id, e.specialty) == (False, unit.id, "mechanical")
    assert decrypt_id(e.mobile_enc) == "13700001111"
    cands, excluded = sessions.candidates(CFG(), s)
    assert e.id not in {c["id"] for c in cands}
    assert any(x["expert_id"] == e.id and "暂不能参加评审" in x["reason"] for x in excluded)

    # Only the expert updates their own data; a return needs reasons and changes nothing.
    other = f.make_expert("beijing", "他人专家")
    with pytest.raises(Forbidden):
        expert_pool.propose_change(CFG(), f.actor(e.user), other, {})
    again = expert_pool.propose_change(CFG(), f.actor(e.user), e, {
        "title_level": "senior", "title_year": 2015, "series": "engineering",
        "employer_name": "未注册的研究院", "available": True})
    assert again.status == "agency_check"  # no registered employer to check it
    with pytest.raises(Invalid, match="退回理由"):
        transition(CFG(), again, "agency_return", f.actor(offices["agency"]))
    transition(CFG(), again, "agency_return", f.actor(offices["agency"]), opinion="单位名称有误")
    db.session.refresh(e)
    assert (again.status, e.employer_org_id, e.available) == ("returned", unit.id, False)


# -- terms, assessment and exit (AE-EXP-4, AE-EXP-5, AE-SUPERV-1) ---------------------------------

@pytest.mark.rule("AE-EXP-4", "AE-SUPERV-1")
def test_a_passing_assessment_in_a_terms_last_year_renews_it_up_to_three_terms(agency):
    e = f.make_expert("beijing", "续聘专家", term_start=(2024, 1, 1), terms=1)
    today = date(2026, 12, 20)
    expert_pool.record_assessment(CFG(), f.actor(agency), e, 2025, True, "", today)
    assert (e.term_start, e.terms) == (date(2024, 1, 1), 1)  # not the term's last year
    expert_pool.record_assessment(CFG(), f.actor(agency), e, 2026, True, "履职良好", today)
    assert (e.term_start, e.terms) == (date(2027, 1, 1), 2)  # 3 years more from the term's end
    assert experts.ineligibility(CFG(), e, "senior", date(2028, 6, 1)) == []
    with pytest.raises(Invalid, match="已登记"):
        expert_pool.record_assessment(CFG(), f.actor(agency), e, 2026, True, "", today)

    last = f.make_expert("beijing", "三届专家", term_start=(2024, 1, 1), terms=3)
    expert_pool.record_assessment(CFG(), f.actor(agency), last, 2026, True, "", today)
    assert (last.term_start, last.terms) == (date(2024, 1, 1), 3)  # at most three terms
    assert "不在聘期内" in map(str, experts.ineligibility(CFG(), last, "senior",
                                                       date(2027, 3, 1)))


@pytest.mark.rule("AE-SUPERV-1", "AE-EXP-5")
def test_a_failing_expert_leaves_the_pool_with_that_reason(agency):
    apps, _ = recommended(1)
    pool_of(6)
    s = new_session(agency, apps)
    e = f.make_expert("beijing", "不合格专家")
    with pytest.raises(Invalid) as why:
        expert_pool.record_assessment(CFG(), f.actor(agency), e, 2026, False, "", TODAY)
    assert any("须写明理由" in str(p) for p in why.value.problems) and e.exited_on is None
    with pytest.raises(Invalid, match="考核结果|未保存"):
        expert_pool.record_assessment(CFG(), f.actor(agency), e, 2026, None, "", TODAY)
    other_agency = f.make_user("beijing", "ag2", "agency_clerk", "bj-agency-econ")
    e.agency_org_id = agency.org_id
    db.session.commit()
    with pytest.raises(Forbidden):
        expert_pool.record_assessment(CFG(), f.actor(other_agency), e, 2026, False, "x", TODAY)
    expert_pool.record_assessment(CFG(), f.actor(agency), e, 2026, False,
                                  "评审意见多次不具体，未履行专家义务", TODAY)
    assert (e.exited_on, e.exit_reason, e.exit_note) == (
        TODAY, "failed_assessment", "评审意见多次不具体，未履行专家义务")
    cands, excluded = sessions.candidates(CFG(), s)
    assert e.id not in {c["id"] for c in cands}
    assert any(x["expert_id"] == e.id and "已退出专家库" in x["reason"] for x in excluded)
    actions = db.session.scalars(sa.select(AuditEvent.action).filter_by(
        subject_type="experts", subject_id=e.id).order_by(AuditEvent.id)).all()
    assert actions == ["assess", "exit"]


@pytest.mark.rule("AE-EXP-5")
def test_an_exit_gives_its_reason(agency):
    e = f.make_expert("beijing", "退出专家")
    with pytest.raises(Invalid, match="退出原因"):
        expert_pool.exit_with_note(f.actor(agency), e, "retired", "", TODAY)
    with pytest.raises(Invalid, match="写明"):
        expert_pool.exit_with_note(f.actor(agency), e, "other", " ", TODAY)
    assert e.exited_on is None
    expert_pool.exit_with_note(f.actor(agency), e, "left_profession", "调任行政岗位", TODAY)
    assert (e.exit_reason, e.exit_note, e.exited_on) == ("left_profession", "调任行政岗位", TODAY)


# -- pre-review training (AE-DUTY-1) -------------------------------------------------------------

@pytest.mark.rule("AE-DUTY-1")
def test_an_untrained_member_cannot_cast_the_years_first_ballot(agency):
    from app.workflow import defense, review_group
    assert CFG().policies.experts.training_before_ballot  # Beijing's setting
    s, apps, chair = drawn_session(agency, 1, 5, ready=False)
    for it in s.items:
        defense.record_defense(CFG(), f.actor(agency), s, it.id, "held", now=VOTE_DAY)
        review_group.record_opinion(CFG(), f.actor(chair.expert.user), s, it, "符合条件。", [])
    active = [m for m in s.members if m.status == "active"]
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user),
               present=[m.id for m in active], now=VOTE_DAY)
    sheet = {i.id: "yes" for i in s.items}
    with pytest.raises(Forbidden, match="2026年度的评前培训"):
        sessions.cast_ballot(f.actor(chair.expert.user), s, sheet)
    assert db.session.scalar(sa.select(sa.func.count(BallotReceipt.id))) == 0
    # Only the session's agency records its training, and only for its panel.
    other = f.make_user("beijing", "ag2", "agency_clerk", "bj-agency-econ")
    with pytest.raises(Forbidden):
        expert_pool.record_training(f.actor(other), s, [chair.expert_id])
    outsider = f.make_expert("beijing", "局外专家")
    with pytest.raises(Invalid):
        expert_pool.record_training(f.actor(agency), s, [outsider.id])
    assert expert_pool.record_training(f.actor(agency), s, [chair.expert_id]) == 1
    sessions.cast_ballot(f.actor(chair.expert.user), s, sheet)
    untrained = next(m for m in active if m.id != chair.id)
    with pytest.raises(Forbidden, match="评前培训"):
        sessions.cast_ballot(f.actor(untrained.expert.user), s, sheet)
    assert db.session.scalar(sa.select(sa.func.count(BallotReceipt.id))) == 1


# -- what waits for whom ---------------------------------------------------------------------------

@pytest.mark.rule("AE-EXP-6", "AE-EXP-4")
def test_waiting_lists_nominations_and_changes_for_their_offices_only(offices, app):
    ag = f.org("beijing", "bj-agency-eng")
    unit = f.make_employer("beijing", "hd-unit", "haidian")
    clerk = f.make_user("beijing", "unit-clerk", "employer_clerk", "hd-unit")

    def queries_for(user):
        seen = []
        listen = lambda *a, **k: seen.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            items = expert_pool.waiting(user, TODAY)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
        return items, len(seen)

    assert expert_pool.waiting(offices["agency"], TODAY) == []
    first = expert_pool.nominate(CFG(), f.actor(offices["haidian"]), data(unit, ag), TODAY)
    one, n_one = queries_for(offices["agency"])
    for _ in range(2):
        expert_pool.nominate(CFG(), f.actor(offices["haidian"]), data(unit, ag), TODAY)
    three, n_three = queries_for(offices["agency"])
    assert [(i["endpoint"], i["count"]) for i in one] == [("pool.vetting", 1)]
    assert [(i["endpoint"], i["count"]) for i in three] == [("pool.vetting", 3)]
    assert n_one == n_three  # the same queries whatever the rows
    assert expert_pool.waiting(offices["other_agency"], TODAY) == []
    assert expert_pool.waiting(offices["city"], TODAY) == []
    transition(CFG(), first, "vet_pass", f.actor(offices["agency"]))
    city = expert_pool.waiting(offices["city"], TODAY)
    assert [(i["endpoint"], i["count"], i["args"]) for i in city] == [("pool.approvals", 1, {})]
    assert expert_pool.waiting(offices["haidian"], TODAY) == []  # a county bureau approves none

    e = f.make_expert("beijing", "变更专家")
    expert_pool.propose_change(CFG(), f.actor(e.user), e, {
        "title_level": "senior", "title_year": 2015, "series": "engineering",
        "employer_org_id": unit.id, "available": True})
    assert [(i["endpoint"], i["count"]) for i in expert_pool.waiting(clerk, TODAY)] == [
        ("pool.changes", 1)]
    assert all(i["endpoint"] != "pool.changes" for i in expert_pool.waiting(offices["agency"],
                                                                             TODAY))
    assert expert_pool.waiting(e.user, TODAY) == []
    with app.test_request_context("/"):
        assert str(city[0]["label"]) == "待批准入库的专家"

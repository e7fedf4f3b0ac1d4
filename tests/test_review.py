"""Agency check, committees, the expert pool, the draw with recusal, the implementation plan's
filing and the secret ballot."""
from dataclasses import replace
from datetime import date
from fractions import Fraction

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import (
    Application, AuditEvent, BallotReceipt, BallotVote, Conflict, PanelMember, ReviewSession,
    SessionStatus, Status,
)
from app.tenancy import tenants
from app.workflow import committees, experts, sessions
from app.workflow.agency import changes_since, last_return
from app.workflow.deadlines import close_corrections
from app.workflow.errors import Conflict as ConflictError
from app.workflow.errors import Forbidden, Invalid, WindowClosed
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

CFG = lambda: tenants()["beijing"]  # noqa: E731


def recommended(n=1, employer="emp", district="haidian"):
    """n Beijing files recommended to the engineering agency on 20 Jul 2026."""
    if f.org("beijing", employer) is None:
        f.make_employer("beijing", employer, district)
    clerk = f.make_user("beijing", f"clerk-{employer}", "employer_clerk", employer)
    out = []
    for i in range(n):
        u = f.make_user("beijing", f"{employer}-a{i}", "applicant", employer, name=f"申报人{i}")
        a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "senior",
                               "mechanical")
        with time_machine.travel(at(2026, 7, 8, 9), tick=False):
            transition(CFG(), a, "submit", f.actor(u), pledge=f.PLEDGE)
            transition(CFG(), a, "start_notice", f.actor(clerk))
        with time_machine.travel(at(2026, 7, 20, 9), tick=False):
            transition(CFG(), a, "recommend", f.actor(clerk), opinion="同意", no_objection=True)
        out.append(a)
    return out, clerk


@pytest.fixture
def agency(ctx):
    return f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")


# -- agency completeness check ---------------------------------------------------------------

@pytest.mark.rule("BJ-WIN-3", "CF-WIN-3")
def test_agency_returns_all_corrections_then_rechecks_what_changed(agency):
    (app,), clerk = recommended()
    items = [{"target": "papers", "text": "论文须附检索证明"},
             {"target": "material:current_title", "text": "缺现职称证书"}]
    with time_machine.travel(at(2026, 8, 10, 9), tick=False):
        transition(CFG(), app, "agency_return", f.actor(agency), items=items,
                   due=date(2026, 8, 20))
    assert (app.status, app.correction_due, app.holder_org_id) == ("returned", date(2026, 8, 20),
                                                                   None)
    assert last_return(app).items == items
    from app.models import Attachment, Entry
    with time_machine.travel(at(2026, 8, 15, 9), tick=False):
        db.session.add(Entry(application_id=app.id, section="papers",
                             data={"title": "新论文", "journal": "J", "year": "2025"}))
        db.session.add(Attachment(application_id=app.id, material="current_title",
                                  filename="t.pdf", stored_name="t.pdf", mime="application/pdf",
                                  size=1, sha256="1" * 64, uploaded_by=app.applicant_id))
        db.session.commit()
        transition(CFG(), app, "resubmit", f.actor(app.applicant), pledge=f.PLEDGE)
        # The employer re-recommends after its own window closed and without a second notice.
        transition(CFG(), app, "recommend", f.actor(clerk), opinion="已补正，同意推荐")
    assert app.status == Status.recommended.value
    diff = changes_since(app, last_return(app).snapshot)
    assert [d[0] for d in diff["added"]] == ["papers"]
    assert [d[0] for d in diff["files_added"]] == ["current_title"]
    assert diff["removed"] == [] and diff["files_removed"] == []
    with time_machine.travel(at(2026, 8, 16, 9), tick=False):
        transition(CFG(), app, "check_pass", f.actor(agency))
    assert (app.status, app.correction_due) == (Status.checked.value, None)


@pytest.mark.rule("BJ-WIN-3")
def test_a_second_return_lists_only_what_was_not_corrected_or_what_the_correction_changed(
        agency):
    from app.models import Entry
    from app.workflow.agency import second_return_targets
    (app,), clerk = recommended()
    assert second_return_targets(app) is None  # never returned: the first list is free
    with time_machine.travel(at(2026, 8, 10, 9), tick=False):
        transition(CFG(), app, "agency_return", f.actor(agency), due=date(2026, 8, 20),
                   items=[{"target": "papers", "text": "论文须附检索证明"},
                          {"target": "work", "text": "工作经历须连续"}])
    with time_machine.travel(at(2026, 8, 15, 9), tick=False):
        # The applicant corrects the papers and, doing so, also changes the awards.
        db.session.add(Entry(application_id=app.id, section="papers",
                             data={"title": "新论文", "journal": "J", "year": "2025"}))
        db.session.add(Entry(application_id=app.id, section="awards",
                             data={"name": "新增奖项", "level": "省部级", "year": "2024"}))
        db.session.commit()
        transition(CFG(), app, "resubmit", f.actor(app.applicant), pledge=f.PLEDGE)
        transition(CFG(), app, "recommend", f.actor(clerk), opinion="已补正")
    # work: listed, untouched; papers and awards: changed by the correction.
    assert second_return_targets(app) == {"work", "papers", "awards"}
    steps = len(app.steps)
    with time_machine.travel(at(2026, 8, 16, 9), tick=False):
        with pytest.raises(Invalid) as refused:
            transition(CFG(), app, "agency_return", f.actor(agency), due=date(2026, 8, 25),
                       items=[{"target": "work", "text": "工作经历仍不连续"},
                              {"target": "education", "text": "学历证书不清晰"}])
        assert "一次性告知" in str(refused.value.message)
        assert [str(p) for p in refused.value.problems] == ["学历：学历证书不清晰"]
        db.session.refresh(app)
        assert (app.status, len(app.steps)) == (Status.recommended.value, steps)
        transition(CFG(), app, "agency_return", f.actor(agency), due=date(2026, 8, 25),
                   items=[{"target": "work", "text": "工作经历仍不连续"},
                          {"target": "awards", "text": "新增奖项须附证书"}])
    assert app.status == Status.returned.value and last_return(app).items[1]["target"] == "awards"


@pytest.mark.rule("BJ-WIN-3", "CF-WIN-3")
def test_not_corrected_by_the_deadline_is_refused_and_abandoned(agency):
    (app,), clerk = recommended()
    with time_machine.travel(at(2026, 8, 10, 9), tick=False):
        transition(CFG(), app, "agency_return", f.actor(agency),
                   items=[{"target": "work", "text": "补"}], due=date(2026, 8, 20))
    with time_machine.travel(at(2026, 8, 21, 0, 0, 0), tick=False):
        with pytest.raises(WindowClosed):
            transition(CFG(), app, "resubmit", f.actor(app.applicant), pledge=f.PLEDGE)
        run = close_corrections(app.tenant_id)
        again = close_corrections(app.tenant_id)
    assert (run.rows_changed, again.rows_changed) == (1, 0)
    db.session.refresh(app)
    assert app.status == Status.abandoned.value


@pytest.mark.rule("BJ-WIN-3")
def test_agency_return_needs_items_and_a_future_deadline(agency):
    (app,), _ = recommended()
    with time_machine.travel(at(2026, 8, 10, 9), tick=False):
        with pytest.raises(Invalid):
            transition(CFG(), app, "agency_return", f.actor(agency), items=[],
                       due=date(2026, 8, 20))
        with pytest.raises(Invalid):
            transition(CFG(), app, "agency_return", f.actor(agency),
                       items=[{"target": "work", "text": "补"}], due=date(2026, 8, 9))
        with pytest.raises(Invalid):  # not past the agency's own close
            transition(CFG(), app, "agency_return", f.actor(agency),
                       items=[{"target": "work", "text": "补"}], due=date(2026, 9, 30))
    assert app.status == Status.recommended.value


# -- committees and experts -----------------------------------------------------------------

@pytest.mark.rule("AE-COMM-1")
def test_committee_filing_valid_at_most_three_years(agency):
    c = f.committee("beijing", "bj-eng")
    e = f.make_expert("beijing", "专家甲")
    kw = dict(scope="本市工程技术人员", standard_text="业绩成果|60\n答辩|40", procedure="评审程序",
              roster=[e.id])
    with pytest.raises(Invalid) as err:
        committees.file_committee(f.actor(agency), c, filed_on=date(2026, 1, 1),
                                  valid_until=date(2029, 6, 1), **kw)
    assert any("3年" in str(p) for p in err.value.problems)
    with pytest.raises(Invalid):
        committees.file_committee(f.actor(agency), c, filed_on=date(2026, 1, 1),
                                  valid_until=date(2028, 12, 31), **{**kw, "standard_text": "x"})
    assert c.filed_on is None
    committees.file_committee(f.actor(agency), c, filed_on=date(2026, 1, 1),
                              valid_until=date(2028, 12, 31), **kw)
    assert c.standard[0] == {"code": "c1", "name": "业绩成果", "max": 60}
    other = f.make_user("beijing", "ag2", "agency_clerk", "bj-agency-econ")
    with pytest.raises(Forbidden):
        committees.file_committee(f.actor(other), c, filed_on=date(2026, 1, 1),
                                  valid_until=date(2028, 12, 31), **kw)


@pytest.mark.rule("AE-COMM-1")
def test_expired_filing_cannot_open_a_session(agency):
    f.file_committee("beijing", "bj-eng", filed=(2023, 1, 1), until=(2025, 12, 31))
    with pytest.raises(Invalid) as e:
        sessions.create_session(CFG(), f.actor(agency), committee_id=f.committee("beijing", "bj-eng").id,
                                plan_id=f.plan("beijing", "bj-2026").id, series="engineering",
                                level="senior", specialties=[], panel_size=5,
                                held_on=date(2026, 11, 20))
    assert any("备案" in str(p) for p in e.value.problems)


@pytest.mark.rule("AE-EXP-2", "AE-EXP-4", "AE-EXP-5")
@pytest.mark.parametrize("kw,level,ok", [
    ({"level": "associate_senior", "title_year": 2023}, "associate_senior", True),   # 3 years
    ({"level": "associate_senior", "title_year": 2024}, "associate_senior", False),  # 2 years
    ({"level": "associate_senior", "title_year": 2010}, "senior", False),  # 正高 reviews need 正高
    ({"level": "senior", "title_year": 2024}, "associate_senior", True),   # any 正高 for 副高
    ({"level": "senior", "title_year": 2024}, "senior", False),            # 正高 < 3 years
    ({"level": "senior", "title_year": 2023}, "senior", True),
    ({"birth": (1966, 1, 1)}, "senior", False),                            # 60 by the review day
    ({"terms": 4}, "senior", False),                                        # at most 3 terms
    ({"term_start": (2023, 1, 1)}, "senior", False),                       # term over
])
def test_expert_eligibility_from_the_data(ctx, kw, level, ok):
    e = f.make_expert("beijing", "专家", user=False, **kw)
    assert (experts.ineligibility(CFG(), e, level, date(2026, 11, 20)) == []) is ok


@pytest.mark.rule("AE-EXP-5")
def test_expert_exits_five_years_after_retirement_age(ctx):
    e = f.make_expert("beijing", "老专家", user=False, birth=(1961, 6, 1))
    assert not experts.must_exit(CFG(), e, date(2026, 5, 31))
    assert experts.must_exit(CFG(), e, date(2026, 6, 1))


@pytest.mark.rule("AE-EXP-1", "AE-EXP-3")
def test_pool_entry_needs_route_role_and_recommender(agency):
    base = dict(name="新专家", gender="female", birth_date=date(1975, 1, 1),
                title_level="senior", title_year=2015, series="engineering",
                term_start=date(2026, 1, 1), terms=1)
    with pytest.raises(Invalid) as e:
        experts.add_expert(CFG(), f.actor(agency), {**base, "role": "boss",
                                                     "entry_route": "recommended"})
    assert len(e.value.problems) == 2  # bad role and no recommending org
    ex = experts.add_expert(CFG(), f.actor(agency), {
        **base, "role": "chair", "entry_route": "recommended",
        "recommended_by_org_id": f.org("beijing", "bj-hr-haidian").id})
    assert ex.id and ex.role == "chair"


# -- the draw ----------------------------------------------------------------------------------

def new_session(agency, apps, size=5, committee="bj-eng"):
    f.file_committee("beijing", committee)
    s = sessions.create_session(CFG(), f.actor(agency), committee_id=f.committee("beijing", committee).id,
                                plan_id=f.plan("beijing", "bj-2026").id, series="engineering",
                                level="senior", specialties=[], panel_size=size,
                                held_on=date(2026, 11, 20))
    with time_machine.travel(at(2026, 8, 1, 9), tick=False):
        for a in apps:
            transition(CFG(), a, "check_pass", f.actor(agency))
            transition(CFG(), a, "confirm_payment", f.actor(agency), reference="BANK-2026-0801")
    sessions.add_files(f.actor(agency), s, [a.id for a in apps])
    return s


def pool_of(n, chairs=1, private=2, **kw):
    """n experts: the first `chairs` chairs, the last `private` from private enterprises (the
    engineering committee draws a share of those)."""
    return [f.make_expert("beijing", f"专家{i}", role="chair" if i < chairs else "member",
                          private=i >= n - private, **kw) for i in range(n)]


@pytest.mark.rule("CF-EXP-1")
def test_draw_is_random_recorded_and_replayable(agency):
    apps, _ = recommended(2)
    pool_of(12)
    s = new_session(agency, apps)
    transition(CFG(), s, "draw", f.actor(agency))
    drawn = sorted(m.expert_id for m in s.members)
    assert len(drawn) == 5 and s.draw_seed and len(s.draw_candidates) == 12
    assert any(m.role == "chair" for m in s.members)
    assert sessions.replay(s) == drawn
    assert [i.code for i in s.items] == ["A001", "A002"]
    # Another seed, another panel (with 12 candidates the same 5 is very unlikely for both seeds).
    other = sessions.select_panel(s.draw_candidates, 5, {"outside": 0, "private": 0}, "other")
    assert sorted(c["id"] for c in other) != drawn or sessions.select_panel(
        s.draw_candidates, 5, {"outside": 0, "private": 0}, "third") != drawn


@pytest.mark.rule("AE-RECUSE-1")
def test_conflicts_found_in_the_data_and_declared_are_excluded(agency):
    apps, _ = recommended(2)
    pool_of(8)
    same = f.make_expert("beijing", "同单位专家", employer="emp")
    coauthor = f.make_expert("beijing", "合作者专家")
    declared = f.make_expert("beijing", "亲属专家")
    from app.models import Entry
    db.session.add(Entry(application_id=apps[0].id, section="papers", data={
        "title": "t", "journal": "j", "year": "2024", "coauthors": "合作者专家、王五"}))
    db.session.add(Conflict(tenant_id=apps[1].tenant_id, expert_name="亲属专家",
                            applicant_id=apps[1].applicant_id, kind="relative",
                            declared_by="applicant"))
    db.session.commit()
    s = new_session(agency, apps)
    transition(CFG(), s, "draw", f.actor(agency))
    reasons = {x["expert_id"]: x["reason"] for x in s.draw_excluded}
    assert reasons[same.id] == "same_employer"
    assert reasons[coauthor.id] == "named_in_file"
    assert reasons[declared.id] == "declared_relative"
    assert not {same.id, coauthor.id, declared.id} & {m.expert_id for m in s.members}


@pytest.mark.rule("CF-EXP-1", "AE-RECUSE-1")
def test_too_small_a_pool_fails_with_the_reason_and_assigns_nobody(agency):
    apps, _ = recommended(1)
    pool_of(3)
    s = new_session(agency, apps)
    with pytest.raises(Invalid) as e:
        transition(CFG(), s, "draw", f.actor(agency))
    assert "不足5人" in str(e.value.message)
    db.session.refresh(s)
    assert s.status == "draft" and s.members == [] and s.draw_seed is None


def bare_session(slug, committee, plan, series="engineering", level="senior",
                 held_on=date(2026, 9, 15)):
    """A session of `committee` built directly (no files): enough for the pool and the draw."""
    s = ReviewSession(tenant_id=f.tenant_id(slug), committee_id=f.committee(slug, committee).id,
                      plan_id=f.plan(slug, plan).id, series=series, level=level, panel_size=5,
                      held_on=held_on)
    db.session.add(s)
    db.session.commit()
    return s


def served(slug, expert, years, committee, plan):
    """Seat `expert` on a closed panel of `committee` in each of `years`."""
    for y in years:
        old = bare_session(slug, committee, plan, held_on=date(y, 9, 1))
        old.status = "closed"
        db.session.add(PanelMember(session_id=old.id, expert_id=expert.id, role=expert.role,
                                   year=y))
    db.session.commit()


def with_experts(cfg, **changes):
    """`cfg` with some expert rules changed, as a tenant could set them in policies.toml."""
    rules = cfg.policies.experts.model_copy(update=changes)
    return replace(cfg, policies=cfg.policies.model_copy(update={"experts": rules}))


@pytest.mark.rule("CF-EXP-1")
def test_chifeng_expert_on_panels_three_years_running_is_not_drawn(ctx):
    cf = tenants()["chifeng"]
    assert cf.policies.experts.years_running == 3  # 六(二)2: 连续三年
    three = f.make_expert("chifeng", "连续三年", level="associate_senior", title_year=2018)
    gap = f.make_expert("chifeng", "中断一年", level="associate_senior", title_year=2018)
    two = f.make_expert("chifeng", "连续两年", level="associate_senior", title_year=2018)
    served("chifeng", three, (2023, 2024, 2025), "cf-eng", "cf-2026-intermediate")
    served("chifeng", gap, (2022, 2023, 2025), "cf-eng", "cf-2026-intermediate")
    served("chifeng", two, (2024, 2025), "cf-eng", "cf-2026-intermediate")
    s = bare_session("chifeng", "cf-eng", "cf-2026-intermediate", level="intermediate")
    cands, excluded = sessions.candidates(cf, s)
    assert excluded == [{"expert_id": three.id, "reason": "years_running"}]
    assert {c["id"] for c in cands} == {gap.id, two.id}
    # The figure is the tenant's: with two years running, the two-year expert is left out too.
    cands, excluded = sessions.candidates(with_experts(cf, years_running=2), s)
    assert {x["expert_id"] for x in excluded} == {three.id, two.id}
    assert {c["id"] for c in cands} == {gap.id}
    # And with no limit (Beijing's measures set none), nobody is left out for it.
    cands, excluded = sessions.candidates(with_experts(cf, years_running=0), s)
    assert excluded == [] and len(cands) == 3


@pytest.mark.rule("CF-EXP-1")
def test_chifeng_self_review_unit_panel_has_a_third_from_outside(ctx):
    from app.models import Committee
    cf = tenants()["chifeng"]
    unit = f.org("chifeng", "cf-self-hospital")
    db.session.add(Committee(tenant_id=unit.tenant_id, code="cf-self-health", name="医院自主评审委员会",
                             name_en="Hospital committee", agency_org_id=unit.id,
                             series=["health"], levels=["senior"]))
    db.session.commit()
    for i in range(8):
        f.make_expert("chifeng", f"院内{i}", series="health", role="chair" if i == 0 else "member",
                      employer="cf-self-hospital")
    outside = [f.make_expert("chifeng", f"院外{i}", series="health") for i in range(3)]
    s = bare_session("chifeng", "cf-self-health", "cf-2026-senior", series="health")
    cands, _ = sessions.candidates(cf, s)
    assert {c["id"] for c in cands if c["outside"]} == {e.id for e in outside}
    assert sessions.quotas(s, 6, cf)["outside"] == 2  # 六(二)2: 三分之一以上 of 6
    for seed in ("a", "b", "c", "d"):
        panel = sessions.select_panel(cands, 6, sessions.quotas(s, 6, cf), seed)
        assert sum(1 for p in panel if p["outside"]) >= 2
    with pytest.raises(Invalid, match="本单位以外的专家不足4人"):  # ⌈10/3⌉ = 4; only 3 exist
        sessions.select_panel(cands, 10, sessions.quotas(s, 10, cf), "a")
    # A tenant asking for half from outside: a panel of 6 needs 3, all the outside experts.
    half = with_experts(cf, outside_share="1/2")
    assert sessions.quotas(s, 6, half)["outside"] == 3
    panel = sessions.select_panel(cands, 6, sessions.quotas(s, 6, half), "a")
    assert {p["id"] for p in panel if p["outside"]} == {e.id for e in outside}


@pytest.mark.rule("AE-EXP-2")
def test_beijing_young_expert_share_is_a_tenant_setting(ctx):
    bj = CFG()
    assert bj.policies.experts.young_age == 45
    s = bare_session("beijing", "bj-eng", "bj-2026", held_on=date(2026, 11, 20))
    chair = f.make_expert("beijing", "主任", role="chair", private=True)
    older = [f.make_expert("beijing", f"年长{i}") for i in range(6)]
    young = [f.make_expert("beijing", f"青年{i}", birth=(1985, 1, 1)) for i in range(2)]
    born_1981 = f.make_expert("beijing", "满45岁", birth=(1981, 11, 20))  # 45 on the review day
    cands, _ = sessions.candidates(bj, s)
    assert {c["id"] for c in cands if c["young"]} == {e.id for e in young}
    assert sessions.quotas(s, 5, bj)["young"] == 0  # no figure in 第十四条: none by default
    share = with_experts(bj, young_share="2/5")
    assert sessions.quotas(s, 5, share)["young"] == 2
    for seed in ("a", "b", "c"):
        panel = sessions.select_panel(cands, 5, sessions.quotas(s, 5, share), seed)
        assert {e.id for e in young} <= {p["id"] for p in panel}
    with pytest.raises(Invalid, match="45周岁以下的专家不足3人"):
        sessions.select_panel(cands, 5, sessions.quotas(s, 5, with_experts(bj, young_share="3/5")),
                              "a")
    assert chair and older and born_1981


@pytest.mark.rule("AE-EXP-2", "AE-EXP-4")
def test_beijing_expert_conditions_follow_the_tenant_figures(ctx):
    bj, day = CFG(), date(2026, 11, 20)
    assoc = f.make_expert("beijing", "副高三年", level="associate_senior", title_year=2023,
                          user=False)
    assert experts.ineligibility(bj, assoc, "associate_senior", day) == []
    stricter = with_experts(bj, associate_years=5, senior_years=5, max_terms=2)
    assert [str(r) for r in experts.ineligibility(stricter, assoc, "associate_senior", day)] == [
        "须具有副高级职称5年以上或正高级职称"]
    top = f.make_expert("beijing", "正高四年", level="senior", title_year=2022, user=False)
    assert experts.ineligibility(bj, top, "senior", day) == []
    assert [str(r) for r in experts.ineligibility(stricter, top, "senior", day)] == [
        "评审正高级须具有正高级职称5年以上"]
    third = f.make_expert("beijing", "第三届", terms=3, user=False)
    assert experts.ineligibility(bj, third, "senior", day) == []
    assert "聘期已满2届" in [str(r) for r in experts.ineligibility(stricter, third, "senior", day)]
    # Retirement ages by gender, from the tenant file (第十六条(五)).
    woman = f.make_expert("beijing", "女专家", birth=(1971, 3, 1), user=False)
    woman.gender = "female"
    db.session.commit()
    assert bj.policies.experts.retirement_age == {"male": 60, "female": 55}
    assert "已到法定退休年龄" in [str(r) for r in experts.ineligibility(bj, woman, "senior", day)]
    later = with_experts(bj, retirement_age={"male": 60, "female": 60})
    assert experts.ineligibility(later, woman, "senior", day) == []


@pytest.mark.rule("CF-EXP-1")
def test_enterprise_committee_draws_its_share_of_private_sector_experts(agency):
    c = f.committee("beijing", "bj-eng")
    c.private_share = 0.4
    db.session.commit()
    apps, _ = recommended(1)
    pool_of(10, private=0)
    privates = [f.make_expert("beijing", f"民企{i}", private=True) for i in range(2)]
    s = new_session(agency, apps)
    transition(CFG(), s, "draw", f.actor(agency))
    assert {p.id for p in privates} <= {m.expert_id for m in s.members}  # ⌈5 × 0.4⌉ = 2


@pytest.mark.rule("AE-RECUSE-1")
def test_late_conflict_is_replaced_under_the_same_rules(agency):
    apps, _ = recommended(1)
    pool_of(8)
    s = new_session(agency, apps)
    transition(CFG(), s, "draw", f.actor(agency))
    member = next(m for m in s.members if m.role != "chair")
    new = sessions.replace_member(CFG(), f.actor(member.expert.user), s, member, "与申报人有利益关系")
    assert member.status == "recused" and new.replaces_id == member.id
    active = [m for m in s.members if m.status == "active"]
    assert len(active) == 5 and member.expert_id not in {m.expert_id for m in active}
    stranger = f.make_user("beijing", "someone", "expert")
    with pytest.raises(Forbidden):
        sessions.replace_member(CFG(), f.actor(stranger), s, active[1], "x")


# -- scoring and the ballot ----------------------------------------------------------------------

# The review day of the Beijing sessions, inside the plan's review window (closes 4 Dec).
VOTE_DAY = at(2026, 11, 20, 9)


def ready_to_vote(s, agency):
    """Every file's defense recorded as held (BJ-DEF-1) and the review group's opinion on it
    (BJ23-PANEL-1), as before any Beijing ballot."""
    from app.workflow import defense, review_group
    for it in s.items:
        defense.record_defense(CFG(), f.actor(agency), s, it.id, "held", now=VOTE_DAY)
    writer = next(m for m in s.members if m.status == "active")
    for it in s.items:
        review_group.record_opinion(CFG(), f.actor(writer.expert.user), s, it,
                                    f"{it.code}：专业技术工作业绩符合评审条件。", [])
    train(s, agency)


def train(s, agency):
    """The agency records the panel's pre-review training (AE-DUTY-1), as before any Beijing
    ballot."""
    from app.workflow import expert_pool
    expert_pool.record_training(f.actor(agency), s, [m.expert_id for m in s.members
                                                      if m.status == "active"])


def drawn_session(agency, n_apps=2, size=9, ready=True):
    """A drawn Beijing senior session of n files; with `ready`, its defenses recorded and the
    review group's opinions given, so the ballot may open."""
    apps, _ = recommended(n_apps)
    pool_of(size + 3)
    s = new_session(agency, apps, size=size)
    transition(CFG(), s, "draw", f.actor(agency))
    chair = next(m for m in s.members if m.role == "chair")
    if ready:
        ready_to_vote(s, agency)
    return s, apps, chair


@pytest.mark.rule("AE-CONF-1")
def test_scores_need_the_confidentiality_agreement_and_the_standard(agency):
    s, apps, chair = drawn_session(agency, 1, 5)
    member = next(m for m in s.members if m.role != "chair")
    member.expert.confidentiality_signed_at = None
    db.session.commit()
    item = s.items[0]
    with pytest.raises(Forbidden):
        sessions.record_score(f.actor(member.expert.user), s, item, {"c1": 50, "c2": 30}, "好")
    from app.workflow.experts import sign_confidentiality
    sign_confidentiality(f.actor(member.expert.user), member.expert)
    with pytest.raises(Invalid):
        sessions.record_score(f.actor(member.expert.user), s, item, {"c1": 61, "c2": 30}, "")
    score = sessions.record_score(f.actor(member.expert.user), s, item, {"c1": 50, "c2": 30}, "好")
    assert score.scores == {"c1": 50, "c2": 30}


def vote(s, members, choices_for):
    for m in members:
        sessions.cast_ballot(f.actor(m.expert.user), s,
                             {i.id: choices_for(m, i) for i in s.items})


@pytest.mark.rule("BJ-VOTE-1")
def test_two_thirds_of_attending_members_pass_and_the_tally_is_sealed(agency):
    s, apps, chair = drawn_session(agency, 2, 9)
    active = [m for m in s.members if m.status == "active"]
    with pytest.raises(Invalid):  # not more than half present
        transition(CFG(), s, "open_voting", f.actor(chair.expert.user),
                   present=[m.id for m in active[:4]], now=VOTE_DAY)
    present = [chair] + [m for m in active if m is not chair][:5]   # 6 of 9 attend
    absent = [m for m in active if m not in present][0]
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user), present=[m.id for m in present],
               now=VOTE_DAY)
    with pytest.raises(Forbidden):
        sessions.cast_ballot(f.actor(absent.expert.user), s, {i.id: "yes" for i in s.items})
    first, second = s.items
    # A001: 4 of 6 yes (= 2/3) passes; A002: 3 of 6 yes fails.
    vote(s, present, lambda m, i: "yes" if (i is first and present.index(m) < 4) or
         (i is second and present.index(m) < 3) else "no")
    with pytest.raises(ConflictError):
        sessions.cast_ballot(f.actor(chair.expert.user), s, {i.id: "yes" for i in s.items})
    transition(CFG(), s, "close", f.actor(chair.expert.user))
    assert s.status == SessionStatus.closed.value
    assert s.tally["attending"] == 6 and s.tally["items"]["A001"]["passed"]
    assert not s.tally["items"]["A002"]["passed"] and s.tally["items"]["A002"]["yes"] == 3
    statuses = {a.id: db.session.get(Application, a.id).status for a in apps}
    assert statuses == {first.application_id: "passed", second.application_id: "failed"}
    tally, ok = sessions.recount(s)
    assert ok and tally == s.tally


@pytest.mark.rule("BJ-VOTE-1")
@time_machine.travel(VOTE_DAY)  # the whole session sits in the review window
def test_quorum_and_passing_share_are_tenant_settings(agency):
    s, apps, chair = drawn_session(agency, 1, 9)
    active = [m for m in s.members if m.status == "active"]
    present = [chair] + [m for m in active if m is not chair][:5]  # 6 of 9
    stricter = replace(CFG(), policies=CFG().policies.model_copy(update={
        "experts": CFG().policies.experts.model_copy(update={"quorum": "2/3",
                                                             "pass_share": "3/4"})}))
    with pytest.raises(Invalid, match="2/3"):  # 6 of 9 is not more than two thirds
        transition(stricter, s, "open_voting", f.actor(chair.expert.user),
                   present=[m.id for m in present])
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user),
               present=[m.id for m in present])
    vote(s, present, lambda m, i: "yes" if present.index(m) < 4 else "no")  # 4 of 6
    assert sessions.count(s, CFG())["items"]["A001"]["passed"]           # ≥ 2/3
    assert not sessions.count(s, stricter)["items"]["A001"]["passed"]    # < 3/4
    transition(stricter, s, "close", f.actor(chair.expert.user))
    assert db.session.get(Application, apps[0].id).status == "failed"


@pytest.mark.rule("BJ-VOTE-1")
def test_a_ballot_records_that_a_member_voted_never_how(agency):
    s, apps, chair = drawn_session(agency, 1, 5)
    active = [m for m in s.members if m.status == "active"]
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user), present=[m.id for m in active],
               now=VOTE_DAY)
    vote(s, active, lambda m, i: "yes" if m is chair else "no")
    columns = set(BallotVote.__table__.columns.keys())
    assert columns == {"id", "session_id", "item_id", "choice"}  # no member, no time
    receipts = db.session.scalars(sa.select(BallotReceipt).filter_by(session_id=s.id)).all()
    assert sorted(r.member_id for r in receipts) == sorted(m.id for m in active)
    votes = db.session.scalars(sa.select(BallotVote).filter_by(session_id=s.id)).all()
    assert sorted(v.choice for v in votes) == ["no"] * 4 + ["yes"]
    # Vote keys are random, so their order says nothing about who voted first.
    assert sorted(v.id for v in votes) != list(range(min(v.id for v in votes),
                                                     min(v.id for v in votes) + 5))


@pytest.mark.rule("BJ-VOTE-1")
def test_tampering_with_stored_ballots_shows_on_recount(agency):
    s, apps, chair = drawn_session(agency, 1, 5)
    active = [m for m in s.members if m.status == "active"]
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user), present=[m.id for m in active],
               now=VOTE_DAY)
    vote(s, active, lambda m, i: "yes")
    transition(CFG(), s, "close", f.actor(chair.expert.user))
    db.session.execute(sa.update(BallotVote).where(BallotVote.session_id == s.id)
                       .values(choice="no"))
    db.session.commit()
    tally, ok = sessions.recount(s)
    assert not ok and tally["items"]["A001"]["yes"] == 0


def chifeng_session():
    """A Chifeng 中级 engineering file through its employer, the county HR and city HR to the
    city agency, then into a session of the engineering committee meeting on 15 Sep 2026, its panel
    drawn: (cfg, session, agency clerk, file)."""
    cfg = tenants()["chifeng"]
    f.make_employer("chifeng", "cf-firm", "songshan", kind="non_public")
    clerk = f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-firm")
    hr = f.make_user("chifeng", "cf-hr", "hr_officer", "cf-hr-songshan")
    ag = f.make_user("chifeng", "cf-ag", "agency_clerk", "cf-agency-city")
    u = f.make_user("chifeng", "cf-a", "applicant", "cf-firm")
    a = f.make_application("chifeng", u, "cf-2026-intermediate", "cf-eng", "engineering",
                           "intermediate", "mechanical")
    with time_machine.travel(at(2026, 6, 1, 9), tick=False):
        transition(cfg, a, "submit", f.actor(u), pledge=f.PLEDGE)
        transition(cfg, a, "start_notice", f.actor(clerk))
    with time_machine.travel(at(2026, 6, 15, 9), tick=False):
        transition(cfg, a, "recommend", f.actor(clerk), opinion="同意", no_objection=True)
        assert a.holder_org_id == f.org("chifeng", "cf-hr-songshan").id  # territorial county HR
        transition(cfg, a, "recommend", f.actor(hr), opinion="审核通过，同意上报")
        # The committee sits at the city: county HR reports to city HR (CF-ROUTE-1).
        assert a.holder_org_id == f.org("chifeng", "cf-hr").id
        city = f.make_user("chifeng", "cf-city-hr", "hr_officer", "cf-hr")
        transition(cfg, a, "recommend", f.actor(city), opinion="审核通过，同意报送评委会")
        assert a.status == Status.recommended.value
    with time_machine.travel(at(2026, 7, 1, 9), tick=False):
        transition(cfg, a, "check_pass", f.actor(ag))
    f.file_committee("chifeng", "cf-eng")
    for i in range(6):
        f.make_expert("chifeng", f"赤峰专家{i}", level="associate_senior", title_year=2018,
                      role="chair" if i == 0 else "member", private=i == 5)
    s = sessions.create_session(cfg, f.actor(ag), committee_id=f.committee("chifeng", "cf-eng").id,
                                plan_id=f.plan("chifeng", "cf-2026-intermediate").id,
                                series="engineering", level="intermediate", specialties=[],
                                panel_size=5, held_on=date(2026, 9, 15))
    sessions.add_files(f.actor(ag), s, [a.id])
    transition(cfg, s, "draw", f.actor(ag))
    return cfg, s, ag, a


def chair_and_present(s: ReviewSession):
    active = [m for m in s.members if m.status == "active"]
    return next(m for m in active if m.role == "chair"), [m.id for m in active]


@pytest.mark.rule("CF-WIN-3", "CF-MODE-3", "CF-EXP-1", "BJ-VOTE-1")
def test_chifeng_file_goes_through_county_hr_to_a_blind_session_and_a_ballot(ctx):
    cfg, s, ag, a = chifeng_session()
    assert s.blind  # the plan's mode: online blind review plus paper
    with time_machine.travel(at(2026, 9, 1, 9), tick=False):
        transition(cfg, s, "file_plan", f.actor(ag))
    chair, present = chair_and_present(s)
    # Committees review and publicise by 30 Oct: no vote from 00:00:00 on 31 Oct, no meeting
    # set after it.
    with time_machine.travel(at(2026, 10, 31, 0, 0, 0), tick=False):
        with pytest.raises(WindowClosed, match="2026-10-30 24:00截止"):
            transition(cfg, s, "open_voting", f.actor(chair.expert.user), present=present)
    with pytest.raises(Invalid) as late:
        sessions.create_session(cfg, f.actor(ag), committee_id=s.committee_id, plan_id=s.plan_id,
                                series="engineering", level="intermediate", specialties=[],
                                panel_size=5, held_on=date(2026, 11, 2))
    assert "评审和公示须在2026-10-30前完成" in str(late.value.problems)
    with time_machine.travel(at(2026, 10, 30, 23, 59, 59), tick=False):
        transition(cfg, s, "open_voting", f.actor(chair.expert.user), present=present)
        for m in s.members:
            if m.id in present:
                sessions.cast_ballot(f.actor(m.expert.user), s, {s.items[0].id: "yes"})
        transition(cfg, s, "close", f.actor(chair.expert.user))
    assert db.session.get(Application, a.id).status == Status.passed.value


@pytest.mark.rule("CF-PLAN-2")
def test_chifeng_plan_is_filed_no_later_than_a_week_before_the_meeting(ctx):
    cfg, s, ag, _a = chifeng_session()
    assert cfg.policies.plan_filing_days_before == 7
    assert sessions.plan_filing_due(cfg, s) == date(2026, 9, 8)
    chair, present = chair_and_present(s)
    with time_machine.travel(at(2026, 9, 1, 9), tick=False), \
            pytest.raises(Invalid, match="评审实施方案尚未备案，不能开始表决"):
        transition(cfg, s, "open_voting", f.actor(chair.expert.user), present=present)
    with time_machine.travel(at(2026, 9, 8, 23, 59, 59), tick=False):
        with pytest.raises(Forbidden):  # the agency files, not the panel
            transition(cfg, s, "file_plan", f.actor(chair.expert.user))
        transition(cfg, s, "file_plan", f.actor(ag))  # seven days before: still in time
    assert s.plan_filed_at == at(2026, 9, 8, 23, 59, 59)
    with time_machine.travel(at(2026, 9, 9, 0, 0, 0), tick=False):  # six days before: too late
        with pytest.raises(Invalid) as refused:
            transition(cfg, s, "file_plan", f.actor(ag))
    assert str(refused.value) == ("评审实施方案须在评审会召开7日前备案（不晚于2026-09-08），"
                                  "评审会定于2026-09-15召开，已不能备案。")
    db.session.expire_all()
    assert s.plan_filed_at == at(2026, 9, 8, 23, 59, 59)
    filings = db.session.scalars(sa.select(AuditEvent.at).filter_by(
        subject_type="review_sessions", subject_id=s.id, action="file_plan")).all()
    assert filings == [at(2026, 9, 8, 23, 59, 59)]
    with time_machine.travel(at(2026, 9, 15, 9), tick=False):
        transition(cfg, s, "open_voting", f.actor(chair.expert.user), present=present)
    assert s.status == SessionStatus.voting.value

    empty = sessions.create_session(cfg, f.actor(ag), committee_id=s.committee_id,
                                    plan_id=s.plan_id, series="engineering", level="intermediate",
                                    specialties=[], panel_size=5, held_on=date(2026, 10, 20))
    with time_machine.travel(at(2026, 9, 9, 9), tick=False):
        with pytest.raises(Invalid, match="申报人员名单"):  # the plan lists who is reviewed
            transition(cfg, empty, "file_plan", f.actor(ag))


@pytest.mark.rule("CF-PLAN-2")
def test_plan_filing_lead_time_is_tenant_data(agency):
    apps, _ = recommended(1)
    s = new_session(agency, apps)  # Beijing: meets on 20 Nov 2026, no filing asked for
    assert CFG().policies.plan_filing_days_before is None
    assert sessions.plan_filing_due(CFG(), s) is None
    with time_machine.travel(at(2026, 11, 1, 9), tick=False):
        with pytest.raises(Invalid, match="无需备案"):
            transition(CFG(), s, "file_plan", f.actor(agency))
    ten = replace(CFG(), policies=CFG().policies.model_copy(
        update={"plan_filing_days_before": 10}))
    assert sessions.plan_filing_due(ten, s) == date(2026, 11, 10)
    with time_machine.travel(at(2026, 11, 11, 0, 0, 0), tick=False):
        with pytest.raises(Invalid, match="10日前"):
            transition(ten, s, "file_plan", f.actor(agency))
    with time_machine.travel(at(2026, 11, 10, 23, 59, 59), tick=False):
        transition(ten, s, "file_plan", f.actor(agency))
    assert s.plan_filed_at == at(2026, 11, 10, 23, 59, 59)


@pytest.mark.rule("CF-EXP-1")
@pytest.mark.parametrize("bad", ['outside_share = "4/3"', 'outside_share = "1/0"',
                                 'outside_share = "a third"'])
def test_chifeng_expert_shares_are_checked_on_load(tmp_path, bad):
    import shutil

    from app.tenancy import load_tenant
    from app.tenancy.loader import TenantConfigError

    from .conftest import ROOT_TENANTS
    folder = tmp_path / "chifeng"
    shutil.copytree(ROOT_TENANTS / "chifeng", folder)
    pol = folder / "policies.toml"
    assert 'outside_share = "1/3"' in pol.read_text()
    pol.write_text(pol.read_text().replace('outside_share = "1/3"', bad))
    with pytest.raises(TenantConfigError, match=r"experts\.outside_share"):
        load_tenant(folder)
    assert load_tenant(ROOT_TENANTS / "chifeng").policies.experts.share("outside_share") == \
        Fraction(1, 3)


@pytest.mark.rule("BJ23-PUB-1")
def test_the_rank_the_city_publishes_from_is_a_tenant_setting(ctx):
    from app.workflow.results import _publisher
    bj = CFG()
    assert bj.policies.city_publishes_min_rank == 4
    senior = bare_session("beijing", "bj-eng", "bj-2026", level="associate_senior")
    middle = bare_session("beijing", "bj-eng", "bj-2026", level="intermediate")
    city, agency = f.org("beijing", "bj-hr"), f.org("beijing", "bj-agency-eng")
    assert (_publisher(bj, senior), _publisher(bj, middle)) == (city, agency)
    wider = replace(bj, policies=bj.policies.model_copy(update={"city_publishes_min_rank": 3}))
    assert _publisher(wider, middle) == city

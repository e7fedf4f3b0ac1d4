"""Review groups of their own within a Chifeng session (CF-GROUP-1): non-public and 专精特新 /
单项冠军 enterprises' staff always, county and township units' staff where the committee chooses;
each group with its own ranking, roster section and ballot list."""
import io
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook

from app.extensions import db
from app.models import Entry, ReviewSession, Score, SessionItem, User
from app.tenancy import tenants
from app.workflow import groups, sessions
from app.workflow.errors import Forbidden, Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_review import chair_and_present

CF = lambda: tenants()["chifeng"]  # noqa: E731


def _file(username: str, employer: str, place: str | None = None):
    """A checked Chifeng 中级 engineering file of an applicant at `employer`, its latest work
    entry served at `place`."""
    u = f.make_user("chifeng", username, "applicant", employer, name=username)
    a = f.make_application("chifeng", u, "cf-2026-intermediate", "cf-eng", "engineering",
                           "intermediate", "mechanical", status="checked")
    if place:
        db.session.add(Entry(application_id=a.id, section="work",
                             data={"org_name": "卫生院", "position": "工程师",
                                   "start": "2020-01-01", "place": place}))
        db.session.commit()
    return a


def build_mixed():
    """Files of a city state-owned unit, a private firm, a 专精特新 enterprise (state-owned), a
    county public institution and a township one, in one new session of the city's
    engineering committee; the agency clerk."""
    f.make_employer("chifeng", "cf-city-soe", "hongshan", kind="state_owned", tier="city")
    f.make_employer("chifeng", "cf-private", "songshan", kind="non_public")
    f.make_employer("chifeng", "cf-champion", "songshan", kind="state_owned", tier="city",
                    enterprise_flags=["specialised_sme"])
    f.make_employer("chifeng", "cf-county-inst", "ningcheng", kind="public_institution")
    f.make_employer("chifeng", "cf-town-inst", "ningcheng", kind="public_institution")
    apps = {"general": _file("城市甲", "cf-city-soe"),
            "non_public": _file("民企乙", "cf-private"),
            "enterprise": _file("冠军丙", "cf-champion"),
            "county": _file("旗县丁", "cf-county-inst", "county"),
            "township": _file("乡镇戊", "cf-town-inst", "township")}
    ag = f.make_user("chifeng", "cf-ag", "agency_clerk", "cf-agency-city")
    f.file_committee("chifeng", "cf-eng")
    s = sessions.create_session(CF(), f.actor(ag), committee_id=f.committee("chifeng", "cf-eng").id,
                                plan_id=f.plan("chifeng", "cf-2026-intermediate").id,
                                series="engineering", level="intermediate", specialties=[],
                                panel_size=5, held_on=date(2026, 9, 15))
    sessions.add_files(f.actor(ag), s, [a.id for a in apps.values()])
    return s, ag, apps


@pytest.fixture
def mixed(ctx):
    return build_mixed()


def _groups_by_name(s):
    db.session.expire_all()
    return {it.application.applicant.name: it.grp or "general"
            for it in db.session.scalars(sa.select(SessionItem).filter_by(session_id=s.id))}


@pytest.mark.rule("CF-GROUP-1")
def test_non_public_and_enterprise_groups_always_county_and_township_by_choice(mixed):
    s, ag, apps = mixed
    cfg = CF()
    assert [g.value for g in cfg.policies.review_groups] == ["enterprise", "non_public"]
    # Without the committee's choice county and township units' files stay in the general group.
    assert _groups_by_name(s) == {"城市甲": "general", "民企乙": "non_public",
                                  "冠军丙": "enterprise", "旗县丁": "general",
                                  "乡镇戊": "general"}
    with pytest.raises(Invalid, match="不设此分组"):
        groups.choose(cfg, f.actor(ag), s, ["non_public_extra"])
    other = f.make_user("chifeng", "cf-oth-ag", "agency_clerk", "cf-agency-ningcheng")
    with pytest.raises(Forbidden):
        groups.choose(cfg, f.actor(other), s, ["county"])
    groups.choose(cfg, f.actor(ag), s, ["county", "township"])
    assert _groups_by_name(s) == {"城市甲": "general", "民企乙": "non_public",
                                  "冠军丙": "enterprise", "旗县丁": "county",
                                  "乡镇戊": "township"}
    groups.choose(cfg, f.actor(ag), s, ["county"])  # one group for county and township units
    assert _groups_by_name(s)["乡镇戊"] == "county"
    table = groups.table(s)
    assert [(g["group"], g["count"]) for g in table] == [
        ("general", 1), ("enterprise", 1), ("non_public", 1), ("county", 2)]


@pytest.mark.rule("CF-GROUP-1")
def test_beijing_sessions_form_no_groups(ctx):
    from .test_review import new_session, recommended
    agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
    f.make_employer("beijing", "bj-private", "haidian", kind="non_public")
    apps, _ = recommended(1, employer="bj-private")
    s = new_session(agency, apps)
    assert tenants()["beijing"].policies.review_groups == []
    assert [g["group"] for g in groups.table(s)] == ["general"]


@pytest.mark.rule("CF-GROUP-1", "BJ-VOTE-1")
def test_each_group_ranked_counted_and_listed_on_ballot_session_page_and_roster(app, client,
                                                                              login):
    with app.app_context():
        s, ag, apps = build_mixed()
        session_id, ag_id = s.id, ag.id
    login("chifeng", "cf-ag")
    page = client.get(f"/chifeng/agency/sessions/{session_id}").get_data(as_text=True)
    assert "非公有制领域组 · 1人" in page and "普通组 · 3人" in page
    client.post(f"/chifeng/agency/sessions/{session_id}/groups",
                data={"group": ["county", "township"]})
    page = client.get(f"/chifeng/agency/sessions/{session_id}").get_data(as_text=True)
    assert "普通组 · 1人" in page and "旗县区组 · 1人" in page and "苏木乡镇组 · 1人" in page
    client.post("/chifeng/logout")
    with app.app_context():
        cfg = CF()
        s = db.session.get(ReviewSession, session_id)
        ag = db.session.get(User, ag_id)
        for i in range(6):
            f.make_expert("chifeng", f"赤峰专家{i}", level="associate_senior", title_year=2018,
                          role="chair" if i == 0 else "member", private=i == 5)
        with time_machine.travel(at(2026, 9, 1, 9), tick=False):
            transition(cfg, s, "file_plan", f.actor(ag))
        transition(cfg, s, "draw", f.actor(ag))
        chair, present = chair_and_present(s)
        chair_name, session_id = chair.expert.user.username, s.id
        with time_machine.travel(at(2026, 9, 15, 9), tick=False):
            transition(cfg, s, "open_voting", f.actor(chair.expert.user), present=present)
    with time_machine.travel(at(2026, 9, 15, 10), tick=False):
        login("chifeng", chair_name)
        page = client.get(f"/chifeng/expert/sessions/{session_id}").get_data(as_text=True)
    ballot = page[page.index('id="ballot"'):]
    for label in ("非公有制领域组", "专精特新中小企业、制造业单项冠军企业组", "旗县区组", "苏木乡镇组",
                  "普通组"):
        assert label in ballot
    # 五(五)2: the non-public and enterprise groups are judged mainly on innovation results.
    assert ballot.count("专利发明、成果转化、技术推广、标准制定") == 2
    with app.app_context():
        s = db.session.get(ReviewSession, session_id)
        items = {it.application.applicant.name: it for it in s.items}
        voters = [m for m in s.members if m.id in present]
        for m in voters:  # the private firm's file and the city unit's pass, the others fail
            sessions.cast_ballot(f.actor(m.expert.user), s, {
                it.id: "yes" if name in ("民企乙", "城市甲") else "no"
                for name, it in items.items()})
        transition(cfg, s, "close", f.actor(chair_of(s).expert.user))
        table = {g["group"]: g for g in groups.table(s)}
        assert {k: (g["count"], g["passed"]) for k, g in table.items()} == {
            "general": (1, 1), "enterprise": (1, 0), "non_public": (1, 1), "county": (1, 0),
            "township": (1, 0)}
    client.post("/chifeng/logout")
    login("chifeng", "cf-ag")
    page = client.get(f"/chifeng/agency/sessions/{session_id}").get_data(as_text=True)
    roster = page[page.index("评审通过人员名单（分组）"):]
    assert roster.index("非公有制领域组") < roster.index("民企乙")
    assert "通过1人" in roster and "冠军丙" not in roster
    resp = client.get(f"/chifeng/agency/sessions/{session_id}/roster.xlsx")
    assert resp.status_code == 200
    rows = [[c for c in r if c is not None] for r in
            load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True)]
    sections = [r[0] for r in rows[2:] if len(r) == 1]
    assert sections == ["普通组（通过1人）", "专精特新中小企业、制造业单项冠军企业组（通过0人）",
                        "非公有制领域组（通过1人）", "旗县区组（通过0人）", "苏木乡镇组（通过0人）"]
    names = [r[2] for r in rows if len(r) == 7 and isinstance(r[0], int)]
    assert names == ["城市甲", "民企乙"]


def chair_of(s):
    return next(m for m in s.members if m.role == "chair" and m.status == "active")


@pytest.mark.rule("CF-GROUP-1")
def test_ranking_within_a_group_follows_votes_then_mean_score(mixed):
    s, ag, apps = mixed
    groups.choose(CF(), f.actor(ag), s, ["county", "township"])
    extra = _file("城市己", "cf-city-soe")
    sessions.add_files(f.actor(ag), s, [extra.id])
    general = [it for it in s.items if (it.grp or "general") == "general"]
    assert len(general) == 2
    for i in range(6):
        f.make_expert("chifeng", f"赤峰专家{i}", level="associate_senior", title_year=2018,
                      role="chair" if i == 0 else "member", private=i == 5)
    transition(CF(), s, "draw", f.actor(ag))
    member = next(m for m in s.members if m.status == "active")
    first, second = sorted(general, key=lambda it: it.code)
    db.session.add_all([Score(item_id=first.id, member_id=member.id, scores={"a": 60}),
                        Score(item_id=second.id, member_id=member.id, scores={"a": 85})])
    db.session.commit()
    ranked = next(g for g in groups.table(s) if g["group"] == "general")["rows"]
    assert [(r["rank"], r["item"].code, r["mean"]) for r in ranked] == [
        (1, second.code, 85.0), (2, first.code, 60.0)]


@pytest.mark.rule("CF-GROUP-1")
def test_enterprise_honours_declared_at_registration_put_its_staff_in_their_group(app, client):
    page = client.get("/chifeng/employers/register").get_data(as_text=True)
    assert "专精特新中小企业" in page and "制造业单项冠军企业" in page
    assert "专精特新中小企业" not in client.get("/beijing/employers/register").get_data(as_text=True)
    form = {"name": "赤峰某精密制造有限公司", "uscc": "91150402MA0N123457", "district": "songshan",
            "employer_kind": "state_owned", "clerk_name": "王五", "clerk_mobile": "13912345670",
            "password": "long-enough-pw", "enterprise_flags": ["single_champion", "bogus"]}
    resp = client.post("/chifeng/employers/register", data=form)
    assert "请选择列出的企业称号" in resp.get_data(as_text=True)
    form["enterprise_flags"] = ["single_champion"]
    resp = client.post("/chifeng/employers/register", data=form, follow_redirects=True)
    assert "单位注册已提交" in resp.get_data(as_text=True)
    with app.app_context():
        from app.models import Org
        org = db.session.scalar(sa.select(Org).filter_by(uscc="91150402MA0N123457"))
        assert org.enterprise_flags == ["single_champion"]
        org.status = "approved"
        db.session.commit()
        u = f.make_user("chifeng", "冠军员工", "applicant", org.code, name="冠军员工")
        a = f.make_application("chifeng", u, "cf-2026-intermediate", "cf-eng", "engineering",
                               "intermediate", "mechanical", status="checked")
        assert groups.group_of(CF(), {"enterprise", "non_public"}, a) == "enterprise"
        assert groups.group_of(CF(), {"non_public"}, a) == "general"

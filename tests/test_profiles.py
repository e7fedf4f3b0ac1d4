"""The applicant's profile (业绩档案) lives with the person: items with their evidence, kept
encrypted, verified item by item by the employer (CF-REG-1), and the start of every new
application."""
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, Entry, ItemState, ProfileItem
from app.tenancy import tenants
from app.workflow import applications, profile_items, profiles
from app.workflow.errors import Conflict, Forbidden, Invalid

from . import factories as f
from .conftest import PASSWORD, at

T = "chifeng"
EDUCATION = {"school": "内蒙古工业大学", "major": "机械工程", "degree": "本科",
             "graduated_on": "2008-07-01", "evidence": "毕业证书 编号 101281200805000123"}
WORK = {"org_name": "赤峰机械厂", "position": "工程师", "start": "2008-08-01",
        "evidence": "劳动合同、社保缴费记录"}
PAPER = {"title": "齿轮箱振动故障诊断", "journal": "机械工程学报", "year": "2023",
         "evidence": "期刊封面、目录及正文"}


def cfg():
    return tenants()[T]


@pytest.fixture
def unit(ctx):
    """A county firm, its clerk and one of its applicants."""
    f.make_employer(T, "cf-firm", "songshan")
    clerk = f.make_user(T, "cf-clerk", "employer_clerk", "cf-firm", name="李经办")
    person = f.make_user(T, "cf-a", "applicant", "cf-firm", name="乌日娜")
    return clerk, person


def add(person, kind, data):
    return profile_items.add_item(cfg(), f.actor(person), person, kind, data)


def actions(subject_type, subject_id):
    return [e.action for e in db.session.scalars(sa.select(AuditEvent).filter_by(
        subject_type=subject_type, subject_id=subject_id).order_by(AuditEvent.id))]


def new_application(person, plan="cf-2026-senior", level="associate_senior",
                    when=at(2026, 6, 15, 9)):
    with time_machine.travel(when, tick=False):
        return applications.create_application(
            cfg(), f.actor(person), person, plan_id=f.plan(T, plan).id,
            committee_id=f.committee(T, "nm-eng-senior" if level == "associate_senior"
                                     else "cf-eng").id,
            series="engineering", level=level, specialty="mechanical")


# -- the items ---------------------------------------------------------------------------------

def test_an_item_is_kept_encrypted_with_its_evidence_and_waits_for_the_check(unit):
    _clerk, person = unit
    item = add(person, "education", EDUCATION)
    raw = db.session.execute(sa.text("SELECT data_enc FROM profile_items WHERE id = :i"),
                             {"i": item.id}).scalar_one()
    assert "内蒙古工业大学" not in raw and "101281200805000123" not in raw
    db.session.expire_all()
    item = db.session.get(ProfileItem, item.id)
    assert item.data["school"] == "内蒙古工业大学" and item.data["evidence"] == EDUCATION["evidence"]
    assert item.state == ItemState.unverified.value and actions("profile_items", item.id) == [
        "create"]


def test_bad_input_saves_nothing_and_names_every_problem(unit):
    _clerk, person = unit
    with pytest.raises(Invalid) as e:
        add(person, "education", {**EDUCATION, "school": "", "graduated_on": "2008/07/01",
                                  "evidence": ""})
    assert len(e.value.problems) == 3
    with pytest.raises(Invalid):
        add(person, "hobbies", EDUCATION)
    assert db.session.scalar(sa.select(sa.func.count(ProfileItem.id))) == 0


@pytest.mark.rule("CF-REG-1")
def test_the_employer_verifies_one_item_and_rejects_another_with_a_reason(unit):
    clerk, person = unit
    edu, work = add(person, "education", EDUCATION), add(person, "work", WORK)
    profiles.verify(cfg(), f.actor(clerk), person.id, now=at(2026, 5, 1, 9))  # basic information
    assert profiles.needs_verification(cfg(), person)  # the items are not checked yet
    profiles.verify_item(f.actor(clerk), edu, edu.version, now=at(2026, 5, 2, 9))
    with pytest.raises(Invalid):
        profiles.reject_item(f.actor(clerk), work, work.version, "  ")
    profiles.reject_item(f.actor(clerk), work, work.version, "起始日期与劳动合同不符",
                         now=at(2026, 5, 2, 9))
    assert (edu.state, edu.checked_by, work.state, work.reject_reason) == (
        "verified", clerk.id, "rejected", "起始日期与劳动合同不符")
    assert profiles.needs_verification(cfg(), person)  # a rejected work record blocks
    reject = db.session.scalar(sa.select(AuditEvent).filter_by(
        subject_type="profile_items", subject_id=work.id, action="reject"))
    assert (reject.actor_id, reject.actor_org_id, reject.reason, reject.to_state) == (
        clerk.id, clerk.org_id, "起始日期与劳动合同不符", "rejected")
    # The applicant corrects it; the clerk checks the corrected item and the gate opens.
    profile_items.update_item(cfg(), f.actor(person), work, work.version,
                              {**WORK, "start": "2008-09-01"})
    assert work.state == "unverified" and work.reject_reason is None
    profiles.verify_item(f.actor(clerk), work, work.version)
    assert not profiles.needs_verification(cfg(), person)


@pytest.mark.rule("CF-REG-1")
def test_changing_a_verified_item_takes_the_verification_away(unit):
    clerk, person = unit
    edu = add(person, "education", EDUCATION)
    profiles.verify(cfg(), f.actor(clerk), person.id)
    seen = edu.version
    profiles.verify_item(f.actor(clerk), edu, seen)
    assert profiles.is_verified(person)
    unchanged = profile_items.update_item(cfg(), f.actor(person), edu, seen, EDUCATION)
    assert unchanged.state == "verified"  # saving the same text changes nothing
    profile_items.update_item(cfg(), f.actor(person), edu, seen, {**EDUCATION, "degree": "硕士"})
    assert (edu.state, edu.checked_by, edu.version) == ("unverified", None, seen + 1)
    assert not profiles.is_verified(person)
    # A clerk's page loaded before the change verifies nothing.
    with pytest.raises(Conflict):
        profiles.verify_item(f.actor(clerk), edu, seen)
    assert edu.state == "unverified"
    assert actions("profile_items", edu.id) == ["create", "verify", "update"]


def test_only_the_owner_edits_and_only_the_own_unit_checks(unit):
    clerk, person = unit
    edu = add(person, "education", EDUCATION)
    other = f.make_user(T, "cf-b", "applicant", "cf-firm")
    with pytest.raises(Forbidden):
        profile_items.update_item(cfg(), f.actor(other), edu, edu.version, EDUCATION)
    assert profile_items.own_item(f.actor(other), edu.id) is None
    f.make_employer(T, "cf-other", "hongshan")
    outsider = f.make_user(T, "cf-o-clerk", "employer_clerk", "cf-other")
    assert profiles.staff_item(f.actor(outsider), person.id, edu.id) is None
    assert profiles.staff_item(f.actor(clerk), person.id, edu.id) is edu
    assert profiles.staff_item(f.actor(clerk), other.id, edu.id) is None  # not that person's
    with pytest.raises(Forbidden):
        profiles.verify_item(f.actor(person), edu, edu.version)


def test_deleting_an_item_keeps_the_applications_copy(unit):
    clerk, person = unit
    add(person, "papers", PAPER)
    profiles.verify(cfg(), f.actor(clerk), person.id)
    app = new_application(person)
    item = profile_items.items_of(person)[0]
    with pytest.raises(Conflict):
        profile_items.delete_item(cfg(), f.actor(person), item, item.version + 1)
    profile_items.delete_item(cfg(), f.actor(person), item, item.version)
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Entry).filter_by(application_id=app.id)).all()
    assert [(e.section, e.data["title"], e.profile_item_id) for e in rows] == [
        ("papers", PAPER["title"], None)]


# -- applications start from the profile -------------------------------------------------------

@pytest.mark.rule("CF-REG-1")
def test_a_returning_applicants_new_application_starts_from_last_years_verified_profile(unit):
    clerk, person = unit
    with time_machine.travel(at(2025, 5, 10, 9), tick=False):
        items = [add(person, "education", EDUCATION), add(person, "work", WORK),
                 add(person, "qualification", {"name": "注册机械工程师", "year": "2019",
                                               "evidence": "资格证书"}),
                 add(person, "papers", PAPER)]
        profiles.verify(cfg(), f.actor(clerk), person.id)
        for i in items:
            profiles.verify_item(f.actor(clerk), i, i.version)
    last_year = f.make_application(T, person, "cf-2026-intermediate", "cf-eng", "engineering",
                                   "intermediate", specialty="mechanical", complete=False)
    last_year.created_at = datetime(2025, 5, 20, 1, 0, tzinfo=at(2025, 1, 1).tzinfo)
    db.session.commit()
    n = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    app = new_application(person)  # nothing verified again, nothing typed again
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == n + 1  # the create
    by_section = {e.section: e for e in app.entries}
    assert sorted(by_section) == ["education", "papers", "work"]  # qualifications: no section
    copied = by_section["education"].data
    assert "evidence" not in copied and all(
        copied[k] == v for k, v in EDUCATION.items() if k != "evidence")
    assert {e.profile_item.state for e in app.entries} == {"verified"}
    assert {e.profile_item_id for e in app.entries} == {items[0].id, items[1].id, items[3].id}


def test_a_rejected_item_stays_out_of_the_new_application(unit):
    clerk, person = unit
    edu, paper = add(person, "education", EDUCATION), add(person, "papers", PAPER)
    profiles.verify(cfg(), f.actor(clerk), person.id)
    profiles.verify_item(f.actor(clerk), edu, edu.version)
    profiles.reject_item(f.actor(clerk), paper, paper.version, "刊物非核心期刊")
    app = new_application(person)
    assert [e.section for e in app.entries] == ["education"]


def test_old_application_entries_come_into_the_profile_once(unit):
    clerk, person = unit
    profiles.verify(cfg(), f.actor(clerk), person.id)
    old = f.make_application(T, person, "cf-2026-intermediate", "cf-eng", "engineering",
                             "intermediate", specialty="mechanical")  # education and work rows
    items = profile_items.profile_of(f.actor(person), person)
    assert [(i.kind, i.state) for i in items] == [("education", "unverified"),
                                                   ("work", "unverified")]
    assert items[0].data["school"] == "北京工业大学" and items[0].data["evidence"] == ""
    assert {e.profile_item_id for e in old.entries} == {i.id for i in items}
    assert actions("users", person.id).count("import_profile") == 1
    for i in items:
        profile_items.delete_item(cfg(), f.actor(person), i, i.version)
    assert profile_items.profile_of(f.actor(person), person) == []  # not brought in again


def test_a_first_application_brings_the_old_entries_along(unit):
    """Demo data from before profiles: the next application starts from the last one."""
    clerk, person = unit
    profiles.verify(cfg(), f.actor(clerk), person.id)
    f.make_application(T, person, "cf-2026-intermediate", "cf-eng", "engineering",
                       "intermediate", specialty="mechanical")
    app = new_application(person)
    assert sorted(e.section for e in app.entries) == ["education", "work"]
    assert all(e.profile_item.state == "unverified" for e in app.entries)
    assert len(profile_items.items_of(person)) == 2


@pytest.mark.rule("CF-REG-1")
def test_the_clerks_list_counts_people_with_items_to_check(unit):
    clerk, person = unit
    profiles.verify(cfg(), f.actor(clerk), person.id)
    assert profiles.unverified_staff(person.tenant_id, clerk.org_id) == []
    edu = add(person, "education", EDUCATION)
    assert profiles.unverified_staff(person.tenant_id, clerk.org_id) == [person]
    profiles.verify_item(f.actor(clerk), edu, edu.version)
    assert profiles.unverified_staff(person.tenant_id, clerk.org_id) == []


# -- the pages ---------------------------------------------------------------------------------

def sign_in(app, username):
    c = app.test_client()
    r = c.post(f"/{T}/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303
    return c


@pytest.fixture
def people(app):
    with app.app_context():
        f.make_employer(T, "cf-firm", "songshan")
        f.make_user(T, "cf-clerk", "employer_clerk", "cf-firm", name="李经办")
        pid = f.make_user(T, "cf-a", "applicant", "cf-firm", name="乌日娜").id
        f.make_user(T, "cf-b", "applicant", "cf-firm", name="其木格")
        f.make_employer(T, "cf-other", "hongshan")
        f.make_user(T, "cf-o-clerk", "employer_clerk", "cf-other")
        f.make_user(T, "cf-o-a", "applicant", "cf-other", name="格日乐")
    return pid


def test_the_applicant_keeps_the_profile_on_its_own_page_without_javascript(app, people):
    c = sign_in(app, "cf-a")
    assert "/chifeng/me/profile" in c.get("/chifeng/me/").get_data(as_text=True)
    r = c.post("/chifeng/me/profile/education", data=EDUCATION)
    assert r.status_code == 303 and r.headers["Location"].endswith("/chifeng/me/profile#education")
    page = c.get("/chifeng/me/profile").get_data(as_text=True)
    assert "内蒙古工业大学" in page and "毕业证书 编号 101281200805000123" in page
    assert "待单位核验" in page
    # A refused add says why and keeps what was typed.
    r = c.post("/chifeng/me/profile/work", data={**WORK, "start": "去年"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "格式应为年-月-日" in body and "赤峰机械厂" in body
    assert c.post("/chifeng/me/profile/hobbies", data=WORK).status_code == 404
    with app.app_context():
        item = db.session.scalar(sa.select(ProfileItem).filter_by(user_id=people))
        iid, version = item.id, item.version
    assert "内蒙古工业大学" in c.get(f"/chifeng/me/profile/items/{iid}").get_data(as_text=True)
    r = c.post(f"/chifeng/me/profile/items/{iid}",
               data={**EDUCATION, "degree": "硕士", "version": version})
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(ProfileItem, iid).data["degree"] == "硕士"
    # Another applicant of the same unit, or of another, gets 404 for the id.
    for other in ("cf-b", "cf-o-a"):
        o = sign_in(app, other)
        assert o.get(f"/chifeng/me/profile/items/{iid}").status_code == 404
        assert o.post(f"/chifeng/me/profile/items/{iid}/delete",
                      data={"version": version + 1}).status_code == 404
    r = c.post(f"/chifeng/me/profile/items/{iid}/delete", data={"version": version + 1})
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(ProfileItem, iid) is None


@pytest.mark.rule("CF-REG-1")
def test_the_clerk_sees_exactly_the_items_and_verifies_or_rejects_each(app, people):
    a = sign_in(app, "cf-a")
    a.post("/chifeng/me/profile/education", data=EDUCATION)
    a.post("/chifeng/me/profile/papers", data=PAPER)
    with app.app_context():
        edu, paper = db.session.scalars(sa.select(ProfileItem).filter_by(user_id=people)
                                        .order_by(ProfileItem.id)).all()
        ids = (edu.id, edu.version, paper.id, paper.version)
    c = sign_in(app, "cf-clerk")
    listing = c.get("/chifeng/office/staff").get_data(as_text=True)
    assert f"/chifeng/office/staff/{people}" in listing
    page = c.get(f"/chifeng/office/staff/{people}").get_data(as_text=True)
    for text in ("内蒙古工业大学", "毕业证书 编号 101281200805000123", "齿轮箱振动故障诊断",
                 "期刊封面、目录及正文", "尚未审核通过"):
        assert text in page
    base = f"/chifeng/office/staff/{people}/items"
    r = c.post(f"{base}/{ids[0]}/verify", data={"version": ids[1]})
    assert r.status_code == 303 and r.headers["Location"].endswith(
        f"/chifeng/office/staff/{people}#item-{ids[0]}")
    r = c.post(f"{base}/{ids[2]}/reject", data={"version": ids[3], "reason": ""},
               follow_redirects=True)
    assert "请填写退回理由" in r.get_data(as_text=True)
    c.post(f"{base}/{ids[2]}/reject", data={"version": ids[3], "reason": "刊物非核心期刊"})
    with app.app_context():
        got = {i.id: (i.state, i.reject_reason) for i in db.session.scalars(
            sa.select(ProfileItem).filter_by(user_id=people))}
        assert got == {ids[0]: ("verified", None), ids[2]: ("rejected", "刊物非核心期刊")}
        assert [e.action for e in db.session.scalars(sa.select(AuditEvent).filter_by(
            subject_type="profile_items", actor_id=db.session.get(
                ProfileItem, ids[0]).checked_by).order_by(AuditEvent.id))] == [
            "verify", "reject"]
    mine = a.get("/chifeng/me/profile").get_data(as_text=True)
    assert "单位已核验" in mine and "李经办" in mine and "刊物非核心期刊" in mine
    home = a.get("/chifeng/home").get_data(as_text=True)
    assert "被单位退回、待修改的业绩档案条目" in home and "/chifeng/me/profile" in home
    # Another unit's clerk: every id is 404.
    o = sign_in(app, "cf-o-clerk")
    assert o.get(f"/chifeng/office/staff/{people}").status_code == 404
    assert o.post(f"{base}/{ids[0]}/reject",
                  data={"version": ids[1], "reason": "x"}).status_code == 404
    # The own clerk, with an item of someone else under this person's URL: 404.
    assert c.post(f"/chifeng/office/staff/{people + 1}/items/{ids[0]}/verify",
                  data={"version": ids[1]}).status_code == 404


def test_the_application_shows_each_rows_verification(app, people):
    a = sign_in(app, "cf-a")
    a.post("/chifeng/me/profile/education", data=EDUCATION)
    with app.app_context():
        clerk = db.session.scalar(sa.select(ProfileItem).filter_by(user_id=people))
        from app.models import User
        person, officer = db.session.get(User, people), db.session.scalar(
            sa.select(User).filter_by(username="cf-clerk"))
        profiles.verify(cfg(), f.actor(officer), people)
        profiles.verify_item(f.actor(officer), clerk, clerk.version)
        app_id = new_application(person).id
    page = a.get(f"/chifeng/me/applications/{app_id}").get_data(as_text=True)
    assert "内蒙古工业大学" in page and "单位已核验" in page


def test_beijing_has_the_profile_but_no_verification_pages(app):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "bj-a", "applicant", "emp")
        uid = f.make_user("beijing", "bj-b", "applicant", "emp").id
        f.make_user("beijing", "bj-clerk", "employer_clerk", "emp")
    a = sign_in_to(app, "beijing", "bj-a")
    assert a.post("/beijing/me/profile/education", data=EDUCATION).status_code == 303
    page = a.get("/beijing/me/profile").get_data(as_text=True)
    assert "内蒙古工业大学" in page and "待单位核验" not in page
    c = sign_in_to(app, "beijing", "bj-clerk")
    assert c.get(f"/beijing/office/staff/{uid}").status_code == 404


def sign_in_to(app, slug, username):
    c = app.test_client()
    assert c.post(f"/{slug}/login", data={"username": username,
                                          "password": PASSWORD}).status_code == 303
    return c



def test_the_profile_page_is_light_and_its_statements_do_not_grow_with_the_items(app, people):
    from .test_views import count_queries
    a = sign_in(app, "cf-a")
    a.post("/chifeng/me/profile/education", data=EDUCATION)
    verify_all(app, "education")
    few = count_queries(app, lambda: a.get("/chifeng/me/profile"))
    c = sign_in(app, "cf-clerk")
    url = f"/chifeng/office/staff/{people}"
    few_clerk = count_queries(app, lambda: c.get(url))
    for _ in range(6):
        a.post("/chifeng/me/profile/papers", data=PAPER)
        a.post("/chifeng/me/profile/work", data=WORK)
    verify_all(app, "work")
    assert count_queries(app, lambda: a.get("/chifeng/me/profile")) == few
    assert count_queries(app, lambda: c.get(url)) == few_clerk
    page = a.get("/chifeng/me/profile", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("Content-Encoding") == "gzip" and len(page.data) <= 8 * 1024


def verify_all(app, kind):
    with app.app_context():
        from app.models import User
        officer = db.session.scalar(sa.select(User).filter_by(username="cf-clerk"))
        for item in db.session.scalars(sa.select(ProfileItem).filter_by(kind=kind)).all():
            profiles.verify_item(f.actor(officer), item, item.version)


def test_the_evidence_scan_is_checked_stored_shown_to_the_clerk_and_removed_with_the_item(
        app, people):
    import io
    from app import uploads
    a = sign_in(app, "cf-a")
    r = a.post("/chifeng/me/profile/education", content_type="multipart/form-data",
               data={**EDUCATION, "scan": (io.BytesIO(b"not a scan"), "毕业证书.pdf")})
    assert r.status_code == 200 and "内蒙古工业大学" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ProfileItem.id))) == 0
    r = a.post("/chifeng/me/profile/education", content_type="multipart/form-data",
               data={**EDUCATION, "scan": (io.BytesIO(f.pdf_bytes()), "毕业证书.pdf")})
    assert r.status_code == 303
    with app.app_context():
        item = db.session.scalar(sa.select(ProfileItem).filter_by(user_id=people))
        iid, first = item.id, item.scan_stored
        assert item.scan_mime == "application/pdf" and item.scan_filename == "毕业证书.pdf"
        assert uploads.read_stored(T, first) is not None
    got = a.get(f"/chifeng/me/profile/items/{iid}/scan")
    assert got.status_code == 200 and got.data.startswith(b"%PDF")
    assert "attachment" in got.headers["Content-Disposition"]
    c = sign_in(app, "cf-clerk")
    page = c.get(f"/chifeng/office/staff/{people}").get_data(as_text=True)
    assert f"/chifeng/office/staff/{people}/items/{iid}/scan" in page
    assert c.get(f"/chifeng/office/staff/{people}/items/{iid}/scan").data.startswith(b"%PDF")
    assert sign_in(app, "cf-o-clerk").get(
        f"/chifeng/office/staff/{people}/items/{iid}/scan").status_code == 404
    assert sign_in(app, "cf-b").get(f"/chifeng/me/profile/items/{iid}/scan").status_code == 404
    # The clerk verified it; a new scan replaces the old one and asks for the check again.
    verify_all(app, "education")
    r = a.post(f"/chifeng/me/profile/items/{iid}", content_type="multipart/form-data",
               data={**EDUCATION, "version": 1, "scan": (io.BytesIO(f.png_bytes()), "p.png")})
    assert r.status_code == 303
    with app.app_context():
        item = db.session.get(ProfileItem, iid)
        assert (item.scan_mime, item.state, item.version) == ("image/png", "unverified", 2)
        second = item.scan_stored
        assert uploads.read_stored(T, first) is None and uploads.read_stored(T, second) is not None
    assert a.post(f"/chifeng/me/profile/items/{iid}/delete",
                  data={"version": 2}).status_code == 303
    with app.app_context():
        assert uploads.read_stored(T, second) is None

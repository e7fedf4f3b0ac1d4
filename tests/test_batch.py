"""Batch actions on a selection of an office's list (app/workflow/batch.py, app/office/batch.py):
the confirmation page lists exactly the files and what will happen, each file is checked by the
transition service (refusals listed with the reason, the rest go through), every file audited,
and the batch undone within its window for files nobody changed since."""
import re
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine
from flask_login import login_user

from app.extensions import db
from app.models import Application, AuditEvent, ReviewStep, SessionItem, Status, User
from app.models.batches import Batch, BatchItem
from app.models.paper import PaperReceipt
from app.tenancy import tenants
from app.workflow import batch as svc
from app.workflow.errors import WindowClosed
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

T = "beijing"
RECOMMEND_DAY = at(2026, 7, 20, 9)


def cfg(slug=T):
    return tenants()[slug]


def _in_notice(n, *, employer="emp", district="haidian", start=True):
    """n Beijing files at their employer: submitted on 8 Jul, notice started the same day
    (unless `start` is False)."""
    if f.org(T, employer) is None:
        f.make_employer(T, employer, district)
    clerk = db.session.scalar(sa.select(User).filter_by(username=f"clerk-{employer}")) \
        or f.make_user(T, f"clerk-{employer}", "employer_clerk", employer)
    out = []
    for i in range(n):
        u = f.make_user(T, f"{employer}-p{i}-{start}", "applicant", employer,
                        name=f"{employer}申报人{i}{'甲' if start else '乙'}")
        a = f.make_application(T, u, "bj-2026", "bj-eng", "engineering", "senior", "mechanical")
        with time_machine.travel(at(2026, 7, 8, 9), tick=False):
            transition(cfg(), a, "submit", f.actor(u), pledge=f.PLEDGE)
            if start:
                transition(cfg(), a, "start_notice", f.actor(clerk))
        out.append(a)
    return out, clerk


def _signin(login, slug, username, when=RECOMMEND_DAY):
    """Signed in at `when` (a session is valid for hours from its sign-in)."""
    with time_machine.travel(when, tick=False):
        return login(slug, username)


def _state(app_id):
    db.session.expire_all()
    a = db.session.get(Application, app_id)
    return a.status, a.holder_org_id, a.route_pos, a.version


@pytest.fixture
def employer(app):
    """Three files in their notice and one not yet noticed, at the same employer, plus a file
    another employer holds."""
    with app.app_context():
        noticed, clerk = _in_notice(3)
        fresh, _ = _in_notice(1, start=False)
        other, _ = _in_notice(1, employer="emp2", district="chaoyang")
        out = {"ok": [a.id for a in noticed], "fresh": fresh[0].id, "other": other[0].id,
               "clerk": clerk.username, "emp": f.org(T, "emp").id,
               "agency": f.org(T, "bj-agency-eng").id,
               "names": {a.id: a.applicant.name for a in noticed + fresh + other}}
        db.session.remove()
    return out


def _preview(client, ids, action="recommend", opinion="同意推荐", slug=T, bp="office", **extra):
    data = {"ids": [str(i) for i in ids], "action": action, "opinion": opinion,
            "no_objection": "y", **extra}
    return client.post(f"/{slug}/{bp}/batch", data=data)


def _confirm(client, page_ids_versions, action="recommend", opinion="同意推荐", slug=T,
             bp="office", **extra):
    data = {"ids": [str(i) for i, _v in page_ids_versions], "action": action,
            "opinion": opinion, "no_objection": "y", **extra}
    for i, v in page_ids_versions:
        data[f"version-{i}"] = str(v)
    return client.post(f"/{slug}/{bp}/batch/confirm", data=data)


def _table(html: str, table_id: str) -> str:
    start = html.find(f'id="{table_id}"')
    return "" if start < 0 else html[start:html.find("</table>", start)]


@pytest.mark.rule("BJ-WIN-2", "BJ-UNIT-1")
def test_confirmation_lists_exactly_the_selection_and_the_refused_with_reason(app, login,
                                                                            employer):
    client = _signin(login, T, employer["clerk"])
    chosen = employer["ok"][:2] + [employer["fresh"]]
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        resp = _preview(client, chosen)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    ok, refused = _table(html, "batch-ok"), _table(html, "batch-refused")
    names = employer["names"]
    for i in employer["ok"][:2]:
        assert names[i] in ok and f'name="version-{i}"' in ok
    # The file whose notice never started is refused by the service's own check (BJ-WIN-2).
    assert names[employer["fresh"]] in refused and "须先进行单位内部公示" in refused
    assert names[employer["fresh"]] not in ok
    # Exactly the selection: the third file in notice, not selected, is not listed.
    assert names[employer["ok"][2]] not in html
    assert "转至" in ok  # what will happen: the next office on the route
    with app.app_context():  # the preview wrote nothing
        assert db.session.scalar(sa.select(sa.func.count(Batch.id))) == 0
        assert all(_state(i)[0] == Status.in_notice.value for i in employer["ok"])


def test_the_confirmation_page_speaks_the_users_language(app, login, employer):
    client = _signin(login, T, employer["clerk"])
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        html = client.post(f"/{T}/office/batch?lang=en", data={
            "ids": [str(employer["ok"][0]), str(employer["fresh"])], "action": "recommend",
            "opinion": "同意推荐", "no_objection": "y"}).get_data(as_text=True)
    assert "Confirm batch action" in html and "1 files will be handled" in html
    assert "An internal notice must first be posted" in _table(html, "batch-refused")


def test_the_undo_window_follows_the_configuration(app, login, employer):
    app.config["BATCH_UNDO_MINUTES"] = 30
    client = _signin(login, T, employer["clerk"])
    batch_id, versions = _recommend_batch(app, client, employer)
    with time_machine.travel(at(2026, 7, 20, 9, 25), tick=False):
        client.post(f"/{T}/office/batch/{batch_id}/undo")
    with app.app_context():
        assert all(_state(i)[0] == Status.in_notice.value for i, _v in versions)


@pytest.mark.rule("BJ-WIN-2", "BJ-UNIT-1")
def test_batch_recommend_goes_through_file_by_file_with_audit_and_one_refusal(app, login,
                                                                            employer):
    client = _signin(login, T, employer["clerk"])
    with app.app_context():
        versions = [(i, _state(i)[3]) for i in employer["ok"]]
        fresh_before = _state(employer["fresh"])
    # The fresh file is confirmed too (as if its page were stale): refused, the rest go on.
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        resp = _confirm(client, versions + [(employer["fresh"], fresh_before[3])])
        assert resp.status_code == 303
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已办理3件" in page and "未办理1件" in page and "须先进行单位内部公示" in page
    assert 'id="batch-undo"' in page  # within the window, for the one who did it
    with app.app_context():
        for i, v in versions:
            assert _state(i) == (Status.recommended.value, employer["agency"], 1, v + 1)
            events = db.session.scalars(sa.select(AuditEvent).filter_by(
                subject_type="applications", subject_id=i, action="recommend")).all()
            assert len(events) == 1 and events[0].reason == "同意推荐"
            # BJ-UNIT-1: the reviewer and the opinion, per file
            step = db.session.scalar(sa.select(ReviewStep).filter_by(application_id=i,
                                                                     action="recommend"))
            assert step.opinion == "同意推荐" and step.reviewer_name == employer["clerk"]
        assert _state(employer["fresh"]) == fresh_before  # nothing half-done
        assert not db.session.scalars(sa.select(AuditEvent).filter_by(
            subject_id=employer["fresh"], action="recommend")).all()
        b = db.session.scalar(sa.select(Batch))
        assert b.action == "recommend" and len([i for i in b.items if i.done]) == 3
        refused = next(i for i in b.items if not i.done)
        assert refused.application_id == employer["fresh"] and "公示" in refused.reason


def _recommend_batch(app, client, employer, ids=None):
    ids = ids or employer["ok"]
    with app.app_context():
        versions = [(i, _state(i)[3]) for i in ids]
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        resp = _confirm(client, versions)
    with app.app_context():
        return db.session.scalar(sa.select(Batch.id).order_by(Batch.id.desc())), versions


@pytest.mark.rule("BJ-WIN-2")
def test_undo_restores_each_file_and_adds_audit_rows(app, login, employer):
    client = _signin(login, T, employer["clerk"])
    batch_id, versions = _recommend_batch(app, client, employer)
    with time_machine.travel(at(2026, 7, 20, 9, 5), tick=False):
        resp = client.post(f"/{T}/office/batch/{batch_id}/undo")
        assert resp.status_code == 303
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已撤销" in page and 'id="batch-undo"' not in page
    with app.app_context():
        for i, v in versions:
            # back with the employer, in its notice, at the route's start; a new version
            assert _state(i) == (Status.in_notice.value, employer["emp"], 0, v + 2)
            undo = db.session.scalar(sa.select(AuditEvent).filter_by(subject_id=i,
                                                                     action="batch_undo"))
            assert undo.reason == f"撤销批量办理 #{batch_id}"
            assert (undo.from_state, undo.to_state) == ("recommended", "in_notice")
            # the audit trail keeps the recommendation; the withdrawn step is off the file
            assert db.session.scalar(sa.select(AuditEvent).filter_by(subject_id=i,
                                                                     action="recommend"))
            assert not db.session.scalar(sa.select(ReviewStep).filter_by(application_id=i,
                                                                         action="recommend"))
        assert all(i.undone_at for i in db.session.get(Batch, batch_id).items)
    # The file may be recommended again as usual.
    with app.app_context():
        a = db.session.get(Application, versions[0][0])
        clerk = db.session.scalar(sa.select(User).filter_by(username=employer["clerk"]))
        with time_machine.travel(at(2026, 7, 21, 9), tick=False):
            transition(cfg(), a, "recommend", f.actor(clerk), opinion="同意", no_objection=True)
        assert a.status == Status.recommended.value


def test_undo_refused_after_the_window(app, login, employer):
    client = _signin(login, T, employer["clerk"])
    batch_id, versions = _recommend_batch(app, client, employer)
    with time_machine.travel(at(2026, 7, 20, 9, 11), tick=False):
        page = client.get(f"/{T}/office/batch/{batch_id}").get_data(as_text=True)
        assert 'id="batch-undo"' not in page  # the button is gone
        resp = client.post(f"/{T}/office/batch/{batch_id}/undo")
        assert resp.status_code == 303
        assert "已不能撤销" in client.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        for i, v in versions:
            assert _state(i)[0] == Status.recommended.value and _state(i)[3] == v + 1
        assert not db.session.scalars(sa.select(AuditEvent).filter_by(action="batch_undo")).all()
        # The service refuses it too, whoever calls it.
        b = db.session.get(Batch, batch_id)
        user = db.session.get(User, b.actor_id)
        with pytest.raises(WindowClosed):
            svc.undo(cfg(), user, b, now=at(2026, 7, 20, 9, 11))


@pytest.mark.rule("BJ-WIN-3")
def test_undo_leaves_a_file_changed_since_and_says_why(app, login, employer):
    client = _signin(login, T, employer["clerk"])
    batch_id, versions = _recommend_batch(app, client, employer)
    changed = versions[0][0]
    with app.app_context():  # the agency has checked one file meanwhile
        agency = f.make_user(T, "ag", "agency_clerk", "bj-agency-eng")
        with time_machine.travel(at(2026, 7, 20, 9, 2), tick=False):
            transition(cfg(), db.session.get(Application, changed), "check_pass", f.actor(agency))
        checked = _state(changed)
    with time_machine.travel(at(2026, 7, 20, 9, 5), tick=False):
        resp = client.post(f"/{T}/office/batch/{batch_id}/undo")
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"#{changed} 未能撤销" in page and "已被他人处理" in page
    with app.app_context():
        assert _state(changed) == checked
        for i, _v in versions[1:]:
            assert _state(i)[0] == Status.in_notice.value
        assert len(db.session.scalars(sa.select(AuditEvent).filter_by(
            action="batch_undo")).all()) == 2


def test_only_the_user_who_did_it_may_undo(app, login, employer):
    client = _signin(login, T, employer["clerk"])
    batch_id, versions = _recommend_batch(app, client, employer)
    with app.app_context():
        f.make_user(T, "clerk-emp-2", "employer_clerk", "emp")
    other = _signin(login, T, "clerk-emp-2")
    with time_machine.travel(at(2026, 7, 20, 9, 3), tick=False):
        page = other.get(f"/{T}/office/batch/{batch_id}").get_data(as_text=True)
        assert 'id="batch-undo"' not in page
        assert other.post(f"/{T}/office/batch/{batch_id}/undo").status_code == 303
    with app.app_context():
        assert all(_state(i)[0] == Status.recommended.value for i, _v in versions)


def test_other_offices_and_tenants_ids_are_refused_and_never_named(app, login, employer):
    with app.app_context():
        f.make_employer("chifeng", "cf-firm", "songshan")
        u = f.make_user("chifeng", "cf-p0", "applicant", "cf-firm", name="赤峰外人")
        foreign = f.make_application("chifeng", u, "cf-2026-junior", "cf-eng", "engineering",
                                     "junior_assistant", "mechanical").id
    client = _signin(login, T, employer["clerk"])
    chosen = [employer["ok"][0], employer["other"], foreign]
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        html = _preview(client, chosen).get_data(as_text=True)
        assert employer["names"][employer["other"]] not in html and "赤峰外人" not in html
        assert "不在本单位办理" in html and str(employer["other"]) in html
        resp = _confirm(client, [(i, 1) for i in chosen[1:]])
    assert resp.status_code == 303
    with app.app_context():
        assert _state(employer["other"])[0] == Status.in_notice.value
        assert db.session.get(Application, foreign).status == Status.draft.value
        assert db.session.scalar(sa.select(sa.func.count(BatchItem.id))) == 0
    # Another office's batch, and a batch seen from the other tenant: 404.
    batch_id, _ = _recommend_batch(app, client, employer)
    with app.app_context():
        f.make_user(T, "clerk-2", "employer_clerk", "emp2")
        f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-firm")
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        c = login(T, "clerk-2")
        assert c.get(f"/{T}/office/batch/{batch_id}").status_code == 404
        assert c.post(f"/{T}/office/batch/{batch_id}/undo").status_code == 404
        c.post(f"/{T}/logout")
        c = login("chifeng", "cf-clerk")
        assert c.get(f"/chifeng/office/batch/{batch_id}").status_code == 404
        assert c.post(f"/chifeng/office/batch/{batch_id}/undo").status_code == 404


def test_a_blank_opinion_or_an_action_the_office_does_not_take_is_refused_whole(app, login,
                                                                               employer):
    """Nothing is previewed; the form comes back with what was entered and the selection kept,
    and once corrected it goes on to the confirmation."""
    client = _signin(login, T, employer["clerk"])
    for action, opinion, message in (("recommend", " ", "请填写推荐意见"),
                                     ("check_pass", "x", "请选择要办理的事项")):
        with time_machine.travel(RECOMMEND_DAY, tick=False):
            resp = _preview(client, employer["ok"], action=action, opinion=opinion)
            html = resp.get_data(as_text=True)
            assert resp.status_code == 422 and message in html
            assert 'id="batch-ok"' not in html  # not the confirmation
            kept = re.findall(r'<input type="hidden" name="ids" value="(\d+)">', html)
            assert sorted(map(int, kept)) == sorted(employer["ok"])
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        html = _preview(client, employer["ok"], opinion=" ").get_data(as_text=True)
        assert '<option value="recommend" selected>' in html and 'checked' in html
        html = _preview(client, kept, opinion="同意推荐").get_data(as_text=True)
        assert 'id="batch-ok"' in html and all(f'value="{i}"' in html for i in employer["ok"])
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        resp = _preview(client, [])
        assert "请先勾选" in client.get(resp.headers["Location"]).get_data(as_text=True)


# -- the agency: check pass, into a session -----------------------------------------------------

@pytest.fixture
def agency_files(app):
    from .test_review import recommended
    with app.app_context():
        apps, _clerk = recommended(3)
        agency = f.make_user(T, "ag", "agency_clerk", "bj-agency-eng")
        out = {"ids": [a.id for a in apps], "names": [a.applicant.name for a in apps]}
        db.session.remove()
    return out


@pytest.mark.rule("BJ-WIN-3")
def test_agency_batch_check_pass_and_its_undo(app, login, agency_files):
    client = _signin(login, T, "ag", at(2026, 8, 1, 9))
    ids = agency_files["ids"]
    with time_machine.travel(at(2026, 8, 1, 9), tick=False):
        html = _preview(client, ids, action="check_pass", opinion="材料齐全", bp="agency")\
            .get_data(as_text=True)
        assert all(n in _table(html, "batch-ok") for n in agency_files["names"])
        with app.app_context():
            versions = [(i, _state(i)[3]) for i in ids]
        resp = _confirm(client, versions, action="check_pass", opinion="材料齐全", bp="agency")
        assert resp.status_code == 303 and "/agency/batch/" in resp.headers["Location"]
        with app.app_context():
            assert all(_state(i)[0] == Status.checked.value for i in ids)
            assert len(db.session.scalars(sa.select(AuditEvent).filter_by(
                action="check_pass")).all()) == 3
            batch_id = db.session.scalar(sa.select(Batch.id))
    with time_machine.travel(at(2026, 8, 1, 9, 4), tick=False):
        client.post(f"/{T}/agency/batch/{batch_id}/undo")
    with app.app_context():
        assert all(_state(i)[0] == Status.recommended.value for i in ids)
        assert not db.session.scalars(sa.select(ReviewStep).filter_by(action="check_pass")).all()


def test_agency_puts_paid_files_into_a_draft_session_and_takes_them_out_again(app, login,
                                                                            agency_files):
    from app.workflow import sessions
    from .test_review import CFG
    ids = agency_files["ids"]
    with app.app_context():
        agency = db.session.scalar(sa.select(User).filter_by(username="ag"))
        f.file_committee(T, "bj-eng")
        s = sessions.create_session(
            CFG(), f.actor(agency), committee_id=f.committee(T, "bj-eng").id,
            plan_id=f.plan(T, "bj-2026").id, series="engineering", level="senior",
            specialties=[], panel_size=5, held_on=date(2026, 11, 20))
        with time_machine.travel(at(2026, 8, 1, 9), tick=False):
            for i in ids[:2]:  # the third stays unpaid
                a = db.session.get(Application, i)
                transition(CFG(), a, "check_pass", f.actor(agency))
                transition(CFG(), a, "confirm_payment", f.actor(agency), reference="BANK-1")
        session_id = s.id
        versions = [(i, _state(i)[3]) for i in ids]
    client = _signin(login, T, "ag", at(2026, 8, 2, 9))
    with time_machine.travel(at(2026, 8, 2, 9), tick=False):
        html = _preview(client, ids, action="to_session", opinion="", bp="agency",
                        session=str(session_id)).get_data(as_text=True)
        assert agency_files["names"][2] in _table(html, "batch-refused")
        resp = _confirm(client, versions, action="to_session", opinion="", bp="agency",
                        session=str(session_id))
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "已办理2件" in page and "未办理1件" in page
    with app.app_context():
        assert [_state(i)[0] for i in ids] == ["in_review", "in_review", "recommended"]
        assert len(db.session.scalars(sa.select(SessionItem).filter_by(
            session_id=session_id)).all()) == 2
        assert len(db.session.scalars(sa.select(AuditEvent).filter_by(
            action="to_session")).all()) == 2
        batch_id = db.session.scalar(sa.select(Batch.id))
    with time_machine.travel(at(2026, 8, 2, 9, 5), tick=False):
        client.post(f"/{T}/agency/batch/{batch_id}/undo")
    with app.app_context():
        assert [_state(i)[0] for i in ids[:2]] == ["paid", "paid"]
        assert not db.session.scalars(sa.select(SessionItem).filter_by(
            session_id=session_id)).all()


# -- Chifeng: reporting up tier by tier, paper receipts ------------------------------------------

@pytest.mark.rule("CF-ROUTE-1")
def test_a_department_reports_a_selection_up_to_the_county_bureau(app, login):
    from .test_chifeng_routing import applicant, clerk, department, draft, holder_code, PLAN
    with app.app_context():
        department("cf-agri-aohan", "county", "aohan", "cf-hr-aohan")
        f.make_employer("chifeng", "cf-station", "aohan", parent="cf-agri-aohan")
        ids = []
        for n in range(2):
            a = draft(applicant(f"cf-eng-{n}", "cf-station"), "cf-eng", "engineering",
                      "intermediate", "mechanical")
            with time_machine.travel(at(2026, 6, 1, 9), tick=False):
                transition(cfg("chifeng"), a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
                transition(cfg("chifeng"), a, "start_notice", f.actor(clerk("cf-station")))
            with time_machine.travel(at(2026, 6, 15, 9), tick=False):
                transition(cfg("chifeng"), a, "recommend", f.actor(clerk("cf-station")),
                           opinion="同意", no_objection=True)
            assert holder_code(a) == "cf-agri-aohan"
            ids.append(a.id)
        dept = clerk("cf-agri-aohan").username
        hr = f.org("chifeng", "cf-hr-aohan")
        hr_id, hr_name = hr.id, hr.name
    client = _signin(login, "chifeng", dept, at(2026, 6, 16, 9))
    with time_machine.travel(at(2026, 6, 16, 9), tick=False):
        html = _preview(client, ids, opinion="审核通过", slug="chifeng").get_data(as_text=True)
        assert "审核通过，逐级上报" in html and hr_name in _table(html, "batch-ok")
        with app.app_context():
            versions = [(i, _state(i)[3]) for i in ids]
        _confirm(client, versions, opinion="审核通过", slug="chifeng")
    with app.app_context():
        assert all(_state(i)[:3] == (Status.submitted.value, hr_id, 2) for i in ids)


@pytest.mark.rule("CF-PAPER-1")
def test_paper_received_in_a_batch_matches_online_and_cannot_be_undone(app, login):
    from app.workflow import paper
    from .test_paper import submitted_junior
    with app.app_context():
        f.make_employer("chifeng", "cf-firm", "songshan")
        f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-firm")
        apps = [submitted_junior(f.make_user("chifeng", f"cf-p{i}", "applicant", "cf-firm"))
                for i in range(2)]
        ids = [a.id for a in apps]
        versions = [(a.id, a.version) for a in apps]
        assert all(paper.needs_paper(a) for a in apps)
    client = _signin(login, "chifeng", "cf-clerk", at(2026, 5, 13, 9))
    with time_machine.travel(at(2026, 5, 13, 9), tick=False):
        html = _preview(client, ids, action="receive_paper", opinion="", slug="chifeng")\
            .get_data(as_text=True)
        assert "与网上申报一致" in _table(html, "batch-ok") and "不能撤销" in html
        resp = _confirm(client, versions, action="receive_paper", opinion="", slug="chifeng")
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "已办理2件" in page and 'id="batch-undo"' not in page
    with app.app_context():
        receipts = db.session.scalars(sa.select(PaperReceipt)).all()
        assert sorted(r.application_id for r in receipts) == ids and all(r.matched
                                                                          for r in receipts)
        assert len(db.session.scalars(sa.select(AuditEvent).filter_by(
            action="paper_received")).all()) == 2
        assert all(_state(i)[0] == Status.submitted.value for i in ids)


def test_the_batch_bar_offers_only_this_offices_actions(app, employer):
    with app.app_context():
        f.make_user(T, "ag", "agency_clerk", "bj-agency-eng")
    for username, path, want, never in (
            (employer["clerk"], f"/{T}/office/", ["recommend"], ["check_pass", "to_session"]),
            ("ag", f"/{T}/agency/", ["check_pass", "to_session"], ["recommend"])):
        with app.test_request_context(path):
            user = db.session.scalar(sa.select(User).filter_by(username=username))
            login_user(user)
            app.preprocess_request()
            from flask import render_template
            html = render_template("office/_batch_bar.html")
            assert 'id="batch-form"' in html and "办理所选" in html
            assert f'action="{path}batch"' in html
            for a in want:
                assert f'value="{a}"' in html
            for a in never:
                assert f'value="{a}"' not in html
            db.session.remove()


@pytest.mark.rule("BJ-WIN-2")
def test_check_says_what_transition_would_and_writes_nothing(ctx, employer):
    from app.workflow.errors import Invalid
    from app.workflow.transitions import check
    clerk = db.session.scalar(sa.select(User).filter_by(username=employer["clerk"]))
    events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        check(cfg(), db.session.get(Application, employer["ok"][0]), "recommend", f.actor(clerk),
              opinion="同意", no_objection=True)
        fresh = db.session.get(Application, employer["fresh"])
        with pytest.raises(Invalid) as refused:
            check(cfg(), fresh, "recommend", f.actor(clerk), opinion="同意", no_objection=True)
        with pytest.raises(Invalid) as acted:
            transition(cfg(), fresh, "recommend", f.actor(clerk), opinion="同意",
                       no_objection=True)
    assert str(refused.value.message) == str(acted.value.message)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events
    assert _state(employer["ok"][0])[0] == Status.in_notice.value

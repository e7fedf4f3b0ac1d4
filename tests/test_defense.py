"""Defense (BJ-DEF-1): the agency schedules intermediate and senior files, never junior ones;
each assignment texts the applicant through the outbox; the applicant downloads a PDF notice."""
import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader

from app.extensions import db
from app.jobs import notify as notify_jobs
from app.models import AuditEvent, ReviewSession, SessionItem, SessionStatus, User
from app.models.notify import DefenseAssignment, DefenseSlot, Outbox
from app.workflow import defense
from app.workflow.errors import Conflict, Forbidden, Invalid, WindowClosed
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_notify import FAILING, FailingGateway, FakeQueue
from .test_review import CFG, VOTE_DAY, drawn_session, new_session, recommended

PLACE = "北京市海淀区紫竹院路38号职称评审中心三层答辩室"
COMMITTEE = "北京市工程技术系列职称评审委员会"
NOW = at(2026, 11, 1, 9)

# The defense SMS only (the employer's notice has told the applicant by SMS already).
DEFENSE_SMS = sa.select(sa.func.count(Outbox.id)).where(Outbox.dedupe_key.like("defense:%"))


@pytest.fixture
def agency(ctx):
    return f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")


def senior_session(agency, n=2):
    apps, _ = recommended(n)
    return new_session(agency, apps), apps


def junior_session() -> ReviewSession:
    """A junior (助理级) file in a junior session of the engineering committee."""
    f.make_employer("beijing", "emp-j", "haidian")
    u = f.make_user("beijing", "junior-a", "applicant", "emp-j", name="初级申报人")
    a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "junior_assistant",
                           "mechanical")
    a.status = "in_review"
    c = f.file_committee("beijing", "bj-eng")
    s = ReviewSession(tenant_id=a.tenant_id, committee_id=c.id, plan_id=a.plan_id,
                      series="engineering", level="junior_assistant", panel_size=5,
                      held_on=date(2026, 11, 20))
    db.session.add(s)
    db.session.flush()
    db.session.add(SessionItem(session_id=s.id, application_id=a.id, code="A001"))
    db.session.commit()
    return s


def slot(agency, s, hour=9, minute=30, capacity=5, what="身份证原件、答辩PPT"):
    return defense.create_slot(CFG(), f.actor(agency), s,
                               starts_at=datetime(2026, 11, 20, hour, minute), place=PLACE,
                               what_to_bring=what, capacity=capacity, now=NOW)


# -- the service ---------------------------------------------------------------------------------

@pytest.mark.rule("BJ-DEF-1")
def test_junior_files_are_refused_for_defense(agency):
    s = junior_session()
    with pytest.raises(Invalid) as err:
        slot(agency, s)
    assert "初级职称不答辩" in str(err.value.message)
    # Even a slot written past the service does not take a junior file.
    raw = DefenseSlot(tenant_id=s.tenant_id, session_id=s.id, starts_at=at(2026, 11, 20, 9),
                      place=PLACE, capacity=5)
    db.session.add(raw)
    db.session.commit()
    with pytest.raises(Invalid) as err:
        defense.assign(CFG(), f.actor(agency), s, s.items[0].id, raw.id, now=NOW)
    assert "助理级职称评审不答辩" in str(err.value.message)
    assert db.session.scalar(sa.select(sa.func.count(DefenseAssignment.id))) == 0
    assert db.session.scalar(DEFENSE_SMS) == 0


@pytest.mark.rule("BJ-DEF-1")
def test_assigning_queues_one_sms_and_each_move_another(agency):
    s, _ = senior_session(agency)
    morning = slot(agency, s, capacity=1)
    afternoon = slot(agency, s, hour=14, minute=0)
    assert morning.starts_at == at(2026, 11, 20, 9, 30)  # a form's naive time is Beijing time
    first, second = s.items
    a, sms = defense.assign(CFG(), f.actor(agency), s, first.id, morning.id, now=NOW)
    mobile = first.application.applicant.mobile
    assert (sms.channel, sms.recipient, sms.status) == ("sms", mobile, "queued")
    assert mobile not in sms.recipient_enc  # stored encrypted, read back for sending
    assert sms.dedupe_key == f"defense:{first.id}:{morning.id}:1"
    assert "申报人0" in sms.body and "2026年11月20日 09:30" in sms.body
    assert "答辩通知书已可下载" in sms.body
    with pytest.raises(Invalid, match="已安排在此场次"):
        defense.assign(CFG(), f.actor(agency), s, first.id, morning.id, now=NOW)
    with pytest.raises(Invalid, match="已满"):
        defense.assign(CFG(), f.actor(agency), s, second.id, morning.id, now=NOW)
    _, moved = defense.assign(CFG(), f.actor(agency), s, first.id, afternoon.id, now=NOW)
    _, back = defense.assign(CFG(), f.actor(agency), s, first.id, morning.id, now=NOW)
    assert "14:00" in moved.body and back.dedupe_key == f"defense:{first.id}:{morning.id}:3"
    assert db.session.scalar(DEFENSE_SMS) == 3
    assert db.session.scalar(sa.select(sa.func.count(DefenseAssignment.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).filter_by(
        action="assign_defense")) == 3


def test_slots_need_a_future_time_on_or_before_the_session_day(agency):
    s, _ = senior_session(agency, 1)
    for when in (datetime(2026, 10, 31, 9), datetime(2026, 11, 21, 9)):
        with pytest.raises(Invalid):
            defense.create_slot(CFG(), f.actor(agency), s, starts_at=when, place=PLACE,
                                what_to_bring="", capacity=5, now=NOW)
    with pytest.raises(Invalid):
        defense.create_slot(CFG(), f.actor(agency), s, starts_at=datetime(2026, 11, 20, 9),
                            place=" ", what_to_bring="", capacity=0, now=NOW)
    assert db.session.scalar(sa.select(sa.func.count(DefenseSlot.id))) == 0


def test_only_the_sessions_agency_and_only_before_the_vote(agency):
    s, _ = senior_session(agency, 1)
    sl = slot(agency, s)
    other = f.make_user("beijing", "ag-other", "agency_clerk", "bj-agency-econ")
    with pytest.raises(Forbidden):
        defense.assign(CFG(), f.actor(other), s, s.items[0].id, sl.id, now=NOW)
    with pytest.raises(Invalid, match="时间已过"):
        defense.assign(CFG(), f.actor(agency), s, s.items[0].id, sl.id,
                       now=at(2026, 11, 20, 10))
    s.status = SessionStatus.voting.value
    db.session.commit()
    with pytest.raises(Invalid, match="表决"):
        defense.assign(CFG(), f.actor(agency), s, s.items[0].id, sl.id, now=NOW)
    assert db.session.scalar(DEFENSE_SMS) == 0


# -- the defense record before the ballot -------------------------------------------------------

def _opinions(s):
    """The review group's opinion on every file (BJ23-PANEL-1), so only the defense can hold up
    the ballot in these tests."""
    from app.workflow import review_group
    writer = next(m for m in s.members if m.status == "active")
    for it in s.items:
        review_group.record_opinion(CFG(), f.actor(writer.expert.user), s, it, "符合条件", [])


def _open(s, chair, when=VOTE_DAY):
    present = [m.id for m in s.members if m.status == "active"]
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user), present=present, now=when)


@pytest.mark.rule("BJ-DEF-1")
def test_no_vote_before_each_defense_is_held_or_the_committee_decides_on_an_absence(agency):
    s, apps, chair = drawn_session(agency, 2, 5, ready=False)
    _opinions(s)
    first, second = s.items
    with pytest.raises(Invalid) as refused:
        _open(s, chair)
    assert [str(p) for p in refused.value.problems] == [
        "A001：尚未记录答辩情况（高、中级职称须现场答辩；已答辩或缺席须先记录）。",
        "A002：尚未记录答辩情况（高、中级职称须现场答辩；已答辩或缺席须先记录）。"]
    defense.record_defense(CFG(), f.actor(agency), s, first.id, "held", now=VOTE_DAY)
    with pytest.raises(Invalid, match="请选择答辩情况"):
        defense.record_defense(CFG(), f.actor(agency), s, second.id, "late", now=VOTE_DAY)
    assert defense.record_of(second) is None  # the refusal left no half-made record
    rec = defense.record_defense(CFG(), f.actor(agency), s, second.id, "absent",
                                 "本人未到场，未请假", now=VOTE_DAY)
    with pytest.raises(Invalid) as refused:
        _open(s, chair)
    assert [str(p) for p in refused.value.problems] == [
        "A002：申报人缺席答辩，评委会尚未作出决定。"]
    # The committee decides on the absent file, through its presiding member, with its reasons.
    with pytest.raises(Forbidden):
        defense.decide_absence(CFG(), f.actor(agency), s, second.id, "按材料表决", now=VOTE_DAY)
    with pytest.raises(Invalid, match="评委会对缺席答辩申报的决定"):
        defense.decide_absence(CFG(), f.actor(chair.expert.user), s, second.id, " ",
                               now=VOTE_DAY)
    with pytest.raises(Invalid, match="只有已记录缺席答辩"):
        defense.decide_absence(CFG(), f.actor(chair.expert.user), s, first.id, "表决",
                               now=VOTE_DAY)
    defense.decide_absence(CFG(), f.actor(chair.expert.user), s, second.id,
                           "经评委会研究，依据申报材料进行表决", now=VOTE_DAY)
    assert (rec.status, rec.decision) == ("decided", "经评委会研究，依据申报材料进行表决")
    with pytest.raises(Conflict):  # decided: the agency's record no longer changes
        defense.record_defense(CFG(), f.actor(agency), s, second.id, "held", now=VOTE_DAY)
    _open(s, chair)
    assert s.status == SessionStatus.voting.value
    with pytest.raises(Invalid, match="表决"):  # the ballot is open: the records are fixed
        defense.record_defense(CFG(), f.actor(agency), s, first.id, "absent", now=VOTE_DAY)
    trail = db.session.execute(sa.select(AuditEvent.action, AuditEvent.from_state,
                                         AuditEvent.to_state, AuditEvent.reason)
                               .filter_by(subject_type="defense_records")
                               .order_by(AuditEvent.id)).all()
    assert trail == [("record_defense", "pending", "held", ""),
                     ("record_defense", "pending", "absent", "本人未到场，未请假"),
                     ("decide_absence", "absent", "decided", "经评委会研究，依据申报材料进行表决")]


@pytest.mark.rule("BJ-DEF-1")
def test_reviews_finish_in_early_december_and_junior_files_have_no_defense_record(agency):
    s, apps, chair = drawn_session(agency, 1, 5, ready=False)
    _opinions(s)
    assert f.plan("beijing", "bj-2026").window("review").closes_on == date(2026, 12, 4)
    late = at(2026, 12, 5, 0, 0)
    with pytest.raises(WindowClosed, match="2026-12-04 24:00截止"):
        defense.record_defense(CFG(), f.actor(agency), s, s.items[0].id, "held", now=late)
    defense.record_defense(CFG(), f.actor(agency), s, s.items[0].id, "held",
                           now=at(2026, 12, 4, 23, 59))
    with pytest.raises(WindowClosed, match="2026-12-04 24:00截止"):
        _open(s, chair, when=late)
    _open(s, chair, when=at(2026, 12, 4, 23, 59))
    junior = junior_session()
    assert defense.vote_blockers(CFG(), junior) == []  # junior files do not defend
    with pytest.raises(Invalid, match="初级职称不答辩"):
        defense.record_defense(CFG(), f.actor(agency), junior, junior.items[0].id, "held",
                               now=VOTE_DAY)


# -- the pages -----------------------------------------------------------------------------------

@pytest.fixture
def scheduled(app):
    with app.app_context():
        ag = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        f.make_user("beijing", "ag-other", "agency_clerk", "bj-agency-econ")
        s, apps = senior_session(ag)
        return {"session": s.id, "items": [i.id for i in s.items], "apps": [a.id for a in apps],
                "applicants": [a.applicant.username for a in apps], "agency": ag.id}


@pytest.mark.rule("BJ-DEF-1")
def test_the_request_only_enqueues_the_sms(app, client, login, scheduled, monkeypatch):
    """With a queue, nothing is sent in the request: the row stays queued for the worker."""
    app.config.update(JOBS_INLINE=False, SMS_GATEWAY=FAILING)  # sending would raise
    fake = FakeQueue()
    monkeypatch.setattr(notify_jobs, "queue", lambda: fake)
    FailingGateway.calls = 0
    sid = scheduled["session"]
    with time_machine.travel(NOW, tick=False):
        login("beijing", "ag")
        page = client.get(f"/beijing/agency/sessions/{sid}").get_data(as_text=True)
        assert f"/beijing/defense/sessions/{sid}" in page
        r = client.post(f"/beijing/defense/sessions/{sid}", data={
            "starts_at": "2026-11-20T09:30", "place": PLACE, "capacity": "5",
            "what_to_bring": "身份证原件"})
        assert r.status_code == 303
        with app.app_context():
            slot_id = db.session.scalar(sa.select(DefenseSlot.id))
        r = client.post(f"/beijing/defense/sessions/{sid}/assign",
                        data={"item": scheduled["items"][0], "slot": slot_id})
        assert r.status_code == 303
        assert r.headers["Location"].endswith(f"/beijing/defense/sessions/{sid}")
        page = client.get(f"/beijing/defense/sessions/{sid}").get_data(as_text=True)
    assert PLACE in page and "待发送" in page
    with app.app_context():
        (row,) = db.session.scalars(sa.select(Outbox).where(Outbox.dedupe_key.like("defense:%"))).all()
        assert (row.status, row.attempts, row.sent_at) == ("queued", 0, None)
    assert FailingGateway.calls == 0
    ((fn, args, kwargs),) = fake.enqueued
    assert fn is notify_jobs.send_outbox and args == (row.id,)
    assert kwargs["job_id"] == f"outbox-{row.id}" and kwargs["retry"] is notify_jobs.RETRY


def test_other_agency_gets_404_and_junior_sessions_have_no_defense(app, client, login, scheduled):
    sid = scheduled["session"]
    login("beijing", "ag-other")
    assert client.get(f"/beijing/defense/sessions/{sid}").status_code == 404
    assert client.post(f"/beijing/defense/sessions/{sid}/assign",
                       data={"item": scheduled["items"][0], "slot": 1}).status_code == 404
    with app.app_context():
        junior = junior_session().id
    client.post("/beijing/logout")
    login("beijing", "ag")
    assert "/beijing/defense/sessions/" not in client.get(
        f"/beijing/agency/sessions/{junior}").get_data(as_text=True)
    page = client.get(f"/beijing/defense/sessions/{junior}").get_data(as_text=True)
    assert "初级职称不答辩" in page and 'name="place"' not in page


def _assign_first(app, scheduled):
    with app.app_context():
        ag = db.session.get(User, scheduled["agency"])
        s = db.session.get(ReviewSession, scheduled["session"])
        sl = slot(ag, s)
        _, sms = defense.assign(CFG(), f.actor(ag), s, scheduled["items"][0], sl.id, now=NOW)
        notify_jobs.dispatch([sms.id])  # JOBS_INLINE: the development gateway, at once
        assert db.session.get(Outbox, sms.id).status == "sent"


@pytest.mark.rule("BJ-DEF-1")
def test_applicant_downloads_the_notice_as_a_pdf_with_cjk_glyphs(app, client, login, scheduled):
    _assign_first(app, scheduled)
    app_id = scheduled["apps"][0]
    login("beijing", scheduled["applicants"][0])
    url = f"/beijing/defense/applications/{app_id}/notice.pdf"
    detail = client.get(f"/beijing/me/applications/{app_id}").get_data(as_text=True)
    assert url in detail and "下载答辩通知书" in detail
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF-") and "no-store" in r.headers["Cache-Control"]
    reader = PdfReader(io.BytesIO(r.data))
    text = "".join(p.extract_text() for p in reader.pages)
    flat = "".join(text.split())
    for wanted in ("答辩通知书", "申报人0", "A001", COMMITTEE, PLACE, "2026年11月20日09:30",
                   "身份证原件"):
        assert wanted in flat, wanted
    fonts = {str(font.get_object()["/BaseFont"]) for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    assert any("WenQuanYi" in name for name in fonts), fonts  # real glyphs, not boxes
    with app.app_context():
        assert db.session.scalar(sa.select(DefenseAssignment.notice_downloaded_at)) is not None


@pytest.mark.rule("BJ-DEF-1")
def test_another_applicant_or_tenant_gets_404(app, client, login, scheduled):
    _assign_first(app, scheduled)
    mine, theirs = scheduled["apps"]
    with app.app_context():
        f.make_user("chifeng", "cf-applicant", "applicant")
    login("beijing", scheduled["applicants"][1])
    assert client.get(f"/beijing/defense/applications/{mine}/notice.pdf").status_code == 404
    assert client.get(f"/beijing/defense/applications/{theirs}/notice.pdf").status_code == 404
    assert "下载答辩通知书" not in client.get(
        f"/beijing/me/applications/{theirs}").get_data(as_text=True)
    client.post("/beijing/logout")
    login("chifeng", "cf-applicant")
    assert client.get(f"/chifeng/defense/applications/{mine}/notice.pdf").status_code == 404


@pytest.mark.rule("BJ-DEF-1")
def test_defense_recorded_and_absence_decided_through_the_pages(app, client, login):
    with app.app_context():
        ag = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        s, apps, chair = drawn_session(ag, 2, 5, ready=False)
        _opinions(s)
        sid, (first, second) = s.id, [i.id for i in s.items]
        chair_name = chair.expert.user.username
    with time_machine.travel(VOTE_DAY, tick=False):
        login("beijing", chair_name)
        page = client.get(f"/beijing/expert/sessions/{sid}").get_data(as_text=True)
        assert "以下申报尚不能表决" in page and "A001：尚未记录答辩情况" in page
        refused = client.post(f"/beijing/expert/sessions/{sid}/attendance",
                              data={"present": []}, follow_redirects=True).get_data(as_text=True)
        assert "A002：尚未记录答辩情况" in refused
        client.post("/beijing/logout")
        login("beijing", "ag")
        url = f"/beijing/defense/sessions/{sid}"
        assert 'name="outcome"' in client.get(url).get_data(as_text=True)
        client.post(f"{url}/record", data={"item": first, "outcome": "held"})
        r = client.post(f"{url}/record", data={"item": second, "outcome": "absent",
                                               "note": "未到场"}, follow_redirects=True)
        page = r.get_data(as_text=True)
        assert "已记录答辩情况" in page and "缺席答辩，待评委会决定 · 未到场" in page
        client.post("/beijing/logout")
        login("beijing", chair_name)
        page = client.get(f"/beijing/expert/sessions/{sid}").get_data(as_text=True)
        assert f'id="absence-{second}"' in page and f'id="absence-{first}"' not in page
        assert "A002：申报人缺席答辩，评委会尚未作出决定。" in page
        client.post(f"/beijing/expert/sessions/{sid}/items/{second}/absence",
                    data={"decision": "依据申报材料表决"})
        with app.app_context():
            present = [m.id for m in db.session.get(ReviewSession, sid).members]
        client.post(f"/beijing/expert/sessions/{sid}/attendance", data={"present": present})
        page = client.get(f"/beijing/expert/sessions/{sid}").get_data(as_text=True)
    ballot = page[page.index('id="ballot"'):]
    assert "缺席答辩 · 评委会决定：依据申报材料表决" in ballot
    with app.app_context():
        assert db.session.get(ReviewSession, sid).status == "voting"

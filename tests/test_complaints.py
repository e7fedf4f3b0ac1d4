"""Complaints and reports (AE-COMPLAIN-1, 办法 第九条(七), 第二十八条): refused without evidence,
lead, target and facts; routed, answered by the tenant's deadline and read by reference code."""
import io
import re
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, AuditEvent, User
from app.models.notify import Outbox
from app.models.oversight import Complaint
from app.tenancy import tenants
from app.workflow import complaints as svc
from app.workflow import oversight
from app.workflow.calendar import WorkCalendar
from app.workflow.crypto import decrypt
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_review import recommended

LODGED = at(2026, 9, 1, 10)   # a Tuesday; no holiday in the next two weeks
FULL = {"kind": "procedure", "target": "评审服务机构工作人员", "facts": "评审会未全程录像",
        "evidence": "现场照片三张", "lead": "同场答辩的申报人可以证明"}


@pytest.fixture
def world(app):
    with app.app_context():
        (a,), clerk = recommended()          # held by the engineering agency
        ag = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        f.make_user("beijing", "ag-other", "agency_clerk", "bj-agency-econ")
        f.make_user("beijing", "hr-city", "hr_officer", "bj-hr")
        f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
        return {"app": a.id, "agency": ag.org_id, "employer": a.employer_org_id,
                "applicant": a.applicant.name, "ag": ag}


def _lodge(client, **data):
    return client.post("/beijing/complaints/new", data=data, content_type="multipart/form-data")


@pytest.mark.rule("AE-COMPLAIN-1")
@pytest.mark.parametrize("blank, named", [("evidence", "客观、明确的证据材料"),
                                          ("lead", "可查证的线索"),
                                          ("target", "具体的举报对象"), ("facts", "违规事实")])
def test_a_complaint_missing_evidence_lead_target_or_facts_is_refused_with_the_reason(
        app, client, world, blank, named):
    with time_machine.travel(LODGED, tick=False):
        page = _lodge(client, **{**FULL, blank: "", "agency": world["agency"]}).get_data(
            as_text=True)
    assert "不予受理" in page and named in page
    with app.app_context():
        c = db.session.scalar(sa.select(Complaint))
        assert (c.status, c.routed_org_id, c.due_on) == ("refused", None, None)
        assert named in c.refusal_reason
        assert db.session.scalar(sa.select(AuditEvent.to_state).filter_by(
            subject_type="complaints", subject_id=c.id, action="lodge")) == "refused"
        # the complainant reads the refusal by the code shown
        assert c.code in page
    shown = client.post("/beijing/complaints/lookup", data={"code": c.code}).get_data(as_text=True)
    assert "不予受理" in shown and named in shown


@pytest.mark.rule("AE-COMPLAIN-1")
def test_an_uploaded_scan_counts_as_evidence_and_a_bad_one_is_refused_keeping_nothing(
        app, client, world):
    with time_machine.travel(LODGED, tick=False):
        bad = _lodge(client, **{**FULL, "evidence": "", "agency": world["agency"]},
                     evidence_file=(io.BytesIO(b"not a scan"), "x.pdf"))
        assert bad.status_code == 200
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Complaint.id))) == 0
        _lodge(client, **{**FULL, "evidence": "", "agency": world["agency"]},
               evidence_file=(io.BytesIO(f.pdf_bytes()), "录像缺失证明.pdf"))
    with app.app_context():
        c = db.session.scalar(sa.select(Complaint))
        assert c.status == "open" and c.evidence_mime == "application/pdf"


@pytest.mark.rule("AE-COMPLAIN-1")
def test_accepted_procedure_complaint_goes_to_the_agency_answered_by_the_tenant_deadline(
        app, client, login, world):
    with time_machine.travel(LODGED, tick=False):
        resp = _lodge(client, **FULL, agency=world["agency"], complainant="",
                      mobile="13900001111")
        assert resp.status_code == 303   # a refresh of the result cannot lodge it twice
        page = client.get(resp.location).get_data(as_text=True)
    assert "已受理，将于2026-09-10前答复。" in page and "办理中" in page
    code = re.search(r"<code>([A-Z0-9-]{19})</code>", page).group(1)
    with app.app_context():
        cfg = tenants()["beijing"]
        c = db.session.scalar(sa.select(Complaint).filter_by(code=code))
        assert (c.status, c.routed_org_id) == ("open", world["agency"])
        # Beijing answers within 7 working days (policies.toml), counted on the calendar
        assert cfg.policies.complaint_answer_working_days == 7
        assert c.due_on == WorkCalendar(cfg).nth_workday_after(date(2026, 9, 1), 7) \
            == date(2026, 9, 10)
        other = replace(cfg, policies=cfg.policies.model_copy(
            update={"complaint_answer_working_days": 3}))
        assert svc.due_day(other, date(2026, 9, 1)) == date(2026, 9, 4)
        # the number is kept encrypted, masked for display
        assert c.contact_enc and "13900001111" not in c.contact_enc
        assert c.contact_masked != "13900001111" and c.contact_masked.endswith("1111")
        hr_city = db.session.scalar(sa.select(User).filter_by(username="hr-city"))
        assert [w["count"] for w in oversight.waiting(world["ag"], date(2026, 9, 2))] == [1]
        assert oversight.waiting(hr_city, date(2026, 9, 10)) == []       # not overdue yet
        late = oversight.waiting(hr_city, date(2026, 9, 11))
        assert [(w["endpoint"], w["count"]) for w in late] == [("oversight.complaints_list", 1)]
    # the look-up without an account: being handled
    assert "办理中" in client.post("/beijing/complaints/lookup",
                                  data={"code": code.lower().replace("-", " ")}).get_data(
                                      as_text=True)
    # another agency may not answer it; the agency it was routed to does
    login("beijing", "ag-other")
    assert client.post(f"/beijing/complaints/{c.id}/answer",
                       data={"outcome": "founded", "opinion": "x"}).status_code == 404
    client.post("/beijing/logout")
    with time_machine.travel(at(2026, 9, 8, 10), tick=False):
        login("beijing", "ag")
        assert code in client.get("/beijing/complaints/inbox").get_data(as_text=True)
        client.post(f"/beijing/complaints/{c.id}/answer", data={"outcome": "founded",
                                                                 "opinion": ""})
        with app.app_context():
            assert db.session.get(Complaint, c.id).status == "open"   # no answer, no change
        client.post(f"/beijing/complaints/{c.id}/answer",
                    data={"outcome": "founded", "opinion": "经查属实，已补录并整改。"})
        client.post("/beijing/logout")
    with app.app_context():
        done = db.session.get(Complaint, c.id)
        assert (done.status, done.outcome) == ("answered", "founded")
        assert db.session.scalar(sa.select(AuditEvent.to_state).filter_by(
            subject_type="complaints", subject_id=c.id, action="answer")) == "answered"
        sms = db.session.scalar(sa.select(Outbox).filter_by(dedupe_key=f"complaint-answer-{c.id}"))
        assert decrypt(sms.recipient_enc) == "13900001111" and code in sms.body
        assert "http://127.0.0.1:5000/beijing/complaints/lookup" in sms.body
    shown = client.post("/beijing/complaints/lookup", data={"code": code}).get_data(as_text=True)
    assert "经查属实，已补录并整改。" in shown and "情况属实" in shown


@pytest.mark.rule("AE-COMPLAIN-1")
def test_material_complaint_goes_to_the_office_holding_the_file(app, client, world):
    with time_machine.travel(LODGED, tick=False):
        _lodge(client, **{**FULL, "kind": "material", "target": world["applicant"]},
               employer=world["employer"])
        # a named person with no file at that unit: the unit answers for its staff
        _lodge(client, **{**FULL, "kind": "material", "target": "查无此人"},
               employer=world["employer"])
    with app.app_context():
        found, unknown = db.session.scalars(sa.select(Complaint).order_by(Complaint.id)).all()
        assert (found.application_id, found.routed_org_id) == (world["app"], world["agency"])
        assert (unknown.application_id, unknown.routed_org_id) == (None, world["employer"])


@pytest.mark.rule("AE-COMPLAIN-1")
def test_material_complaint_on_a_file_no_office_holds_follows_the_material_routing(ctx):
    """Chifeng (routing.toml material_objection): a file out of every office's hands goes to the
    county HR bureau on its route."""
    from .world import _chifeng
    _chifeng()
    a = db.session.scalar(sa.select(Application).join(User, User.id == Application.applicant_id)
                          .where(User.name == "乌兰图雅"))
    a.holder_org_id = None
    db.session.commit()
    cfg = tenants()["chifeng"]
    with time_machine.travel(LODGED, tick=False):
        c = svc.lodge(cfg, a.tenant_id, {**FULL, "kind": "material", "target": "乌兰图雅",
                                         "employer": str(a.employer_org_id)})
    county = next(s["org_id"] for s in a.route if s["kind"] == "county_hr")
    assert (c.status, c.application_id, c.routed_org_id) == ("open", a.id, county)
    assert c.due_on == WorkCalendar(cfg).nth_workday_after(
        date(2026, 9, 1), cfg.policies.complaint_answer_working_days)


def test_a_complaint_naming_another_tenants_agency_is_refused_keeping_nothing(app, client, world):
    with app.app_context():
        foreign = f.org("chifeng", "cf-hr").id
    page = _lodge(client, **FULL, agency=foreign).get_data(as_text=True)
    assert "请选择被投诉的评审服务机构" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Complaint.id))) == 0


@pytest.mark.rule("AE-COMPLAIN-1")
def test_the_office_is_reminded_on_the_due_day_and_once_overdue_only_once_each(app, world):
    from app.models import JobRun
    from app.tenancy import tenant_scope
    with app.app_context(), tenant_scope("beijing"):
        cfg = tenants()["beijing"]
        tid = f.tenant_id("beijing")
        with time_machine.travel(LODGED, tick=False):
            c = svc.lodge(cfg, tid, {**FULL, "agency": str(world["agency"])})
        ag = db.session.scalar(sa.select(User).filter_by(username="ag"))
        # the day before: nothing; the due day: one; again the same day: none more
        assert svc.remind(tid, now=at(2026, 9, 9, 9))[1] == []
        assert len(svc.remind(tid, now=at(2026, 9, 10, 9))[1]) == 1
        assert svc.remind(tid, now=at(2026, 9, 10, 15))[1] == []
        late = svc.remind(tid, now=at(2026, 9, 11, 9))[1]
        assert svc.remind(tid, now=at(2026, 9, 14, 9))[1] == []
        rows = db.session.scalars(sa.select(Outbox).where(Outbox.id.in_(late))).all()
        assert [decrypt(r.recipient_enc) for r in rows] == [ag.mobile]
        assert "逾期" in rows[0].body and "/beijing/complaints/inbox" in rows[0].body
        assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).filter_by(
            name="complaint_reminders", status="finished")) == 5
        # once answered, nothing more
        transition(cfg, c, "answer", f.actor(ag), outcome="unfounded",
                                     opinion="经核查，评审会已全程录像。")
        assert svc.remind(tid, now=at(2026, 9, 15, 9))[1] == []


def test_the_complaint_reminder_runs_daily_from_rq_cron(monkeypatch):
    import importlib

    from rq import cron
    registered = []
    monkeypatch.setattr(cron, "register", lambda func, queue, **kw: registered.append(
        (func.__name__, kw.get("cron"))))
    import app.jobs.cron as module
    importlib.reload(module)
    assert ("run_complaint_reminders", "0 9 * * *") in registered

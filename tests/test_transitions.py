"""The transition service on the Beijing flow, with frozen time at the window boundaries."""
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, AuditEvent, ReviewStep, Status
from app.tenancy import tenants
from app.tenancy.sync import set_windows
from app.workflow.errors import Conflict, Forbidden, Invalid, WindowClosed
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at


@pytest.fixture
def bj(ctx):
    """A Beijing employer with one applicant (a complete draft) and its clerk."""
    f.make_employer("beijing", "emp", "haidian")
    f.make_employer("beijing", "other", "chaoyang")
    applicant = f.make_user("beijing", "a1", "applicant", "emp", id_number=f.ID_NUMBERS[1])
    clerk = f.make_user("beijing", "c1", "employer_clerk", "emp")
    clerk2 = f.make_user("beijing", "c2", "employer_clerk", "emp")
    outsider = f.make_user("beijing", "c3", "employer_clerk", "other")
    app = f.make_application("beijing", applicant, "bj-2026", "bj-eng", "engineering",
                             "intermediate", "mechanical")
    return {"cfg": tenants()["beijing"], "app": app, "applicant": applicant, "clerk": clerk,
            "clerk2": clerk2, "outsider": outsider}


def act(d, who, action, when, **kw):
    if action in ("submit", "resubmit"):
        kw.setdefault("pledge", f.PLEDGE)
    with time_machine.travel(when, tick=False):
        transition(d["cfg"], d["app"], action, f.actor(d[who]), **kw)


def audit_rows(app_id):
    return db.session.scalars(sa.select(AuditEvent).filter_by(
        subject_type="applications", subject_id=app_id).order_by(AuditEvent.id)).all()


@pytest.mark.rule("BJ-WIN-1")
def test_submit_on_last_second_of_window(bj):
    act(bj, "applicant", "submit", at(2026, 7, 30, 23, 59, 59))
    assert bj["app"].status == Status.submitted.value
    assert bj["app"].holder_org_id == f.org("beijing", "emp").id


@pytest.mark.rule("BJ-WIN-1")
def test_submit_at_midnight_after_close_is_refused_and_changes_nothing(bj):
    with pytest.raises(WindowClosed) as e:
        act(bj, "applicant", "submit", at(2026, 7, 31, 0, 0, 0))
    assert "2026-07-30" in str(e.value.message)
    db.session.refresh(bj["app"])
    assert bj["app"].status == Status.draft.value and bj["app"].version == 1
    assert [a.action for a in audit_rows(bj["app"].id)] == []


@pytest.mark.rule("BJ-WIN-1")
def test_submit_before_window_opens_is_refused(bj):
    with pytest.raises(WindowClosed):
        act(bj, "applicant", "submit", at(2026, 7, 6, 23, 59, 59))


@pytest.mark.rule("BJ-WIN-2", "BJ-UNIT-1")
def test_employer_recommends_only_after_five_working_days(bj):
    act(bj, "applicant", "submit", at(2026, 7, 8, 9))
    act(bj, "clerk", "start_notice", at(2026, 7, 8, 10))
    app = bj["app"]
    # Posted Wed 8 Jul: working days 9, 10, 13, 14, 15 Jul → the notice runs to the 15th.
    assert (app.notice_starts_on, app.notice_ends_on) == (date(2026, 7, 8), date(2026, 7, 15))
    with pytest.raises(Invalid) as e:
        act(bj, "clerk", "recommend", at(2026, 7, 15, 23, 59, 59), opinion="同意", no_objection=True)
    assert "2026-07-15" in str(e.value.message)
    with pytest.raises(Invalid):  # the clerk must confirm there was no objection
        act(bj, "clerk", "recommend", at(2026, 7, 16, 9), opinion="同意")
    act(bj, "clerk", "recommend", at(2026, 7, 16, 9), opinion="同意推荐", no_objection=True)
    assert app.status == Status.recommended.value
    assert app.holder_org_id == f.org("beijing", "bj-agency-eng").id
    step = db.session.scalars(sa.select(ReviewStep).filter_by(
        application_id=app.id, action="recommend")).one()
    assert (step.reviewer_name, step.opinion, step.org_id) == ("c1", "同意推荐",
                                                             f.org("beijing", "emp").id)


@pytest.mark.rule("BJ-WIN-2")
def test_recommend_needs_an_opinion(bj):
    act(bj, "applicant", "submit", at(2026, 7, 8, 9))
    act(bj, "clerk", "start_notice", at(2026, 7, 8, 10))
    with pytest.raises(Invalid):
        act(bj, "clerk", "recommend", at(2026, 7, 20), opinion="  ", no_objection=True)


@pytest.mark.rule("BJ-WIN-2")
def test_recommend_refused_after_employer_window_closes(bj):
    act(bj, "applicant", "submit", at(2026, 7, 28, 9))
    act(bj, "clerk", "start_notice", at(2026, 7, 28, 10))
    act(bj, "clerk", "recommend", at(2026, 8, 6, 23, 59, 59), opinion="同意", no_objection=True)
    assert bj["app"].status == Status.recommended.value


@pytest.mark.rule("BJ-WIN-2")
def test_recommend_at_midnight_after_employer_close_is_refused(bj):
    act(bj, "applicant", "submit", at(2026, 7, 28, 9))
    act(bj, "clerk", "start_notice", at(2026, 7, 28, 10))
    with pytest.raises(WindowClosed):
        act(bj, "clerk", "recommend", at(2026, 8, 7, 0, 0, 0), opinion="同意", no_objection=True)
    assert bj["app"].status == Status.in_notice.value


@pytest.mark.rule("BJ-WIN-2")
def test_notice_spanning_national_day_counts_official_working_days(bj):
    plan = bj["app"].plan
    set_windows(plan, {"apply": (date(2026, 9, 1), date(2026, 10, 31)),
                       "employer_review": (date(2026, 9, 1), date(2026, 11, 30))})
    db.session.commit()
    act(bj, "applicant", "submit", at(2026, 9, 28, 9))
    act(bj, "clerk", "start_notice", at(2026, 9, 29, 10))
    # After Tue 29 Sep: 30 Sep (1); 1–7 Oct holiday; 8 (2), 9 (3), Sat 10 Oct make-up day (4),
    # Mon 12 Oct (5).
    assert bj["app"].notice_ends_on == date(2026, 10, 12)
    with pytest.raises(Invalid):
        act(bj, "clerk", "recommend", at(2026, 10, 12, 18), opinion="同意", no_objection=True)
    act(bj, "clerk", "recommend", at(2026, 10, 13, 9), opinion="同意", no_objection=True)
    assert bj["app"].status == Status.recommended.value


def test_two_offices_acting_at_once_one_wins(bj):
    act(bj, "applicant", "submit", at(2026, 7, 8, 9))
    seen = bj["app"].version  # both clerks loaded the page at this version
    act(bj, "clerk", "start_notice", at(2026, 7, 8, 10), expected_version=seen)
    with pytest.raises(Conflict) as e:
        act(bj, "clerk2", "return", at(2026, 7, 8, 10), expected_version=seen,
            items=[{"target": "education", "text": "缺学位证"}])
    assert "刷新" in str(e.value.message)
    assert bj["app"].status == Status.in_notice.value
    assert [a.action for a in audit_rows(bj["app"].id)] == ["submit", "start_notice"]


def test_stale_state_is_refused_even_without_a_version(bj):
    act(bj, "applicant", "submit", at(2026, 7, 8, 9))
    with pytest.raises(Conflict):
        act(bj, "applicant", "submit", at(2026, 7, 8, 9))


def test_other_employer_and_applicant_cannot_act(bj):
    act(bj, "applicant", "submit", at(2026, 7, 8, 9))
    with pytest.raises(Forbidden):
        act(bj, "outsider", "start_notice", at(2026, 7, 8, 10))
    with pytest.raises(Forbidden):
        act(bj, "applicant", "start_notice", at(2026, 7, 8, 10))
    with pytest.raises(Forbidden):
        act(bj, "clerk", "submit", at(2026, 7, 8, 10))


@pytest.mark.rule("BJ-WIN-2", "BJ-UNIT-1")
def test_return_lists_every_correction_and_resubmission_restarts_at_employer(bj):
    act(bj, "applicant", "submit", at(2026, 7, 8, 9))
    with pytest.raises(Invalid):
        act(bj, "clerk", "return", at(2026, 7, 8, 10), items=[])
    with pytest.raises(Invalid):  # each correction points at a section or a material
        act(bj, "clerk", "return", at(2026, 7, 8, 10), items=[{"target": "x", "text": "补"}])
    items = [{"target": "material:education", "text": "缺学位证扫描件"},
             {"target": "work", "text": "起止时间不连续"}]
    act(bj, "clerk", "return", at(2026, 7, 8, 10), items=items, opinion="请一次性补正")
    app = bj["app"]
    assert app.status == Status.returned.value and app.holder_org_id is None
    step = db.session.scalars(sa.select(ReviewStep).filter_by(
        application_id=app.id, action="return")).one()
    assert step.items == items and step.reviewer_name == "c1"
    # Corrected after the apply window closed, still inside the employer window.
    act(bj, "applicant", "resubmit", at(2026, 8, 2, 9))
    assert app.status == Status.submitted.value
    assert app.holder_org_id == f.org("beijing", "emp").id and app.notice_ends_on is None


def test_audit_event_records_who_where_and_what(bj):
    with time_machine.travel(at(2026, 7, 8, 9), tick=False):
        transition(bj["cfg"], bj["app"], "submit", f.actor(bj["applicant"], ip="10.1.2.3"), pledge=f.PLEDGE)
    ev = audit_rows(bj["app"].id)[-1]
    assert (ev.actor_id, ev.actor_role, ev.ip, ev.from_state, ev.to_state, ev.tenant_id) == (
        bj["applicant"].id, "applicant", "10.1.2.3", "draft", "submitted", bj["app"].tenant_id)
    assert ev.at.year == 2026 and ev.at.utcoffset().total_seconds() == 0


def test_failed_guard_leaves_no_review_step_or_audit(bj):
    act(bj, "applicant", "submit", at(2026, 7, 8, 9))
    before = (db.session.scalar(sa.select(sa.func.count(ReviewStep.id))),
              db.session.scalar(sa.select(sa.func.count(AuditEvent.id))))
    with pytest.raises(Invalid):
        act(bj, "clerk", "not_recommend", at(2026, 7, 8, 10), opinion="")
    after = (db.session.scalar(sa.select(sa.func.count(ReviewStep.id))),
             db.session.scalar(sa.select(sa.func.count(AuditEvent.id))))
    assert before == after
    assert db.session.get(Application, bj["app"].id).status == Status.submitted.value


@pytest.mark.rule("BJ-WIN-2")
def test_a_notice_that_would_end_on_the_close_cannot_start(bj):
    """Recommendation comes the day after the notice ends; a notice ending on the employer's
    last day (6 Aug) would leave the file stranded, so it is refused and nothing changes."""
    act(bj, "applicant", "submit", at(2026, 7, 29, 9))
    with pytest.raises(Invalid) as e:  # Thu 30 Jul: 31 Jul, 3–6 Aug → ends on the close
        act(bj, "clerk", "start_notice", at(2026, 7, 30, 10))
    assert "2026-08-06" in str(e.value.message)
    db.session.refresh(bj["app"])
    assert bj["app"].status == Status.submitted.value and bj["app"].notice_ends_on is None
    act(bj, "clerk", "start_notice", at(2026, 7, 29, 10))  # Wed: ends Wed 5 Aug
    assert bj["app"].notice_ends_on == date(2026, 8, 5)

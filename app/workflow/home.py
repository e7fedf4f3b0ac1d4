"""What is waiting for a signed-in user's office: the home page's list.

A provider is a function `(user, today) -> list[dict]` returning items
`{"label": lazy msgid, "count": int, "due": date | None, "endpoint": str, "args": dict}`:
what to do, how many, the nearest deadline (None: none applies) and the page that lists them.
A provider returns nothing for users it does not concern, and runs a fixed number of queries
whatever the number of rows.

To add one, append it to PROVIDERS, either as a "module:function" path (imported when first
used, so a workflow module never has to import this one) or as the function itself:

    PROVIDERS.append("app.workflow.complaints:waiting")

or, from the module that defines it, `home.register(waiting)`.
"""
from __future__ import annotations

from datetime import date, timedelta
from importlib import import_module
from typing import Callable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (
    Application, Committee, Expert, JobRun, Org, OrgStatus, PanelMember, PlanWindow,
    ReviewSession, Role, SessionItem, SessionStatus, Status, User,
)
from ..models.fees import FeeWindow
from ..models.results import Objection, Publication, Recheck
from ..tenancy import config_for
from . import abilities
from .inbox import window_closes

Provider = Callable[[User, date], list]

PROVIDERS: list[str | Provider] = [
    "app.workflow.home:applicant_items",
    "app.workflow.profile_items:home_items",
    "app.workflow.home:office_items",
    "app.workflow.home:agency_items",
    "app.workflow.home:expert_items",
    "app.workflow.home:paper_items",
    "app.workflow.home:staff_items",
    "app.workflow.home:employer_items",
    "app.workflow.home:acceptance_items",
    "app.workflow.home:objection_items",
    "app.workflow.home:quota_items",
    "app.workflow.home:job_items",
    "app.workflow.agencies:waiting",
    "app.workflow.expert_pool:waiting",
    "app.workflow.oversight:waiting",
    "app.workflow.staff:waiting",
    "app.workflow.self_review:waiting",
    "app.workflow.unit_scope:waiting",
    "app.workflow.entrustment:waiting",
    "app.workflow.self_review_run:waiting",
]


def register(provider: str | Provider) -> None:
    """Add a provider (a function or a "module:function" path) once."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def _resolve(provider: str | Provider) -> Provider:
    if callable(provider):
        return provider
    module, _, name = provider.partition(":")
    return getattr(import_module(module), name)


def waiting(user: User, today: date) -> list[dict]:
    """Every provider's items with something waiting (count > 0), in the providers' order."""
    out = []
    for provider in PROVIDERS:
        for item in _resolve(provider)(user, today) or ():
            if item.get("count"):
                out.append({"due": None, "args": {}, **item})
    return out


def item(label, count, due, endpoint, **args) -> dict:
    return {"label": label, "count": int(count or 0), "due": due, "endpoint": endpoint,
            "args": args}


def _window(stage: str):
    """An outer-joinable alias of one plan window stage, with its join condition."""
    w = aliased(PlanWindow)
    return w, sa.and_(w.plan_id == Application.plan_id, w.stage == stage)


def _office_close():
    """The day the offices' review window closes for a file (employer review where the plan has
    it, else the tier report), or the agency's check while a correction is under way (the
    window the transition service applies: transitions.office_stage_for), and the joins."""
    return window_closes(
        sa.case((Application.correction_due.is_not(None), "agency_check"),
                else_="employer_review"),
        Application.correction_due.is_(None))


def _outer(q, joins):
    for alias, on in joins:
        q = q.outerjoin(alias, on)
    return q


# -- the built-in providers ----------------------------------------------------------------------

def applicant_items(user: User, today: date) -> list[dict]:
    """Drafts to submit, returned files to correct, fees to pay: one query."""
    if user.role != Role.applicant.value:
        return []
    office_due, joins = _office_close()
    apply_w, apply_on = _window("apply")
    q = (sa.select(Application.status, sa.func.count(Application.id),
                   sa.func.min(apply_w.closes_on),
                   sa.func.min(sa.func.coalesce(Application.correction_due, office_due)),
                   sa.func.min(FeeWindow.closes_on))
         .select_from(Application)
         .outerjoin(apply_w, apply_on)
         .outerjoin(FeeWindow, sa.and_(FeeWindow.plan_id == Application.plan_id,
                                       FeeWindow.committee_id == Application.committee_id))
         .where(Application.tenant_id == user.tenant_id, Application.applicant_id == user.id,
                Application.status.in_((Status.draft.value, Status.returned.value,
                                        Status.checked.value)))
         .group_by(Application.status))
    rows = {r[0]: r for r in db.session.execute(_outer(q, joins))}
    out = []
    if Status.draft.value in rows:
        r = rows[Status.draft.value]
        out.append(item(_l("待提交的申报"), r[1], r[2], "applicant.dashboard"))
    if Status.returned.value in rows:
        r = rows[Status.returned.value]
        out.append(item(_l("退回待补正的申报"), r[1], r[3], "applicant.dashboard"))
    if Status.checked.value in rows and config_for(user.tenant_id).policies.fee_required:
        r = rows[Status.checked.value]
        out.append(item(_l("待缴纳评审费的申报"), r[1], r[4], "applicant.dashboard"))
    return out


def office_items(user: User, today: date) -> list[dict]:
    """Files the office holds: to review, in the unit's notice, notice over and to recommend."""
    if user.role not in abilities.OFFICE_ROLES or user.role == Role.agency_clerk.value \
            or user.org_id is None:
        return []
    office_due, joins = _office_close()
    ended = sa.and_(Application.status == Status.in_notice.value,
                    Application.notice_ends_on < today)
    q = (sa.select(Application.status, sa.func.count(Application.id),
                   sa.func.min(office_due),
                   sa.func.min(sa.case((ended, None), else_=Application.notice_ends_on)),
                   sa.func.sum(sa.case((ended, 1), else_=0)))
         .select_from(Application)
         .where(Application.tenant_id == user.tenant_id,
                Application.holder_org_id == user.org_id,
                Application.status.in_((Status.submitted.value, Status.in_notice.value)))
         .group_by(Application.status))
    rows = {r[0]: r for r in db.session.execute(_outer(q, joins))}
    out = []
    if Status.submitted.value in rows:
        r = rows[Status.submitted.value]
        out.append(item(_l("待审核的申报"), r[1], r[2], "office.inbox",
                        status=Status.submitted.value))
    if Status.in_notice.value in rows:
        r = rows[Status.in_notice.value]
        done = int(r[4] or 0)
        out.append(item(_l("公示期满、待推荐的申报"), done, r[2], "office.inbox",
                        status=Status.in_notice.value))
        out.append(item(_l("单位公示中的申报"), r[1] - done, r[3], "office.inbox",
                        status=Status.in_notice.value))
    return out


def agency_items(user: User, today: date) -> list[dict]:
    """The agency's completeness checks, files to put before a session, sessions to draw, under
    way and to report, and re-checks to answer: four queries."""
    if user.role != Role.agency_clerk.value or user.org_id is None:
        return []
    cfg = config_for(user.tenant_id)
    check_w, check_on = _window("agency_check")
    review_w, review_on = _window("review")
    held = dict((r[0], r[1:]) for r in db.session.execute(
        sa.select(Application.status, sa.func.count(Application.id),
                  sa.func.min(check_w.closes_on), sa.func.min(review_w.closes_on))
        .select_from(Application).outerjoin(check_w, check_on).outerjoin(review_w, review_on)
        .where(Application.tenant_id == user.tenant_id,
               Application.holder_org_id == user.org_id,
               Application.status.in_((Status.recommended.value, Status.paid.value)),
               ~sa.exists().where(SessionItem.application_id == Application.id))
        .group_by(Application.status)))
    mine = sa.select(Committee.id).where(Committee.agency_org_id == user.org_id)
    # Closed and not reported yet: never reported, sent back, or (notice first, CF-WIN-3) its
    # notice is over and the report is due.
    unreported = sa.and_(ReviewSession.status == SessionStatus.closed.value,
                         sa.or_(Publication.id.is_(None),
                                Publication.status.in_(("none", "sent_back")),
                                sa.and_(Publication.status == "noticed",
                                        Publication.ends_on < today)))
    sessions = {r[0]: r[1:] for r in db.session.execute(
        sa.select(sa.case((unreported, "report"), else_=ReviewSession.status).label("what"),
                  sa.func.count(ReviewSession.id), sa.func.min(ReviewSession.held_on))
        .select_from(ReviewSession)
        .outerjoin(Publication, Publication.session_id == ReviewSession.id)
        .where(ReviewSession.tenant_id == user.tenant_id, ReviewSession.committee_id.in_(mine),
               sa.or_(ReviewSession.status.in_((SessionStatus.draft.value,
                                                SessionStatus.drawn.value,
                                                SessionStatus.voting.value)), unreported))
        .group_by("what"))}
    rechecks = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Recheck.id)))
        .join(SessionItem, SessionItem.application_id == Recheck.application_id)
        .join(ReviewSession, ReviewSession.id == SessionItem.session_id)
        .where(Recheck.tenant_id == user.tenant_id, Recheck.answered_at.is_(None),
               ReviewSession.committee_id.in_(mine)))
    out = []
    if Status.recommended.value in held:
        n, check_close, _ = held[Status.recommended.value]
        out.append(item(_l("待审核材料的申报"), n, check_close, "agency.inbox",
                        status=Status.recommended.value))
    if Status.paid.value in held:
        n, _, review_close = held[Status.paid.value]
        out.append(item(_l("已缴费、待安排评审会的申报"), n, review_close, "agency.inbox",
                        status=Status.paid.value))
    if SessionStatus.draft.value in sessions:
        n, held_on = sessions[SessionStatus.draft.value]
        out.append(item(_l("待抽取专家的评审会"), n, held_on, "agency.session_list"))
    under_way = [sessions[s] for s in (SessionStatus.drawn.value, SessionStatus.voting.value)
                 if s in sessions]
    if under_way:
        out.append(item(_l("进行中的评审会"), sum(n for n, _ in under_way),
                        min(d for _, d in under_way), "agency.session_list"))
    if "report" in sessions:
        n, held_on = sessions["report"]
        days = cfg.policies.result_report_days
        out.append(item(_l("待报送评审结果的评审会"), n,
                        held_on + timedelta(days=days) if days else None, "agency.session_list"))
    if rechecks:
        out.append(item(_l("待答复的复查申请"), rechecks, None, "results.rechecks"))
    return out


def expert_items(user: User, today: date) -> list[dict]:
    """Sessions the expert sits on that are drawn or voting: one query."""
    if user.role != Role.expert.value:
        return []
    n, held_on = db.session.execute(
        sa.select(sa.func.count(sa.distinct(ReviewSession.id)), sa.func.min(ReviewSession.held_on))
        .join(PanelMember, PanelMember.session_id == ReviewSession.id)
        .join(Expert, Expert.id == PanelMember.expert_id)
        .where(ReviewSession.tenant_id == user.tenant_id, Expert.user_id == user.id,
               PanelMember.status == "active",
               ReviewSession.status.in_((SessionStatus.drawn.value,
                                         SessionStatus.voting.value)))).one()
    return [item(_l("待评审的评审会"), n, held_on, "expert.index")]


def paper_items(user: User, today: date) -> list[dict]:
    """Files the office holds whose review mode asks for paper (CF-MODE-2…4) and whose paper
    it has not recorded since the file's last submission: three queries (the files, their
    plans with windows, their committees with agencies), however many files."""
    from sqlalchemy.orm import selectinload
    from ..models.paper import PaperReceipt
    from .paper import PAPER_MODES, _at_agency
    from .transitions import office_stage_for
    if user.role not in abilities.OFFICE_ROLES or user.org_id is None:
        return []
    received = sa.exists().where(PaperReceipt.application_id == Application.id,
                                 PaperReceipt.org_id == user.org_id,
                                 PaperReceipt.received_at >= Application.submitted_at)
    held = (Status.recommended.value,) if user.role == Role.agency_clerk.value else (
        Status.submitted.value, Status.in_notice.value)
    apps = db.session.scalars(
        sa.select(Application).where(Application.tenant_id == user.tenant_id,
                                     Application.holder_org_id == user.org_id,
                                     Application.status.in_(held), ~received)
        .options(selectinload(Application.plan),
                 selectinload(Application.committee).selectinload(Committee.agency))).all()
    waiting = [a for a in apps if a.review_mode in PAPER_MODES]
    closes = [w.closes_on for a in waiting
              for w in [a.plan.window("agency_check" if _at_agency(a) else office_stage_for(a))]
              if w is not None]
    return [item(_l("待登记接收纸质材料的申报"), len(waiting), min(closes, default=None),
                 "paper.receive")]


def staff_items(user: User, today: date) -> list[dict]:
    """Applicants' profiles awaiting the unit's verification (CF-REG-1): one query."""
    from .profiles import awaiting_filter
    cfg = config_for(user.tenant_id)
    if not abilities.may_verify_staff(cfg, user) or user.org_id is None:
        return []
    n = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        awaiting_filter(user.tenant_id, user.org_id)))
    return [item(_l("待审核的人员信息"), n, None, "office.staff")]


def employer_items(user: User, today: date) -> list[dict]:
    """Employers registered in the bureau's districts, to approve: one query."""
    districts = abilities.territorial_districts(config_for(user.tenant_id), user)
    if not districts:
        return []
    n = db.session.scalar(sa.select(sa.func.count(Org.id)).where(
        Org.tenant_id == user.tenant_id, Org.status == OrgStatus.pending.value,
        Org.district.in_(districts)))
    return [item(_l("待审核的单位注册"), n, None, "admin.employers")]


def acceptance_items(user: User, today: date) -> list[dict]:
    """Results reported for the city HR bureau's acceptance: one query."""
    if not abilities.may_accept_results(user):
        return []
    n = db.session.scalar(sa.select(sa.func.count(Publication.id)).filter_by(
        tenant_id=user.tenant_id, status="requested"))
    return [item(_l("待验收的评审结果"), n, None, "results.acceptance")]


def objection_items(user: User, today: date) -> list[dict]:
    """Objections routed to the office and still open: one query."""
    if not abilities.may_handle_objections(user) or user.org_id is None:
        return []
    n = db.session.scalar(sa.select(sa.func.count(Objection.id)).filter_by(
        tenant_id=user.tenant_id, routed_org_id=user.org_id, status="open"))
    return [item(_l("待核查的异议"), n, None, "results.objections")]


def quota_items(user: User, today: date) -> list[dict]:
    """Review places (CF-POL-8) the allocating office has not yet shared out, and files in the
    review that no share covers: a fixed number of queries per quota of the tenant's settings."""
    from . import quotas
    cfg = config_for(user.tenant_id)
    if not abilities.may_see_quotas(cfg, user):
        return []
    free = uncovered = 0
    for q, editable in quotas.visible_quotas(cfg, abilities.Actor.of(user)):
        if editable:
            lines, left_out = quotas.shares(cfg, user.tenant_id, q)
            free += max(0, q.total - sum(line.places for line in lines))
            uncovered += left_out
    return [item(_l("待分配的评审名额"), free, None, "office.quota_list"),
            item(_l("尚未分配名额的申报"), uncovered, None, "office.quota_list")]


def job_items(user: User, today: date) -> list[dict]:
    """Failed jobs, for the administrator who can retry them: one query."""
    if not abilities.may_retry_jobs(user):
        return []
    n = db.session.scalar(sa.select(sa.func.count(JobRun.id)).filter_by(
        tenant_id=user.tenant_id, status="failed"))
    return [item(_l("失败的任务"), n, None, "admin.jobs")]

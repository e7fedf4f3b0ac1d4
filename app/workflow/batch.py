"""Batch actions on a selection of an office's list: recommend (or report upward, tier by tier)
with one opinion, the committee office's check pass, receipt of the paper file, files put into a
draft review session.

`preview` says, for exactly the files selected, what will happen to each and which would be
refused and why, by the same checks the transition service makes, writing nothing. `run` takes
the files one by one through the service that acts on one file (`transition`, `paper.receive`,
`sessions.add_files`) with the version the clerk confirmed: each file is done whole or refused
with the reason, and each keeps its audit row. The batch is recorded with what every file was
before, so the same user may undo it for a short while (`undo`), through the transition service
again (`batch_undo`), for the files nobody has changed since.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Application, ReviewSession, ReviewStep, Role, SessionItem, Status
from ..models.batches import Batch, BatchItem
from . import agency as _agency  # noqa: F401  (registers check_pass)
from . import paper, sessions
from .abilities import OFFICE_ROLES, uses_paper
from .actors import Actor
from .calendar import now_local
from .errors import Conflict, Forbidden, Invalid, TransitionError, WindowClosed
from .inbox import Filters, filtered
from .transitions import (
    ACTION_LABELS, Ctx, Rule, _record, check, office_stage_for, register, transition,
)

MAX_FILES = 500  # a selection larger than this is refused as a whole
UNDO_MINUTES = 10  # the default; BATCH_UNDO_MINUTES in the app's config overrides it
UNDOABLE = ("recommend", "check_pass", "to_session")
ACTIONS = ("recommend", "check_pass", "receive_paper", "to_session")
LABELS = {
    "recommend": _l("推荐（报送下一环节）"),
    "check_pass": _l("审核通过"),
    "receive_paper": _l("登记纸质材料已全部收到"),
    "to_session": _l("加入评审会"),
}
# The same transition at an office above the employer: reviewed and reported up a tier.
REPORT_UP = _l("审核通过，逐级上报")
ACTION_LABELS.update({"batch_undo": _l("撤销批量办理"), "to_session": _l("加入评审会")})


def undo_minutes() -> int:
    return int(current_app.config.get("BATCH_UNDO_MINUTES", UNDO_MINUTES))


def _reports_up(user) -> bool:
    return user.role in (Role.department_clerk.value, Role.hr_officer.value)


def action_label(user, action: str):
    return REPORT_UP if action == "recommend" and _reports_up(user) else LABELS.get(action, action)


def actions_for(user) -> list[str]:
    """The batch actions this user's office takes (each file is still checked when acting)."""
    if user.role not in OFFICE_ROLES:
        return []
    out = ["check_pass", "to_session"] if user.role == Role.agency_clerk.value else ["recommend"]
    if uses_paper(user.tenant_id):
        out.append("receive_paper")
    return [a for a in ACTIONS if a in out]


def draft_sessions(user) -> list[ReviewSession]:
    """Review sessions of this agency still taking files (for "put into a session")."""
    from ..models import Committee
    if user.role != Role.agency_clerk.value:
        return []
    return db.session.scalars(
        sa.select(ReviewSession).join(Committee, Committee.id == ReviewSession.committee_id)
        .where(ReviewSession.tenant_id == user.tenant_id, ReviewSession.status == "draft",
               Committee.agency_org_id == user.org_id)
        .order_by(ReviewSession.id.desc())).all()


def clean_ids(values) -> list[int]:
    """The selected ids in the order given, once each; anything but a number is dropped."""
    out: list[int] = []
    for v in values:
        v = str(v).strip()
        if v.isdigit() and len(v) < 10 and int(v) not in out:
            out.append(int(v))
    return out


def selection(user, ids: list[int], today: date) -> tuple[list[Application], list[int]]:
    """(files this office holds among `ids`, in the order selected; ids it does not hold): the
    inbox's own query, so nothing outside the office's list is ever acted on."""
    if not ids:
        return [], []
    q = (filtered(user.tenant_id, user.org_id, Filters(), today)
         .where(Application.id.in_(ids))
         .options(selectinload(Application.applicant), selectinload(Application.attachments),
                  selectinload(Application.plan)))
    found = {a.id: a for a, _due in db.session.execute(q).all()}
    return [found[i] for i in ids if i in found], [i for i in ids if i not in found]


def reason_of(e: TransitionError) -> str:
    """A refusal in the user's language, its problems after it."""
    parts = [str(e.message), *(str(p) for p in e.problems)]
    return " ".join(parts)


@dataclass
class Line:
    app: Application
    what: str = ""      # what will happen to it (the next office, the session...)
    reason: str = ""    # why it would be refused


def _session_of(user, session_id) -> ReviewSession | None:
    from ..models import Committee
    if not session_id:
        return None
    s = db.session.get(ReviewSession, session_id)
    if s is None or s.tenant_id != user.tenant_id:
        return None
    committee = db.session.get(Committee, s.committee_id)
    return s if committee is not None and committee.agency_org_id == user.org_id else None


def _next_offices(apps: list[Application]) -> dict[int, str]:
    """Each file's next office on its route, by name (one query)."""
    from ..models import Org
    from ..tenancy import label
    nxt = {a.id: a.route[a.route_pos + 1]["org_id"] for a in apps
           if a.route and a.route_pos + 1 < len(a.route)}
    names = {o.id: label(o) for o in db.session.scalars(
        sa.select(Org).where(Org.id.in_(set(nxt.values()) or [0])))}
    return {i: names.get(o, "") for i, o in nxt.items()}


def params_for(action: str, opinion: str, no_objection: bool,
               insurance_verified: bool = False) -> dict:
    if action == "recommend":
        return {"opinion": opinion, "no_objection": no_objection,
                "insurance_verified": insurance_verified}
    if action == "check_pass":
        return {"opinion": opinion}
    return {}


def form_problem(user, action: str, opinion: str, session_id) -> str | None:
    """What is wrong with the batch form as a whole (then nothing is previewed or done)."""
    if action not in actions_for(user):
        return str(_l("请选择要办理的事项。"))
    if action == "recommend" and not opinion.strip():
        return str(_l("请填写推荐意见。"))
    if action == "to_session" and _session_of(user, session_id) is None:
        return str(_l("请选择要加入的评审会。"))
    return None


def preview(cfg, user, action: str, apps: list[Application], *, opinion: str = "",
            no_objection: bool = False, insurance_verified: bool = False, session_id=None,
            now: datetime | None = None, ip: str = "") -> tuple[list[Line], list[Line]]:
    """(lines that would go through, lines that would be refused with the reason), computed by
    the transition service's own checks; nothing is written."""
    actor = Actor.of(user, ip)
    now = now_local(now)
    ok, refused = [], []
    params = params_for(action, opinion, no_objection, insurance_verified)
    nxt = _next_offices(apps) if action == "recommend" else {}
    session = _session_of(user, session_id) if action == "to_session" else None
    eligible = ({a.id for a in sessions.eligible_files(session)}
                if session is not None and session.status == "draft" else set())
    for app in apps:
        line = Line(app)
        try:
            if action in ("recommend", "check_pass"):
                check(cfg, app, action, actor, now=now, **params)
                line.what = (str(_l("转至%(o)s", o=nxt[app.id])) if app.id in nxt else "")
            elif action == "receive_paper":
                paper.receivable(cfg, actor, paper.file_code(app), now)
                line.what = str(_l("共%(n)d类材料，与网上申报一致",
                                   n=len(paper.complete_set(app))))
            elif action == "to_session":
                _session_check(session, app, eligible)
                line.what = str(_l("评审会 #%(n)d", n=session.id))
        except TransitionError as e:
            line.reason = reason_of(e)
            refused.append(line)
        else:
            ok.append(line)
    return ok, refused


def _session_check(session: ReviewSession, app: Application, eligible: set[int]) -> None:
    if session.status != "draft":
        raise Invalid(_l("专家已抽取，不能再增加申报材料。"))
    ready = sessions.ready_status(session.tenant_id)
    if app.status != ready:
        from .transitions import status_label
        raise Conflict(_l("该记录当前状态为“%(s)s”，不能进行此操作（可能已被他人处理）。",
                          s=status_label(app.status)))
    if app.id not in eligible:
        raise Invalid(_l("该申报的评委会、计划、系列、级别或评审方式与此评审会不符。"))


def _refused(batch: Batch, before: dict, e: TransitionError) -> None:
    db.session.rollback()  # whatever the refused file had begun, and only that
    db.session.add(BatchItem(batch_id=batch.id, done=False, reason=reason_of(e)[:2000],
                             **before))
    db.session.commit()


def run(cfg, user, action: str, apps: list[Application], versions: dict[int, int], *,
        opinion: str = "", no_objection: bool = False, insurance_verified: bool = False,
        session_id=None, ip: str = "", now: datetime | None = None) -> Batch:
    """Act on each file with the version the clerk confirmed; record the batch. A file that is
    refused is left exactly as it was and listed with the reason."""
    actor = Actor.of(user, ip)
    now = now_local(now)
    session = _session_of(user, session_id) if action == "to_session" else None
    problem = form_problem(user, action, opinion, session_id)
    if problem:
        raise Invalid(problem)
    batch = Batch(tenant_id=user.tenant_id, org_id=user.org_id, actor_id=user.id, action=action,
                  opinion=opinion.strip(), session_id=session.id if session else None, at=now,
                  undo_until=now + timedelta(minutes=undo_minutes())
                  if action in UNDOABLE else None)
    db.session.add(batch)
    db.session.commit()
    # What each file was when confirmed; read before anything is written.
    before = {a.id: {"application_id": a.id, "status_before": a.status,
                     "holder_before": a.holder_org_id, "route_pos_before": a.route_pos,
                     "correction_due_before": a.correction_due,
                     "version_before": versions.get(a.id, a.version)} for a in apps}
    pending = []
    eligible = ({a.id for a in sessions.eligible_files(session)}
                if session is not None and session.status == "draft" else set())
    for app in apps:
        version = versions.get(app.id)
        try:
            if version is None:
                raise Conflict(_l("该记录已被他人处理，请刷新后查看最新状态。"))
            if action in ("recommend", "check_pass"):
                # The item goes in the transition's own commit, or with its rollback.
                db.session.add(BatchItem(batch_id=batch.id, done=True,
                                         version_after=version + 1, **before[app.id]))
                transition(cfg, app, action, actor, expected_version=version, now=now,
                           **params_for(action, opinion, no_objection, insurance_verified))
            elif action == "receive_paper":
                if app.version != version:
                    raise Conflict(_l("该记录已被他人处理，请刷新后查看最新状态。"))
                db.session.add(BatchItem(batch_id=batch.id, done=True, version_after=version,
                                         **before[app.id]))
                paper.receive(cfg, actor, paper.file_code(app), paper.complete_set(app),
                              now=now, opinion=opinion)
            else:
                if app.version != version:
                    raise Conflict(_l("该记录已被他人处理，请刷新后查看最新状态。"))
                _session_check(session, app, eligible)
                pending.append(app.id)
        except TransitionError as e:
            _refused(batch, before[app.id], e)
    if pending:
        _into_session(actor, batch, session, pending, before)
    if action in ("recommend", "check_pass"):
        _note_steps(batch, action, user.id)
    return batch


def _into_session(actor: Actor, batch: Batch, session: ReviewSession, ids: list[int],
                  before: dict) -> None:
    """The session service moves the files in one statement, each with its audit row; the
    files it did not take (changed meanwhile) are listed as refused."""
    try:
        sessions.add_files(actor, session, ids)
    except TransitionError as e:
        for i in ids:
            _refused(batch, before[i], e)
        return
    moved = set(db.session.scalars(sa.select(SessionItem.application_id).where(
        SessionItem.session_id == session.id, SessionItem.application_id.in_(ids))))
    for i in ids:
        if i in moved:
            db.session.add(BatchItem(batch_id=batch.id, done=True,
                                     version_after=before[i]["version_before"] + 1, **before[i]))
        else:
            db.session.add(BatchItem(batch_id=batch.id, done=False, **before[i], reason=str(
                _l("该记录已被他人处理，请刷新后查看最新状态。"))))
    db.session.commit()


def _note_steps(batch: Batch, action: str, user_id: int) -> None:
    """Each done file's review step, so an undo withdraws exactly that one."""
    done = [i for i in batch.items if i.done]
    if not done:
        return
    steps = dict(db.session.execute(
        sa.select(ReviewStep.application_id, sa.func.max(ReviewStep.id))
        .where(ReviewStep.application_id.in_([i.application_id for i in done]),
               ReviewStep.actor_id == user_id, ReviewStep.action == action)
        .group_by(ReviewStep.application_id)).all())
    for i in done:
        i.step_id = steps.get(i.application_id)
    db.session.commit()


# -- the record and its undo ------------------------------------------------------------------

def batch_of(user, batch_id: int) -> Batch | None:
    """A batch of this office in this tenant (anyone else: None, a 404)."""
    b = db.session.scalar(sa.select(Batch).filter_by(id=batch_id, tenant_id=user.tenant_id,
                                                    org_id=user.org_id)
                          .options(selectinload(Batch.items).selectinload(BatchItem.application)
                                   .selectinload(Application.applicant)))
    return b


def undo_open(batch: Batch, user, now: datetime | None = None) -> bool:
    """Whether this user may still undo the batch: their own, within its window, with files
    left to undo."""
    return (batch.undo_until is not None and batch.actor_id == user.id
            and now_local(now) <= batch.undo_until
            and any(i.done and i.undone_at is None for i in batch.items))


def _open_item(app: Application) -> tuple[BatchItem, Batch] | None:
    """The file's latest batch change not yet undone."""
    row = db.session.execute(
        sa.select(BatchItem, Batch).join(Batch, Batch.id == BatchItem.batch_id)
        .where(BatchItem.application_id == app.id, BatchItem.done.is_(True),
               BatchItem.undone_at.is_(None), Batch.tenant_id == app.tenant_id)
        .order_by(BatchItem.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else None


def _may_undo(actor: Actor, app: Application) -> bool:
    found = _open_item(app)
    return found is not None and found[1].actor_id == actor.user_id \
        and found[1].org_id == actor.org_id


def _undo_stage(app: Application):
    """The window the undone action needed: the office's for a recommendation, the committee
    office's for a check; none for files put into a session (the session must still be a
    draft)."""
    found = _open_item(app)
    action = found[1].action if found else None
    if action == "recommend":
        return office_stage_for(app)
    if action == "check_pass":
        return "agency_check"
    return None


def _undo(app: Application, ctx: Ctx) -> dict:
    item: BatchItem = ctx.params["item"]
    batch = item.batch
    if (item.application_id != app.id or not item.done or item.undone_at is not None
            or batch.actor_id != ctx.actor.user_id):
        raise Forbidden(_l("无权进行此操作。"))
    if batch.undo_until is None:
        raise Invalid(_l("此类批量办理不能撤销。"))
    if ctx.now > batch.undo_until:
        raise WindowClosed(_l("撤销期限已过：批量办理后%(n)d分钟内可撤销。", n=undo_minutes()))
    if batch.action == "to_session":
        session = db.session.get(ReviewSession, batch.session_id)
        if session is None or session.status != "draft":
            raise Invalid(_l("专家已抽取，不能再从评审会中撤出申报。"))
        ctx.after.append(sa.delete(SessionItem).where(SessionItem.session_id == session.id,
                                                      SessionItem.application_id == app.id))
    if item.step_id:
        # The recommendation or check is withdrawn from the file's review steps (the forms
        # print them); the audit trail keeps both the action and its undo.
        ctx.after.append(sa.delete(ReviewStep).where(ReviewStep.id == item.step_id,
                                                     ReviewStep.application_id == app.id))
    ctx.after.append(sa.update(BatchItem).where(BatchItem.id == item.id)
                     .values(undone_at=ctx.now))
    return {"status": item.status_before, "holder_org_id": item.holder_before,
            "route_pos": item.route_pos_before, "correction_due": item.correction_due_before}


register(Application, {
    "batch_undo": Rule((Status.submitted.value, Status.recommended.value, Status.checked.value,
                        Status.in_review.value), _may_undo, _undo_stage, _undo),
})


@dataclass
class UndoResult:
    undone: list[BatchItem]
    refused: list[tuple[BatchItem, str]]


def undo(cfg, user, batch: Batch, *, ip: str = "", now: datetime | None = None) -> UndoResult:
    """Undo each file of the batch nobody has changed since (its version is still the one the
    batch left), one by one through the transition service; the others are listed with the
    reason."""
    actor = Actor.of(user, ip)
    now = now_local(now)
    if batch.actor_id != user.id:
        raise Forbidden(_l("只有办理该批次的本人可以撤销。"))
    if batch.undo_until is None:
        raise Invalid(_l("此类批量办理不能撤销。"))
    if now > batch.undo_until:
        raise WindowClosed(_l("撤销期限已过：批量办理后%(n)d分钟内可撤销。", n=undo_minutes()))
    reason = _record(_l("撤销批量办理 #%(n)d", n=batch.id))
    out = UndoResult([], [])
    for item in [i for i in batch.items if i.done and i.undone_at is None]:
        app = db.session.get(Application, item.application_id)
        try:
            transition(cfg, app, "batch_undo", actor, expected_version=item.version_after,
                       now=now, opinion=reason, item=item)
        except TransitionError as e:
            out.refused.append((item, reason_of(e)))
        else:
            out.undone.append(item)
    db.session.expire_all()
    return out


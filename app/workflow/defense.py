"""Defense scheduling and the defense notice (BJ-DEF-1).

Intermediate and senior files defend on site, junior ones do not (the tenant's levels say which:
`defense = true`). The session's agency sets defense slots and assigns files to them; each
assignment queues, in the same commit, an SMS telling the applicant that the defense notice
(答辩通知书) is ready to download.

After the defenses the agency records each file's defense as held, or the applicant as absent;
an absent file is put to the committee, whose presiding member records its decision. The ballot
cannot open while a file that defends has neither (see `vote_blockers`)."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date, format_datetime
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Application, ReviewSession, SessionItem, SessionStatus, utcnow
from ..models.assessment import DefenseRecord, DefenseStatus
from ..models.notify import Channel, DefenseAssignment, DefenseSlot, Outbox
from ..tenancy import label
from . import notify
from .actors import Actor
from .calendar import now_local
from .errors import Conflict, Forbidden, Invalid
from .sessions import _is_agency_of, _is_presiding, review_stage
from .transitions import Ctx, Rule, audit, register, transition

MAX_CAPACITY = 200
PLACE_MAX = 200
# Defenses come before the ballot: once voting opens the schedule is fixed.
SCHEDULABLE = (SessionStatus.draft.value, SessionStatus.drawn.value)
TIME_FORMAT = "yyyy年M月d日 HH:mm"


def defends(cfg, level_code: str) -> bool:
    """Whether files of this level defend on site (the tenant's `defense` flag)."""
    level = cfg.level(level_code)
    return bool(level and level.defense)


def _refuse_no_defense(cfg, level_code: str):
    raise Invalid(_l("%(level)s职称评审不答辩（高、中级职称须现场答辩，初级职称不答辩），"
                     "不能安排答辩。", level=label(cfg.level(level_code)) or level_code))


def _check(actor: Actor, session: ReviewSession) -> None:
    if not _is_agency_of(actor, session) or actor.tenant_id != session.tenant_id:
        raise Forbidden(_l("只有组织该评审会的评审服务机构可以安排答辩。"))


def _check_open(session: ReviewSession) -> None:
    if session.status not in SCHEDULABLE:
        raise Invalid(_l("评审会已开始表决或已结束，不能再安排答辩。"))


def local_time(cfg, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(cfg.tenant.timezone))


def time_text(cfg, at: datetime) -> str:
    """A defense time as the applicant reads it, in the tenant's timezone."""
    return format_datetime(at, TIME_FORMAT, tzinfo=ZoneInfo(cfg.tenant.timezone),
                           locale="zh_Hans_CN")


# -- the agency's schedule ---------------------------------------------------------------------

def create_slot(cfg, actor: Actor, session: ReviewSession, *, starts_at: datetime, place: str,
                what_to_bring: str, capacity: int, now: datetime | None = None) -> DefenseSlot:
    """Add a defense slot to the session. A naive `starts_at` is read in the tenant's timezone.
    Refused for sessions whose level does not defend, and for a past time, a time after the
    session's day, a missing place or a capacity out of range."""
    _check(actor, session)
    if not defends(cfg, session.level):
        _refuse_no_defense(cfg, session.level)
    _check_open(session)
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=ZoneInfo(cfg.tenant.timezone))
    place, what_to_bring = place.strip(), what_to_bring.strip()
    problems = []
    if starts_at <= now_local(now):
        problems.append(_l("答辩时间须晚于当前时间。"))
    if local_time(cfg, starts_at).date() > session.held_on:
        problems.append(_l("答辩须安排在评审会日期（%(d)s）当天或之前。",
                           d=session.held_on.isoformat()))
    if not place or len(place) > PLACE_MAX:
        problems.append(_l("请填写答辩地点（不超过%(n)d字）。", n=PLACE_MAX))
    if not 1 <= capacity <= MAX_CAPACITY:
        problems.append(_l("每场答辩人数应在1至%(n)d人之间。", n=MAX_CAPACITY))
    if problems:
        raise Invalid(_l("答辩场次未创建："), problems=problems)
    slot = DefenseSlot(tenant_id=session.tenant_id, session_id=session.id,
                       starts_at=starts_at.astimezone(UTC), place=place,
                       what_to_bring=what_to_bring[:2000], capacity=capacity,
                       created_by=actor.user_id)
    db.session.add(slot)
    db.session.flush()
    audit(actor, "defense_slots", slot.id, "create", reason=f"session {session.id}")
    db.session.commit()
    return slot


def sms_key(item_id: int, slot_id: int, revision: int) -> str:
    """One SMS per item and slot; the revision tells a move back to an earlier slot apart."""
    return f"defense:{item_id}:{slot_id}:{revision}"


def key_of(a: DefenseAssignment) -> str:
    return sms_key(a.item_id, a.slot_id, a.revision)


def _sms(cfg, app: Application, session: ReviewSession, slot: DefenseSlot) -> tuple[str, str]:
    with force_locale("zh_Hans_CN"):  # what is sent is kept: in the default language
        subject = str(_l("答辩通知"))
        body = str(_l("%(name)s您好：您申报的%(level)s职称（%(committee)s）答辩时间为%(time)s。"
                      "答辩通知书已可下载，请登录系统下载并按通知书要求参加现场答辩。",
                      name=app.applicant.name, level=label(cfg.level(app.level)),
                      committee=label(session.committee), time=time_text(cfg, slot.starts_at)))
    return subject, body


def assign(cfg, actor: Actor, session: ReviewSession, item_id: int, slot_id: int,
           now: datetime | None = None) -> tuple[DefenseAssignment, Outbox]:
    """Put a session item in a slot, or move it to another slot, and queue the SMS that tells
    the applicant the defense notice is ready, in one commit. Refused for files whose level does
    not defend, a session already voting, a past or full slot, the same slot again, and an
    applicant without a mobile number. The caller dispatches the returned notice."""
    _check(actor, session)
    item = next((i for i in session.items if i.id == item_id), None)
    if item is None:
        raise Invalid(_l("请选择本评审会的申报。"))
    app = item.application
    if not defends(cfg, app.level):
        _refuse_no_defense(cfg, app.level)
    _check_open(session)
    # Lock the slot (PostgreSQL) so two clerks cannot both take its last seat.
    slot = db.session.scalar(sa.select(DefenseSlot).where(
        DefenseSlot.id == slot_id, DefenseSlot.session_id == session.id).with_for_update())
    if slot is None:
        raise Invalid(_l("请选择本评审会的答辩场次。"))
    try:
        if slot.starts_at <= now_local(now):
            raise Invalid(_l("该场次答辩时间已过，请选择其他场次。"))
        current = db.session.scalar(sa.select(DefenseAssignment).filter_by(item_id=item.id))
        if current is not None and current.slot_id == slot.id:
            raise Invalid(_l("该申报已安排在此场次。"))
        taken = db.session.scalar(sa.select(sa.func.count(DefenseAssignment.id))
                                  .filter_by(slot_id=slot.id))
        if taken >= slot.capacity:
            raise Invalid(_l("该场次已满（%(n)d人），请选择其他场次。", n=slot.capacity))
        mobile = (app.applicant.mobile or "").strip()
        if not mobile:
            raise Invalid(_l("申报人未登记手机号码，无法发送答辩短信通知。"))
        if current is None:
            current = DefenseAssignment(slot_id=slot.id, item_id=item.id,
                                        assigned_by=actor.user_id, revision=1)
            db.session.add(current)
            reason = f"slot {slot.id}"
        else:
            reason = f"slot {current.slot_id} -> {slot.id}"
            current.slot_id, current.revision = slot.id, current.revision + 1
            current.assigned_by, current.assigned_at = actor.user_id, utcnow()
            current.notice_downloaded_at = None  # the new notice has not been read
        db.session.flush()
        subject, body = _sms(cfg, app, session, slot)
        sms = notify.queue(session.tenant_id, Channel.sms.value, mobile, subject, body,
                           key_of(current))
        audit(actor, "defense_assignments", current.id, "assign_defense", reason=reason)
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_l("该申报已被他人安排答辩，请刷新后查看。")) from None
    except Exception:
        db.session.rollback()
        raise
    return current, sms


def schedule(session: ReviewSession) -> tuple[list[DefenseSlot], dict[int, DefenseAssignment],
                                              dict[str, Outbox]]:
    """The session's slots in time order, its assignments by item id, and their SMS by key."""
    slots = db.session.scalars(sa.select(DefenseSlot).filter_by(session_id=session.id)
                               .order_by(DefenseSlot.starts_at, DefenseSlot.id)).all()
    assigned = {a.item_id: a for s in slots for a in s.assignments}
    return slots, assigned, notify.notices(session.tenant_id,
                                           [key_of(a) for a in assigned.values()])


# -- the applicant's notice ------------------------------------------------------------------------

def assignment_of(tenant_id: int, applicant_id: int, app_id: int) -> DefenseAssignment | None:
    """The applicant's own file's defense assignment, or None (also for anyone else's file)."""
    return db.session.scalar(
        sa.select(DefenseAssignment)
        .join(SessionItem, DefenseAssignment.item_id == SessionItem.id)
        .join(Application, SessionItem.application_id == Application.id)
        .where(Application.id == app_id, Application.tenant_id == tenant_id,
               Application.applicant_id == applicant_id)
        .order_by(DefenseAssignment.id.desc()).limit(1))


def notice(cfg, a: DefenseAssignment) -> dict:
    """What the defense notice shows, in the default language."""
    item, slot = a.item, a.slot
    session, app = item.session, item.application
    with force_locale("zh_Hans_CN"):
        return {
            "name": app.applicant.name, "code": item.code, "session_id": session.id,
            "committee": label(session.committee), "agency": label(session.committee.agency),
            "series": label(cfg.series(app.series)), "level": label(cfg.level(app.level)),
            "time": time_text(cfg, slot.starts_at), "place": slot.place,
            "what_to_bring": slot.what_to_bring,
            "issued_on": format_date(local_time(cfg, a.assigned_at).date(), "yyyy年M月d日",
                                     locale="zh_Hans_CN"),
        }


def mark_downloaded(a: DefenseAssignment) -> None:
    """Record the first download, so the agency sees who has the notice."""
    if a.notice_downloaded_at is None:
        a.notice_downloaded_at = utcnow()
        db.session.commit()


# -- the defense record and the committee's decision on an absent file ---------------------------

DEFENSE_STATUS_LABELS = {
    DefenseStatus.pending.value: _l("未记录"), DefenseStatus.held.value: _l("已答辩"),
    DefenseStatus.absent.value: _l("缺席答辩，待评委会决定"),
    DefenseStatus.decided.value: _l("缺席答辩，评委会已决定"),
}
OUTCOMES = (DefenseStatus.held.value, DefenseStatus.absent.value)


def _is_session_agency(actor: Actor, record: DefenseRecord) -> bool:
    return _is_agency_of(actor, record.session)


def _is_session_presiding(actor: Actor, record: DefenseRecord) -> bool:
    return _is_presiding(actor, record.session)


def _record(record: DefenseRecord, ctx: Ctx) -> dict:
    outcome = ctx.params.get("outcome")
    if outcome not in OUTCOMES:
        raise Invalid(_l("请选择答辩情况：已答辩或缺席。"))
    _check_open(record.session)
    return {"status": outcome, "note": (ctx.params.get("opinion") or "").strip()[:2000],
            "recorded_by": ctx.actor.user_id, "recorded_at": ctx.now}


def _decide(record: DefenseRecord, ctx: Ctx) -> dict:
    decision = (ctx.params.get("opinion") or "").strip()
    if not decision:
        raise Invalid(_l("请填写评委会对缺席答辩申报的决定。"))
    _check_open(record.session)
    return {"status": DefenseStatus.decided.value, "decision": decision[:2000],
            "decided_by": ctx.actor.user_id, "decided_at": ctx.now}


_recordable = (DefenseStatus.pending.value, DefenseStatus.held.value, DefenseStatus.absent.value)
register(DefenseRecord, {
    # The agency records what happened, and may correct it until the committee has decided.
    "record_defense": Rule(_recordable, _is_session_agency, review_stage, _record),
    "decide_absence": Rule((DefenseStatus.absent.value,), _is_session_presiding, review_stage,
                           _decide),
}, labels=DEFENSE_STATUS_LABELS)


def record_of(item: SessionItem, create: bool = False) -> DefenseRecord | None:
    """The item's defense record; with `create`, a pending one added (not committed) if none."""
    rec = db.session.scalar(sa.select(DefenseRecord).filter_by(item_id=item.id))
    if rec is None and create:
        rec = DefenseRecord(tenant_id=item.session.tenant_id, session_id=item.session_id,
                            item_id=item.id, status=DefenseStatus.pending.value, note="",
                            decision="")
        db.session.add(rec)
        db.session.flush()
    return rec


def record_defense(cfg, actor: Actor, session: ReviewSession, item_id: int, outcome: str,
                   note: str = "", now: datetime | None = None) -> DefenseRecord:
    """The agency records that a file's defense was held, or that the applicant was absent."""
    _check(actor, session)
    item = next((i for i in session.items if i.id == item_id), None)
    if item is None:
        raise Invalid(_l("请选择本评审会的申报。"))
    if not defends(cfg, item.application.level):
        _refuse_no_defense(cfg, item.application.level)
    rec = record_of(item, create=True)
    transition(cfg, rec, "record_defense", actor, now=now, outcome=outcome, opinion=note)
    return rec


def decide_absence(cfg, actor: Actor, session: ReviewSession, item_id: int, decision: str,
                   now: datetime | None = None) -> DefenseRecord:
    """The presiding member records the committee's decision on a file whose applicant was
    absent from the defense."""
    item = next((i for i in session.items if i.id == item_id), None)
    rec = record_of(item) if item is not None else None
    if rec is None or rec.status != DefenseStatus.absent.value:
        raise Invalid(_l("只有已记录缺席答辩的申报需要评委会决定。"))
    transition(cfg, rec, "decide_absence", actor, now=now, opinion=decision)
    return rec


def records(session: ReviewSession) -> dict[int, DefenseRecord]:
    """The session's defense records by item id (one query)."""
    rows = db.session.scalars(sa.select(DefenseRecord).filter_by(session_id=session.id)).all()
    return {r.item_id: r for r in rows}


def vote_blockers(cfg, session: ReviewSession) -> list:
    """Why files of this session cannot yet be voted on (BJ-DEF-1): a file of a level that
    defends needs its defense recorded as held, or as absent with the committee's decision."""
    if not defends(cfg, session.level) and not any(defends(cfg, i.application.level)
                                                    for i in session.items):
        return []
    have = records(session)
    out = []
    for it in session.items:
        if not defends(cfg, it.application.level):
            continue
        rec = have.get(it.id)
        status = rec.status if rec else DefenseStatus.pending.value
        if status == DefenseStatus.pending.value:
            out.append(_l("%(code)s：尚未记录答辩情况（高、中级职称须现场答辩；已答辩或缺席须先记录）。",
                          code=it.code))
        elif status == DefenseStatus.absent.value:
            out.append(_l("%(code)s：申报人缺席答辩，评委会尚未作出决定。", code=it.code))
    return out

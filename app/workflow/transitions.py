"""The one place where an application or an org registration changes state.

`transition()` checks the actor's role and org, the plan's stage window, and the expected current
state and version; then writes the change, a review step where the action has one, and an audit
event in one commit. On any refusal nothing is written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import sqlalchemy as sa
from flask_babel import force_locale, format_date
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (
    Application, AuditEvent, Org, OrgStatus, ReviewStep, Role, Section, Status, User, utcnow,
)
from ..tenancy.schema import StepKind
from . import directed, eligibility, notice_period, pledge, quotas
from .actors import Actor
from .calendar import WorkCalendar, now_local, window_is_open
from .errors import Conflict, Forbidden, Invalid, Recorded, WindowClosed
from .routing import STEP_ROLE, compute_route

OFFICE_STAGES = ("employer_review", "tier_report")


@dataclass
class Ctx:
    cfg: Any                 # TenantConfig
    actor: Actor
    now: datetime
    params: dict = field(default_factory=dict)
    step: dict | None = None  # a ReviewStep to record, if the action has one
    after: list = field(default_factory=list)  # writes that belong to the same commit


@dataclass(frozen=True)
class Rule:
    sources: tuple[str, ...]
    permits: Callable[[Actor, Any], bool]
    # A stage of the subject's plan, or a window of its own (anything with opens_on/closes_on).
    window: Callable[[Any], Any]
    apply: Callable[[Any, Ctx], dict]


def office_stage(plan) -> str:
    """The window in which offices review: employer_review where the plan has it, else tier_report."""
    return next((s for s in OFFICE_STAGES if plan.window(s) is not None), "apply")


def office_stage_for(app: Application) -> str:
    """Offices act in their own window, or in the agency's while a correction is under way."""
    return "agency_check" if app.correction_due else office_stage(app.plan)


# -- permissions ---------------------------------------------------------------------------

def _is_applicant(actor: Actor, app: Application) -> bool:
    return actor.role == Role.applicant.value and actor.user_id == app.applicant_id


def _is_holder(actor: Actor, app: Application) -> bool:
    step = app.current_step
    return (step is not None and actor.org_id == app.holder_org_id
            and actor.role == STEP_ROLE[StepKind(step["kind"])].value)


def _is_employer_holder(actor: Actor, app: Application) -> bool:
    return _is_holder(actor, app) and app.current_step["kind"] == StepKind.employer.value


def _is_territorial_hr(actor: Actor, org: Org) -> bool:
    if actor.role != Role.hr_officer.value or not org.district:
        return False
    return actor.org_id == _district_hr_id(org)


def _district_hr_id(org: Org) -> int | None:
    from ..tenancy import config_for

    district = config_for(org.tenant_id).district(org.district)
    return db.session.scalar(sa.select(Org.id).filter_by(
        tenant_id=org.tenant_id, code=district.hr_bureau)) if district else None


# -- effects ---------------------------------------------------------------------------------

def _enter_route(app: Application, ctx: Ctx) -> dict:
    # The personal pledge is signed with every (re)submission (BJ-PLEDGE-1, CF-PLEDGE-1).
    pledge.require(ctx.cfg, ctx.params.get("pledge"))
    if app.correction_due and ctx.now.date() > app.correction_due:
        raise WindowClosed(_l("补正期限已于%(d)s 24:00截止，不再受理。",
                              d=app.correction_due.isoformat()))
    from .unit_scope import check_submission
    check_submission(ctx.cfg, ctx.actor, app)  # SR-SCOPE-1: a self-review unit's own staff only
    found = eligibility.problems(ctx.cfg, app)
    if found:
        raise Invalid(_l("申报未通过资格检查，请逐项修改后再提交："), problems=found)
    route = compute_route(ctx.cfg, app)
    first = route[0]
    if first["kind"] == StepKind.agency.value:
        quotas.check_review_entry(ctx.cfg, app)
    updates = {"route": route, "route_pos": 0, "holder_org_id": first["org_id"],
               "submitted_at": ctx.now, "notice_starts_on": None, "notice_ends_on": None,
               "status": Status.submitted.value,
               # The personal pledge signed with this submission (BJ-PLEDGE-1, CF-PLEDGE-1).
               **pledge.signed(ctx.cfg, ctx.params.get("pledge"), ctx.now)}
    if first["kind"] == StepKind.agency.value:
        # Freelancers: the association reviewed and stamped offline (BJ-FREE-1); record it.
        updates["status"] = Status.recommended.value
        ctx.step = {"org_id": app.association_org_id, "action": "recommend_offline",
                    "reviewer_name": app.association.name if app.association else "",
                    "opinion": _record(_l("协会线下审核、公示并盖章推荐，推荐表扫描件已上传。"))}
    return updates


def _start_notice(app: Application, ctx: Ctx) -> dict:
    days = ctx.cfg.policies.notice_working_days
    today = ctx.now.date()
    ends = WorkCalendar(ctx.cfg).nth_workday_after(today, days)
    window = app.plan.window(office_stage_for(app))
    if window is not None and ends >= window.closes_on:
        # Recommendation comes the day after the notice: it would fall after the office's close.
        raise Invalid(_l("公示期将至%(e)s结束，期满后已过本阶段截止日%(c)s，无法再推荐；"
                         "请在截止日前留足%(n)d个工作日公示期。",
                         e=format_date(ends, "yyyy-MM-dd"),
                         c=format_date(window.closes_on, "yyyy-MM-dd"), n=days))
    period = notice_period.starting(ctx.cfg, today, days)
    with force_locale("zh_Hans_CN"):  # counted and worded as everywhere a notice is shown
        counted = period.text()
    ctx.step = {"action": "start_notice", "opinion": _record(_l("单位内部公示：%(p)s。", p=counted))}
    # The applicant is told by SMS, in the same commit (queued; sent by the outbox's job).
    ctx.after.append(lambda: notice_period.tell_applicant(ctx.cfg, app, period))
    return {"status": Status.in_notice.value, "notice_starts_on": today, "notice_ends_on": ends}


def _record(text) -> str:
    """Text kept in a record is written in the default language (zh-CN), whoever acts."""
    with force_locale("zh_Hans_CN"):
        return str(text)


def _recommend(app: Application, ctx: Ctx) -> dict:
    opinion = (ctx.params.get("opinion") or "").strip()
    if not opinion:
        raise Invalid(_l("请填写推荐意见。"))
    renotice = not app.correction_due or ctx.cfg.policies.renotice_after_agency_return
    if app.current_step["kind"] == StepKind.employer.value and renotice:
        if app.status != Status.in_notice.value:
            raise Invalid(_l("须先进行单位内部公示（不少于%(n)d个工作日）。",
                             n=ctx.cfg.policies.notice_working_days))
        if ctx.now.date() <= app.notice_ends_on:
            raise Invalid(_l("公示期至%(d)s结束，期满无异议后方可推荐。",
                             d=format_date(app.notice_ends_on, "yyyy-MM-dd")))
        if not ctx.params.get("no_objection"):
            raise Invalid(_l("请确认公示期间无异议。"))
    if app.current_step["kind"] == StepKind.employer.value:
        from .unit_scope import check_verified
        check_verified(ctx.cfg, app, ctx.params)  # SR-SCOPE-1: the unit confirms its own staff
    pos = app.route_pos + 1
    ctx.step = {"action": "recommend", "opinion": opinion}
    if pos >= len(app.route):
        raise Invalid(_l("此申报已在最后一个环节。"))
    nxt = app.route[pos]
    quotas.check_forwarding(ctx.cfg, app, nxt["kind"])
    directed.check_sending_on(app, app.holder_org_id)  # CF-WIN-4
    status = (Status.recommended if nxt["kind"] == StepKind.agency.value else Status.submitted).value
    return {"status": status, "route_pos": pos, "holder_org_id": nxt["org_id"]}


def correction_items(ctx: Ctx) -> list[dict]:
    """Every correction at once (一次性告知), each pointing at a section or a material."""
    items = [{"target": i.get("target", ""), "text": i["text"].strip()[:300]}
             for i in ctx.params.get("items", []) if (i.get("text") or "").strip()]
    if not items:
        raise Invalid(_l("退回须一次性列明全部需要补正的内容（至少一项）。"))
    targets = {"basic", *(s.value for s in Section),
               *(f"material:{m.code}" for m in ctx.cfg.checklist.material)}
    if any(i["target"] not in targets for i in items):
        raise Invalid(_l("每项补正内容须对应一个栏目或一类材料。"))
    return items


def _return(app: Application, ctx: Ctx) -> dict:
    from .agency import snapshot  # as returned: the history shows what the correction changed
    items = correction_items(ctx)
    ctx.step = {"action": "return", "opinion": (ctx.params.get("opinion") or "").strip(),
                "items": items, "snapshot": snapshot(app)}
    return {"status": Status.returned.value, "holder_org_id": None, "route_pos": 0,
            "notice_starts_on": None, "notice_ends_on": None}


def _not_recommend(app: Application, ctx: Ctx) -> dict:
    reason = (ctx.params.get("opinion") or "").strip()
    if not reason:
        raise Invalid(_l("请填写不予推荐的理由。"))
    ctx.step = {"action": "not_recommend", "opinion": reason}
    return {"status": Status.not_recommended.value, "holder_org_id": None}


def _org_decision(status: OrgStatus, needs_reason: bool):
    def apply(org: Org, ctx: Ctx) -> dict:
        if needs_reason and not (ctx.params.get("opinion") or "").strip():
            raise Invalid(_l("请填写不予通过的理由。"))
        if status == OrgStatus.approved:
            # The registering clerk's account opens with the approval.
            ctx.after.append(sa.update(User).where(User.org_id == org.id, User.tenant_id ==
                                                   org.tenant_id).values(active=True))
        return {"status": status.value}
    return apply


_held = (Status.submitted.value, Status.in_notice.value)

APPLICATION_RULES: dict[str, Rule] = {
    "submit": Rule((Status.draft.value,), _is_applicant, lambda a: "apply", _enter_route),
    # A corrected application goes back into the route while the offices' window is open.
    "resubmit": Rule((Status.returned.value,), _is_applicant, office_stage_for, _enter_route),
    "start_notice": Rule((Status.submitted.value,), _is_employer_holder, office_stage_for,
                         _start_notice),
    "recommend": Rule(_held, _is_holder, office_stage_for, _recommend),
    "return": Rule(_held, _is_holder, office_stage_for, _return),
    "not_recommend": Rule(_held, _is_holder, office_stage_for, _not_recommend),
}

ORG_RULES: dict[str, Rule] = {
    "approve": Rule((OrgStatus.pending.value,), _is_territorial_hr, lambda o: None,
                    _org_decision(OrgStatus.approved, False)),
    "reject": Rule((OrgStatus.pending.value,), _is_territorial_hr, lambda o: None,
                   _org_decision(OrgStatus.rejected, True)),
}


RULES: dict[type, dict[str, Rule]] = {Application: APPLICATION_RULES, Org: ORG_RULES}
STATE_LABELS: dict[type, dict] = {}


def register(model: type, rules: dict[str, Rule], labels: dict | None = None) -> None:
    """Other workflow modules add their actions (and their states' labels) here; transition()
    serves them all."""
    RULES.setdefault(model, {}).update(rules)
    if labels:
        STATE_LABELS[model] = labels


def _refuse_closed(plan, stage, now: datetime) -> None:
    window = plan.window(stage) if isinstance(stage, str) else stage
    if window_is_open(window, now):
        return
    if window is None:
        raise WindowClosed(_l("本计划没有此阶段。"))
    if now.date() < window.opens_on:
        raise WindowClosed(_l("本阶段将于%(d)s开始。", d=format_date(window.opens_on, "yyyy-MM-dd")))
    raise WindowClosed(_l("本阶段已于%(d)s 24:00截止，不再受理。",
                          d=format_date(window.closes_on, "yyyy-MM-dd")))


def _checked(cfg, subject, action: str, actor: Actor, expected_version, now: datetime,
             params: dict) -> tuple[Ctx, dict]:
    """Every check of `action` and the changes it would make; raises, writing nothing."""
    model = type(subject)
    rule = RULES.get(model, {}).get(action)
    if rule is None or subject.tenant_id != actor.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    # A page loaded before someone else acted: say so, whoever holds the record now.
    if expected_version is not None and expected_version != subject.version:
        raise Conflict(_l("该记录已被他人处理，请刷新后查看最新状态。"))
    if not rule.permits(actor, subject):
        raise Forbidden(_l("无权进行此操作。"))
    if subject.status not in rule.sources:
        labels = STATE_LABELS.get(model, STATUS_LABELS)
        raise Conflict(_l("该记录当前状态为“%(s)s”，不能进行此操作（可能已被他人处理）。",
                          s=labels.get(subject.status, subject.status)))
    stage = rule.window(subject)
    if stage is not None:
        _refuse_closed(subject.plan, stage, now)
    ctx = Ctx(cfg, actor, now, params)
    return ctx, rule.apply(subject, ctx)


def check(cfg, subject, action: str, actor: Actor, *, expected_version: int | None = None,
          now: datetime | None = None, **params) -> None:
    """What `transition` would say, without writing anything: raises its TransitionError, or
    returns when the action would go through now (a confirmation page's preview)."""
    _checked(cfg, subject, action, actor, expected_version, now_local(now), params)


def transition(cfg, subject, action: str, actor: Actor, *, expected_version: int | None = None,
               now: datetime | None = None, **params) -> None:
    """Apply `action` to an Application or Org, or raise a TransitionError changing nothing."""
    model = type(subject)
    if RULES.get(model, {}).get(action) is None or subject.tenant_id != actor.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    now = now_local(now)
    try:
        ctx, updates = _checked(cfg, subject, action, actor, expected_version, now, params)
        from_state, version = subject.status, subject.version
        result = db.session.execute(
            sa.update(model)
            .where(model.id == subject.id, model.version == version, model.status == from_state)
            .values(**updates, version=model.version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict(_l("该记录已被他人处理，请刷新后查看最新状态。"))
        for stmt in ctx.after:  # a statement, or a callable such as a bulk.move_set
            stmt() if callable(stmt) else db.session.execute(stmt)
        if ctx.step is not None:
            step = {"org_id": actor.org_id, "reviewer_name": actor.name, **ctx.step}
            app_id = step.pop("application_id", subject.id)
            db.session.add(ReviewStep(application_id=app_id, actor_id=actor.user_id, at=now,
                                      **step))
        db.session.add(AuditEvent(
            tenant_id=actor.tenant_id, at=now, actor_id=actor.user_id, actor_name=actor.name,
            actor_role=actor.role, actor_org_id=actor.org_id, ip=actor.ip,
            subject_type=model.__tablename__, subject_id=subject.id, action=action,
            from_state=from_state, to_state=updates.get("status", from_state),
            reason=(params.get("opinion") or "").strip()))
        db.session.commit()
    except Exception as e:
        db.session.rollback()
        if isinstance(e, Recorded):  # a refusal kept for supervision (SR-SUPERV-1)
            e.keep()
        raise
    db.session.refresh(subject)


def audit(actor: Actor, subject_type: str, subject_id: int | None, action: str,
          reason: str = "", to_state: str | None = None, now: datetime | None = None,
          from_state: str | None = None) -> None:
    """Record an event that is not a state change of an application (login, upload, create)."""
    db.session.add(AuditEvent(
        tenant_id=actor.tenant_id, at=now or utcnow(), actor_id=actor.user_id, actor_name=actor.name,
        actor_role=actor.role, actor_org_id=actor.org_id, ip=actor.ip, subject_type=subject_type,
        subject_id=subject_id, action=action, from_state=from_state, to_state=to_state,
        reason=reason))


ACTION_LABELS = {
    "submit": _l("提交申报"), "resubmit": _l("补正后重新提交"), "start_notice": _l("开始单位公示"),
    "recommend": _l("推荐"), "recommend_offline": _l("协会线下推荐"), "return": _l("退回补正"),
    "not_recommend": _l("不予推荐"), "approve": _l("通过"), "reject": _l("不予通过"),
    "check_pass": _l("审核通过"), "agency_return": _l("一次性告知补正"),
    "confirm_payment": _l("确认缴费"),
}


def action_label(action: str):
    return ACTION_LABELS.get(action, action)


STATUS_LABELS = {
    Status.draft.value: _l("草稿"),
    Status.submitted.value: _l("待审核"),
    Status.in_notice.value: _l("单位公示中"),
    Status.returned.value: _l("退回补正"),
    Status.recommended.value: _l("已推荐至评审服务机构"),
    Status.checked.value: _l("评审服务机构审核通过"),
    Status.paid.value: _l("已缴费"),
    Status.annulled.value: _l("评审结果已撤销"),
    Status.certified.value: _l("已发证"),
    Status.in_review.value: _l("评审中"),
    Status.passed.value: _l("评审通过"),
    Status.failed.value: _l("评审未通过"),
    Status.not_recommended.value: _l("未推荐"),
    Status.abandoned.value: _l("视为放弃"),
    OrgStatus.pending.value: _l("待审核"),
    OrgStatus.approved.value: _l("已通过"),
    OrgStatus.rejected.value: _l("未通过"),
}


def status_label(status: str):
    return STATUS_LABELS.get(status, status)

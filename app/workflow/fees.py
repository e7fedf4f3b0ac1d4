"""Fees (BJ-FEE-1): the agency sets when and how much the applicants of one of its committees pay
for a plan; a checked file is paid inside that window, online or by a bank transfer the agency
confirms; a file still unpaid when the window closes is abandoned. Only checked-and-paid files
reach the committee (`sessions.ready_status`).

Every payment is confirmed by the transition "confirm_payment", which records the paid Payment in
the same commit as the file's change. Before the agency sets a fee window for a committee and plan
nobody can pay online, and the agency may still confirm an offline transfer within the plan's
agency_check window."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Application, Committee, JobRun, Role, Status, utcnow
from ..models.fees import FeeWindow, Payment, PaymentProvider, PaymentStatus
from .actors import Actor
from .agency import own_committee_and_plan
from .calendar import closes_at, now_local, opens_at, window_is_open
from .deadlines import Close, finished_keys, move_rows, recorded
from .errors import Conflict, Forbidden, Invalid, TransitionError, WindowClosed
from .transitions import Ctx, Rule, _is_holder, _record, audit, register, transition

PROVIDER_LABELS = {PaymentProvider.offline.value: _l("银行转账"),
                   PaymentProvider.gateway.value: _l("网上支付")}
PAYMENT_STATUS_LABELS = {PaymentStatus.pending.value: _l("待支付"),
                         PaymentStatus.paid.value: _l("已支付"),
                         PaymentStatus.failed.value: _l("未成功")}
FEE_CLOSE = Close(Status.checked.value, Status.abandoned.value, "逾期未缴费，视为放弃申报")
SYSTEM = "system"
MAX_FEN = 10_000_000  # 10万元: far above any evaluation fee, so an extra digit is caught


# -- the window ------------------------------------------------------------------------------

def fee_window(app: Application) -> FeeWindow | None:
    """The fee window of the file's committee and plan, if the agency has set one."""
    return db.session.scalar(sa.select(FeeWindow).filter_by(
        tenant_id=app.tenant_id, committee_id=app.committee_id, plan_id=app.plan_id))


def agency_committees(tenant_id: int, agency_org_id: int) -> list[Committee]:
    return db.session.scalars(sa.select(Committee).filter_by(
        tenant_id=tenant_id, agency_org_id=agency_org_id).order_by(Committee.id)).all()


def agency_windows(tenant_id: int, agency_org_id: int) -> list[FeeWindow]:
    return db.session.scalars(
        sa.select(FeeWindow).join(Committee, FeeWindow.committee_id == Committee.id)
        .where(FeeWindow.tenant_id == tenant_id, Committee.agency_org_id == agency_org_id)
        .order_by(FeeWindow.closes_on.desc(), FeeWindow.id)).all()


def window_counts(tenant_id: int, windows: list[FeeWindow]) -> dict[int, dict[str, int]]:
    """Per window id: files awaiting payment ("checked") and payments received ("paid")."""
    keys = {(w.committee_id, w.plan_id): w.id for w in windows}
    out = {w.id: {"checked": 0, "paid": 0} for w in windows}
    if not windows:
        return out
    by = (Application.committee_id, Application.plan_id)
    waiting = db.session.execute(
        sa.select(*by, sa.func.count()).where(Application.tenant_id == tenant_id,
                                              Application.status == Status.checked.value)
        .group_by(*by))
    paid = db.session.execute(
        sa.select(*by, sa.func.count()).join(Payment, Payment.application_id == Application.id)
        .where(Application.tenant_id == tenant_id, Payment.status == PaymentStatus.paid.value)
        .group_by(*by))
    for kind, rows in (("checked", waiting), ("paid", paid)):
        for committee_id, plan_id, n in rows:
            if (committee_id, plan_id) in keys:
                out[keys[committee_id, plan_id]][kind] = n
    return out


def to_fen(yuan: Decimal | str | None) -> int:
    """An amount in yuan as typed (at most two decimals) → fen; Invalid otherwise."""
    try:
        fen = Decimal(str(yuan).strip()) * 100
    except (InvalidOperation, ValueError):
        raise Invalid(_l("请填写缴费金额（元）。")) from None
    if not fen.is_finite():
        raise Invalid(_l("请填写缴费金额（元）。"))
    if fen != fen.to_integral_value():
        raise Invalid(_l("缴费金额最多精确到分。"))
    return int(fen)


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def set_fee_window(cfg, actor: Actor, *, committee_id: int, plan_id: int, opens_on: date,
                   closes_on: date, amount: int, instructions: str = "") -> FeeWindow:
    """Set (or change) the fee window and amount of one committee and plan; only the agency that
    formed the committee may."""
    committee, plan = own_committee_and_plan(
        actor, committee_id, plan_id, _l("只有组建该评委会的评审服务机构可以设定缴费。"))
    if not cfg.policies.fee_required:
        raise Invalid(_l("本地区评审不收取费用。"))
    problems = []
    if not opens_on or not closes_on or opens_on > closes_on:
        problems.append(_l("缴费开始日期不能晚于截止日期。"))
    if not isinstance(amount, int) or not 0 < amount <= MAX_FEN:
        problems.append(_l("缴费金额须大于0且不超过%(max)s元。", max=yuan(MAX_FEN)))
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    window = db.session.scalar(sa.select(FeeWindow).filter_by(committee_id=committee.id,
                                                              plan_id=plan.id))
    if window is None:
        window = FeeWindow(tenant_id=actor.tenant_id, committee_id=committee.id, plan_id=plan.id)
        db.session.add(window)
    window.opens_on, window.closes_on, window.amount = opens_on, closes_on, amount
    window.instructions, window.set_by = (instructions or "").strip()[:2000], actor.user_id
    db.session.flush()
    audit(actor, "fee_windows", window.id, "set_fee_window", reason=_record(_l(
        "%(a)s 至 %(b)s，%(y)s元", a=opens_on.isoformat(), b=closes_on.isoformat(),
        y=yuan(amount))))
    db.session.commit()
    return window


@dataclass(frozen=True)
class Payability:
    """Whether a file can be paid now: its window, and why not when it cannot."""
    window: FeeWindow | None
    refusal: TransitionError | None = None

    @property
    def open(self) -> bool:
        return self.refusal is None


def payability(cfg, app: Application, now: datetime | None = None) -> Payability:
    if not cfg.policies.fee_required:
        return Payability(None, Invalid(_l("本地区评审不收取费用。")))
    window = fee_window(app)
    if app.status != Status.checked.value:
        return Payability(window, Conflict(_l("只有评审服务机构审核通过、尚未缴费的申报可以缴费。")))
    if window is None:
        return Payability(None, WindowClosed(_l("评审服务机构尚未公布缴费时间，请留意通知。")))
    if window_is_open(window, now):
        return Payability(window)
    if now_local(now) < opens_at(window.opens_on):
        return Payability(window, WindowClosed(_l("缴费将于%(d)s开始。",
                                                  d=window.opens_on.isoformat())))
    return Payability(window, WindowClosed(_l(
        "缴费已于%(d)s 24:00截止，逾期未缴费视为放弃申报。", d=window.closes_on.isoformat())))


# -- orders and their outcome ----------------------------------------------------------------

def new_order_no(now: datetime | None = None) -> str:
    """Date plus 64 random bits: unique in practice, not guessable, safe to show."""
    return f"{now_local(now):%Y%m%d}{secrets.token_hex(8).upper()}"


def open_order(cfg, app: Application, actor: Actor, now: datetime | None = None) -> Payment:
    """A pending gateway order for the applicant's own checked file, inside the fee window.
    A pending order of the same amount is reused, so the gateway never sees two orders that
    could both be paid."""
    if actor.role != Role.applicant.value or actor.user_id != app.applicant_id:
        raise Forbidden(_l("无权进行此操作。"))
    state = payability(cfg, app, now)
    if not state.open:
        raise state.refusal
    pending = db.session.scalar(sa.select(Payment).filter_by(
        application_id=app.id, provider=PaymentProvider.gateway.value,
        status=PaymentStatus.pending.value, amount=state.window.amount).order_by(Payment.id.desc()))
    if pending is not None:
        return pending
    payment = Payment(tenant_id=app.tenant_id, application_id=app.id,
                      provider=PaymentProvider.gateway.value, amount=state.window.amount,
                      order_no=new_order_no(now), created_at=now_local(now))
    db.session.add(payment)
    db.session.commit()
    return payment


def payment_by_order(tenant_id: int, order_no: str) -> Payment | None:
    return db.session.scalar(sa.select(Payment).filter_by(tenant_id=tenant_id,
                                                          order_no=order_no))


def settle(cfg, payment: Payment, *, trade_no: str, amount: int, paid: bool,
           now: datetime | None = None) -> Payment:
    """Apply a verified gateway notification. Idempotent: an order already settled is left as
    it is. A payment that cannot be accepted (the window closed, the file moved on) is recorded as
    failed with the gateway's trade number, which marks it for the agency to refund."""
    if payment.status != PaymentStatus.pending.value:
        return payment
    trade_no = (trade_no or "").strip()[:200]
    if not paid:  # no money moved: no trade number kept, so a failed row with one means a refund
        _fail(payment, "", _record(_l("支付未成功。")))
        return payment
    if not trade_no:
        raise Invalid(_l("缺少支付单号。"))
    if amount != payment.amount:
        raise Invalid(_l("支付金额与订单金额不符。"))
    try:
        transition(cfg, payment.application, "confirm_payment", Actor.system(payment.tenant_id),
                   now=now, reference=trade_no, order_no=payment.order_no)
    except TransitionError as e:
        db.session.refresh(payment)
        if payment.status == PaymentStatus.pending.value:  # else a copy of this notice won
            _fail(payment, trade_no, _record(e.message))
    db.session.refresh(payment)
    return payment


def _fail(payment: Payment, trade_no: str, reason: str) -> None:
    changed = db.session.execute(
        sa.update(Payment).where(Payment.id == payment.id,
                                 Payment.status == PaymentStatus.pending.value)
        .values(status=PaymentStatus.failed.value, reference=trade_no)
        .execution_options(synchronize_session=False)).rowcount
    if changed:
        audit(Actor.system(payment.tenant_id), "payments", payment.id, "payment_failed",
              reason=reason, to_state=PaymentStatus.failed.value)
    db.session.commit()
    db.session.refresh(payment)


def payments_of(app: Application) -> list[Payment]:
    return db.session.scalars(sa.select(Payment).filter_by(application_id=app.id)
                              .order_by(Payment.id.desc())).all()


def agency_payments(tenant_id: int, agency_org_id: int, status: str | None = None,
                    limit: int = 200) -> list[Payment]:
    """Payments for files of this agency's committees, newest first."""
    q = (sa.select(Payment).join(Application, Payment.application_id == Application.id)
         .join(Committee, Application.committee_id == Committee.id)
         .where(Payment.tenant_id == tenant_id, Committee.agency_org_id == agency_org_id))
    if status:
        q = q.where(Payment.status == status)
    return db.session.scalars(q.order_by(Payment.id.desc()).limit(limit)).all()


# -- the transition --------------------------------------------------------------------------

def _may_confirm(actor: Actor, app: Application) -> bool:
    """The holding agency confirms an offline transfer; the system confirms gateway payments."""
    return _is_holder(actor, app) or (actor.role == SYSTEM and actor.tenant_id == app.tenant_id)


def _fee_stage(app: Application):
    """The fee window of the file's committee and plan; before one is set, the agency_check
    stage (an offline transfer confirmed by the agency)."""
    return fee_window(app) or "agency_check"


def _confirm(app: Application, ctx: Ctx) -> dict:
    reference = (ctx.params.get("reference") or "").strip()[:200]
    if not reference:
        raise Invalid(_l("请填写缴费凭证号（银行流水号或支付单号）。"))
    order_no = ctx.params.get("order_no")
    if order_no:
        if ctx.actor.role != SYSTEM:
            raise Forbidden(_l("网上缴费由支付平台通知确认。"))
        payment = db.session.scalar(sa.select(Payment).filter_by(
            order_no=order_no, application_id=app.id, status=PaymentStatus.pending.value))
        if payment is None:
            raise Conflict(_l("该订单已处理。"))
        ctx.after.append(sa.update(Payment).where(Payment.id == payment.id,
                                                  Payment.status == PaymentStatus.pending.value)
                         .values(status=PaymentStatus.paid.value, reference=reference,
                                 paid_at=ctx.now))
        opinion = _l("网上缴费，支付单号：%(r)s", r=reference)
    else:
        if ctx.actor.role == SYSTEM:
            raise Forbidden(_l("线下转账由评审服务机构核对确认。"))
        window = fee_window(app)
        ctx.after.append(sa.insert(Payment).values(
            tenant_id=app.tenant_id, application_id=app.id, provider=PaymentProvider.offline.value,
            amount=window.amount if window else 0, status=PaymentStatus.paid.value,
            reference=reference, order_no=new_order_no(ctx.now), created_at=ctx.now,
            paid_at=ctx.now))
        opinion = _l("线下转账，银行流水号：%(r)s", r=reference)
    ctx.step = {"action": "confirm_payment", "opinion": _record(opinion)}
    return {"status": Status.paid.value}


register(Application, {
    "confirm_payment": Rule((Status.checked.value,), _may_confirm, _fee_stage, _confirm),
})


# -- the close -------------------------------------------------------------------------------

def fee_close_key(window: FeeWindow) -> str:
    return (f"fees:{window.tenant_id}:{window.committee_id}:{window.plan_id}:"
            f"{window.closes_on.isoformat()}")


def close_fee_windows(tenant_id: int, now: datetime | None = None,
                      rq_job_id: str | None = None) -> list[JobRun]:
    """Abandon the files still unpaid in every fee window of the tenant that has closed. Each
    close runs once (its key names the closing day, so a window moved later closes again)."""
    now = now_local(now)
    done = finished_keys(tenant_id)
    return [close_fee_window(w, rq_job_id) for w in _fee_windows(tenant_id)
            if now >= closes_at(w.closes_on) and fee_close_key(w) not in done]


def close_fee_window(window: FeeWindow, rq_job_id: str | None = None) -> JobRun:
    """Abandon the files of one fee window's committee and plan still unpaid; safe to run
    again (a second run finds nothing left to move)."""
    where = [Application.tenant_id == window.tenant_id,
             Application.committee_id == window.committee_id,
             Application.plan_id == window.plan_id]
    run = JobRun(tenant_id=window.tenant_id, name="close_fees", key=fee_close_key(window),
                 rq_job_id=rq_job_id, started_at=utcnow())
    return recorded(run, lambda: move_rows(run, where, FEE_CLOSE, "close_fees"))


def fee_close_days(tenant_id: int) -> list[date]:
    """The distinct closing days of the tenant's fee windows whose close has not run yet."""
    done = finished_keys(tenant_id)
    return sorted({w.closes_on for w in _fee_windows(tenant_id) if fee_close_key(w) not in done})


def _fee_windows(tenant_id: int) -> list[FeeWindow]:
    """The tenant's fee windows in closing order; none where the tenant charges no fee."""
    from ..tenancy import config_for

    if not config_for(tenant_id).policies.fee_required:
        return []
    return db.session.scalars(sa.select(FeeWindow).filter_by(tenant_id=tenant_id)
                              .order_by(FeeWindow.closes_on, FeeWindow.id)).all()

"""Fees (BJ-FEE-1): after the agency's check passes, the applicant pays; only checked-and-paid
files reach the committee."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..models import Application, Status
from .actors import Actor
from .errors import Invalid
from .transitions import Ctx, Rule, _is_holder, register


def _may_confirm(actor: Actor, app: Application) -> bool:
    """The holding agency confirms an offline transfer; the system confirms gateway payments."""
    return _is_holder(actor, app) or (actor.role == "system" and actor.tenant_id == app.tenant_id)


def _confirm(app: Application, ctx: Ctx) -> dict:
    reference = (ctx.params.get("reference") or "").strip()
    if not reference:
        raise Invalid(_l("请填写缴费凭证号（银行流水号或支付单号）。"))
    ctx.step = {"action": "confirm_payment", "opinion": reference[:200]}
    return {"status": Status.paid.value}


register(Application, {
    "confirm_payment": Rule((Status.checked.value,), _may_confirm, lambda a: "agency_check",
                            _confirm),
})

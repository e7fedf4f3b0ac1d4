"""False material found while a file is under way (BJ-INTEG-1 四(一), CF-INTEG-1 七(一)): the
office that found it disqualifies the file (取消申报资格) with its reason, and the person enters
the integrity record for the tenant's years. A case marked serious (情节严重) also bars new
applications while the record runs. A title already granted is revoked through the
certificate's own revocation instead."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..models import Application, Role, Status, utcnow
from ..models.certificates import IntegrityRecord
from ..tenancy.schema import StepKind
from .actors import Actor
from .certificates import REVOKE_LABELS
from .errors import Invalid
from .integrity import record_ends, record_years
from .routing import STEP_ROLE
from .transitions import ACTION_LABELS, STATUS_LABELS, Ctx, Rule, register

# Every state from submission to the result, short of a granted title (revoked instead).
SOURCES = (Status.submitted.value, Status.in_notice.value, Status.returned.value,
           Status.recommended.value, Status.checked.value, Status.paid.value,
           Status.in_review.value, Status.passed.value, Status.failed.value)


def may_disqualify(actor: Actor, app: Application) -> bool:
    """An office on the file's route (in the role that step takes), the recommending
    association, or the committee's office (the agency that formed it)."""
    for step in app.route or []:
        if step["org_id"] == actor.org_id and actor.role == STEP_ROLE[StepKind(step["kind"])].value:
            return True
    if actor.role == Role.association_clerk.value and actor.org_id == app.association_org_id:
        return actor.org_id is not None
    return (actor.role == Role.agency_clerk.value and app.committee is not None
            and actor.org_id == app.committee.agency_org_id)


def _disqualify(app: Application, ctx: Ctx) -> dict:
    kind = ctx.params.get("kind")
    facts = (ctx.params.get("opinion") or "").strip()
    if kind not in REVOKE_LABELS:
        raise Invalid(_l("请选择取消申报资格的原因。"))
    if not facts:
        raise Invalid(_l("请写明经核实的违规事实。"))
    serious = bool(ctx.params.get("serious"))
    with force_locale("zh_Hans_CN"):
        reason = f"{REVOKE_LABELS[kind]}：{facts[:2000]}"
        if serious:
            reason = f"{reason}（{_l('情节严重')}）"
    today, person = ctx.now.date(), app.applicant
    ctx.after.append(sa.insert(IntegrityRecord).values(
        tenant_id=app.tenant_id, user_id=person.id, id_number_hash=person.id_number_hash,
        reason=reason, starts_on=today, ends_on=record_ends(today, record_years(ctx.cfg)),
        application_id=app.id, serious=serious, created_by=ctx.actor.user_id,
        created_at=utcnow()))
    ctx.step = {"action": "disqualify", "opinion": reason}
    return {"status": Status.disqualified.value, "holder_org_id": None, "correction_due": None}


register(Application, {
    # No window: false material found at any step, whenever it is found.
    "disqualify": Rule(SOURCES, may_disqualify, lambda a: None, _disqualify),
})
ACTION_LABELS["disqualify"] = _l("取消申报资格")
STATUS_LABELS[Status.disqualified.value] = _l("已取消申报资格")

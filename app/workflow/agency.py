"""The review service agency's completeness check (BJ-WIN-3, CF-WIN-3): pass, or return with
every correction at once and a deadline; on the re-check, what changed since the return."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from ..models import Application, Status
from .errors import Invalid
from .transitions import Ctx, Rule, _is_holder, correction_items, register


def snapshot(app: Application) -> dict:
    """The parts of a file a correction can touch, as they are now."""
    return {
        "basic": {k: v for k, v in (app.basic or {}).items() if k != "name"},
        "flags": {"poge": app.poge, "exam_passed": app.exam_passed,
                  "intl_qualification": app.intl_qualification, "policy": app.policy},
        "entries": sorted(([e.section, e.data] for e in app.entries), key=repr),
        "attachments": sorted(([a.material, a.filename, a.sha256] for a in app.attachments),
                              key=repr),
    }


def changes_since(app: Application | None, before: dict | None, now: dict | None = None) -> dict:
    """{"basic": [field...], "added": [(section, data)], "removed": [...], "files_added": [...],
    "files_removed": [...]} between the snapshot taken at the return and the file now (or the
    snapshot `now`)."""
    if not before:
        return {}
    now = snapshot(app) if now is None else now
    basic = sorted(k for k in set(now["basic"]) | set(before["basic"])
                   if now["basic"].get(k) != before["basic"].get(k))
    basic += sorted(k for k in now["flags"] if now["flags"][k] != before["flags"].get(k))

    def minus(a, b):
        rest = list(b)
        out = []
        for x in a:
            if x in rest:
                rest.remove(x)
            else:
                out.append(x)
        return out
    return {"basic": basic,
            "added": minus(now["entries"], before["entries"]),
            "removed": minus(before["entries"], now["entries"]),
            "files_added": minus(now["attachments"], before["attachments"]),
            "files_removed": minus(before["attachments"], now["attachments"])}


def changed_targets(diff: dict) -> set[str]:
    """The correction targets (basic, a section, a material) a diff from changes_since touches."""
    if not diff:
        return set()
    out = {"basic"} if diff["basic"] else set()
    out |= {sec for sec, _data in diff["added"] + diff["removed"]}
    out |= {f"material:{m}" for m, _n, _h in diff["files_added"] + diff["files_removed"]}
    return out


def target_name(cfg, target: str):
    """A correction target as the clerk reads it: basic information, a section, a material."""
    from ..tenancy import label
    from .applications import SECTION_TITLES
    if target.startswith("material:"):
        return label(cfg.material(target.split(":", 1)[1])) or target
    return _l("基本信息") if target == "basic" else SECTION_TITLES.get(target, target)


def second_return_scope(app: Application) -> dict | None:
    """What a further return may list (BJ-WIN-3, 一次性告知), each target with why: "uncorrected"
    (an item of the previous return whose part of the file is unchanged since) or "changed" (a
    part the correction itself changed, listed or not). None when the agency never returned the
    file (the first list is free)."""
    before = last_return(app)
    if before is None or not before.snapshot:
        return None
    changed = changed_targets(changes_since(app, before.snapshot))
    listed = {i.get("target", "") for i in before.items or []}
    return {**{t: "uncorrected" for t in listed - changed}, **{t: "changed" for t in changed}}


def second_return_targets(app: Application) -> set[str] | None:
    scope = second_return_scope(app)
    return None if scope is None else set(scope)


def _check_pass(app: Application, ctx: Ctx) -> dict:
    ctx.step = {"action": "check_pass", "opinion": (ctx.params.get("opinion") or "").strip()}
    return {"status": Status.checked.value, "correction_due": None}


def _agency_return(app: Application, ctx: Ctx) -> dict:
    items = correction_items(ctx)
    allowed = second_return_targets(app)
    if allowed is not None:
        late = [i for i in items if i["target"] not in allowed]
        if late:
            raise Invalid(_l("补正内容已于上次退回时一次性告知；再次退回只能列明上次告知但未补正的内容，"
                             "或补正时改动的内容。以下内容不在此范围："),
                          problems=[_l("%(t)s：%(x)s", t=target_name(ctx.cfg, i["target"]),
                                       x=i["text"]) for i in late])
    due = ctx.params.get("due") or (ctx.now.date()
                                     + timedelta(days=ctx.cfg.policies.correction_days))
    if not isinstance(due, date) or due <= ctx.now.date():
        raise Invalid(_l("补正期限须晚于今天。"))
    window = app.plan.window("agency_check")
    if due > window.closes_on:
        raise Invalid(_l("补正期限不能晚于审核截止日%(d)s。", d=window.closes_on.isoformat()))
    ctx.step = {"action": "agency_return", "items": items, "snapshot": snapshot(app),
                "opinion": (ctx.params.get("opinion") or "").strip()}
    return {"status": Status.returned.value, "holder_org_id": None, "route_pos": 0,
            "notice_starts_on": None, "notice_ends_on": None, "correction_due": due}


register(Application, {
    "check_pass": Rule((Status.recommended.value,), _is_holder, lambda a: "agency_check",
                       _check_pass),
    "agency_return": Rule((Status.recommended.value,), _is_holder, lambda a: "agency_check",
                          _agency_return),
})


def own_committee_and_plan(actor, committee_id: int, plan_id: int, refused):
    """The committee and plan named in a form, when the acting clerk's agency formed that
    committee; Invalid when either is missing, Forbidden (with `refused`) otherwise."""
    import sqlalchemy as sa

    from ..extensions import db
    from ..models import Committee, Plan, Role
    from .errors import Forbidden

    committee = db.session.scalar(sa.select(Committee).filter_by(id=committee_id,
                                                                 tenant_id=actor.tenant_id))
    plan = db.session.scalar(sa.select(Plan).filter_by(id=plan_id, tenant_id=actor.tenant_id))
    if committee is None or plan is None:
        raise Invalid(_l("请选择评委会和申报计划。"))
    if actor.role != Role.agency_clerk.value or actor.org_id != committee.agency_org_id:
        raise Forbidden(refused)
    return committee, plan


def last_return(app: Application):
    """The agency's most recent return of this file, if any."""
    return next((s for s in reversed(app.steps) if s.action == "agency_return"), None)

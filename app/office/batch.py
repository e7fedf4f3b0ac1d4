"""Batch actions from an office's list (the office pages and the agency's): the selection, a
confirmation page listing exactly the files and what will happen to each, the result, and the
undo for a short while. The same views serve both blueprints; each keeps its own guard."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..web import client_ip, flash_error, render_page
from ..workflow import batch as svc
from ..workflow.calendar import now_local, today_local
from ..workflow.errors import TransitionError


def _form() -> dict:
    return {"action": request.form.get("action", ""),
            "opinion": (request.form.get("opinion") or "").strip()[:2000],
            "no_objection": request.form.get("no_objection") == "y",
            "insurance_verified": request.form.get("insurance_verified") == "y",
            "session_id": request.form.get("session", type=int)}


def _selected() -> list[int]:
    return svc.clean_ids(request.form.getlist("ids"))


def _refuse(message: str):
    flash(message, "error")
    return redirect(url_for(".inbox"), 303)


def preview():
    """The confirmation page: exactly the files selected, what will happen to each, and those
    the action cannot apply to with the reason. Nothing is written."""
    form = _form()
    ids = _selected()
    if not ids:
        return _refuse(_("请先勾选要办理的申报。"))
    if len(ids) > svc.MAX_FILES:
        return _refuse(_("一次最多办理%(n)d件。", n=svc.MAX_FILES))
    problem = svc.form_problem(current_user, form["action"], form["opinion"], form["session_id"])
    apps, unknown = svc.selection(current_user, ids, today_local())
    if problem:
        if not apps:
            return _refuse(problem)
        # The selection is kept: the form again with what was entered and the files chosen,
        # so a forgotten opinion does not cost the clerk a list's worth of ticks.
        return render_page("office/batch_fix.html", problem=problem, form=form, apps=apps,
                           unknown=unknown), 422
    ok, refused = svc.preview(g.tenant, current_user, form["action"], apps,
                              opinion=form["opinion"], no_objection=form["no_objection"],
                              insurance_verified=form["insurance_verified"],
                              session_id=form["session_id"], ip=client_ip())
    return render_page("office/batch_confirm.html", form=form, ok=ok, refused=refused,
                       unknown=unknown,
                       action_name=svc.action_label(current_user, form["action"]),
                       undo_minutes=svc.undo_minutes() if form["action"] in svc.UNDOABLE
                       else None)


def confirm():
    """Each confirmed file through its service, one by one, at the version shown."""
    form = _form()
    ids = _selected()
    if not ids or len(ids) > svc.MAX_FILES:
        return _refuse(_("请先勾选要办理的申报。"))
    problem = svc.form_problem(current_user, form["action"], form["opinion"], form["session_id"])
    if problem:
        return _refuse(problem)
    versions = {i: request.form.get(f"version-{i}", type=int) for i in ids}
    apps, unknown = svc.selection(current_user, ids, today_local())
    if not apps:
        return _refuse(_("所选申报均已不在本单位办理。"))
    try:
        b = svc.run(g.tenant, current_user, form["action"], apps,
                    {i: v for i, v in versions.items() if v is not None},
                    opinion=form["opinion"], no_objection=form["no_objection"],
                    insurance_verified=form["insurance_verified"],
                    session_id=form["session_id"], ip=client_ip())
    except TransitionError as e:
        flash_error(e)
        return redirect(url_for(".inbox"), 303)
    if unknown:
        flash(_("%(n)d件已不在本单位办理，未办理。", n=len(unknown)), "error")
    return redirect(url_for(".batch_detail", batch_id=b.id), 303)


def detail(batch_id):
    """What a batch did: the files that went through, those refused with the reason, and the
    undo while it is open."""
    b = svc.batch_of(current_user, batch_id)
    if b is None:
        abort(404)
    return render_page("office/batch.html", b=b,
                       action_name=svc.action_label(current_user, b.action),
                       may_undo=svc.undo_open(b, current_user))


def undo(batch_id):
    b = svc.batch_of(current_user, batch_id)
    if b is None:
        abort(404)
    if not svc.undo_open(b, current_user, now_local()):
        flash(_("该批次已不能撤销（仅办理人本人可在办理后%(n)d分钟内撤销）。",
                n=svc.undo_minutes()), "error")
        return redirect(url_for(".batch_detail", batch_id=b.id), 303)
    try:
        result = svc.undo(g.tenant, current_user, b, ip=client_ip())
    except TransitionError as e:
        flash_error(e)
    else:
        if result.undone:
            flash(_("已撤销%(n)d件。", n=len(result.undone)), "ok")
        for item, reason in result.refused:
            flash(_("#%(id)d 未能撤销：%(r)s", id=item.application_id, r=reason), "error")
    return redirect(url_for(".batch_detail", batch_id=b.id), 303)


def install(bp) -> None:
    """The batch routes on an office blueprint (its before_request guards them)."""
    bp.add_url_rule("/batch", "batch_preview", preview, methods=["POST"])
    bp.add_url_rule("/batch/confirm", "batch_run", confirm, methods=["POST"])
    bp.add_url_rule("/batch/<int:batch_id>", "batch_detail", detail)
    bp.add_url_rule("/batch/<int:batch_id>/undo", "batch_undo", undo, methods=["POST"])
    bp.add_app_template_global(bar_options, "batch_bar")


def bar_options() -> dict:
    """What the batch bar on a list offers this user: the form's endpoint (this blueprint's),
    the actions this office takes, the draft sessions to put files into."""
    from ..models import Role
    if not getattr(current_user, "is_authenticated", False):
        return {"actions": []}
    blueprint = "agency" if request.blueprint == "agency" else "office"
    actions = svc.actions_for(current_user)
    return {"endpoint": f"{blueprint}.batch_preview",
            "actions": [(a, svc.action_label(current_user, a)) for a in actions],
            "sessions": svc.draft_sessions(current_user) if "to_session" in actions else [],
            "employer": current_user.role in (Role.employer_clerk.value,
                                              Role.association_clerk.value),
            # a self-review unit confirms its own staff before recommending (SR-SCOPE-1)
            "verifies": current_user.role == Role.employer_clerk.value and getattr(
                current_user.org, "kind", None) == "self_review_unit"}

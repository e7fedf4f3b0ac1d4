"""Paper forms and files: the applicant's 评审表/送审表 (CF-FORMS-1) and the office's receipt of
the paper file against the checklist (CF-PAPER-1, CF-PAPER-2)."""
import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from ..extensions import db
from ..models import Application, Role
from ..office.routes import OFFICE_ROLES
from ..web import client_ip, flash_error, render_page
from ..workflow import paper
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError


@bp.before_request
@login_required
def _signed_in():
    """Every paper page is for a signed-in user of this tenant."""


@bp.route("/applications/<int:app_id>/<kind>.pdf")
def form(app_id, kind):
    """The applicant's own 评审表 or 送审表."""
    if current_user.role != Role.applicant.value:
        abort(403)
    app = db.session.get(Application, app_id)
    if (app is None or app.tenant_id != g.tenant_id or app.applicant_id != current_user.id
            or kind not in paper.forms_for(app)):
        abort(404)
    data = paper.form_pdf(g.tenant, app, kind)
    name = {"review": "评审表", "send": "送审表"}[kind]
    return send_file(io.BytesIO(data), mimetype="application/pdf", max_age=0,
                     download_name=f"{name}-{paper.file_code(app)}.pdf")


def _office_actor() -> Actor:
    if current_user.role not in OFFICE_ROLES:
        abort(403)
    return Actor.of(current_user, client_ip())


@bp.route("/receive", methods=["GET", "POST"])
def receive():
    """Type or scan the code printed on the forms; then tick what arrived."""
    actor = _office_actor()
    code = (request.values.get("code") or "").strip()
    if request.method == "POST" and code:
        try:
            app = paper.held_application(g.tenant, actor, code)
        except TransitionError as e:
            flash_error(e)
        else:
            return render_page("paper/receive.html", code=paper.file_code(app), app=app,
                               items=paper.checklist(g.tenant, app), tenant_cfg=g.tenant,
                               receipts=paper.receipts_of(app))
    return render_page("paper/receive.html", code=code, app=None)


@bp.route("/receive/record", methods=["POST"])
def record():
    """Record the receipt; a mismatch returns the file to the applicant with the list."""
    actor = _office_actor()
    code = request.form.get("code", "")
    try:
        receipt = paper.receive(g.tenant, actor, code, request.form.getlist("arrived"),
                                opinion=request.form.get("opinion", ""))
    except TransitionError as e:
        flash_error(e)
        return redirect(url_for(".receive"), 303)
    if receipt.matched:
        flash(_("纸质材料与网上申报一致，已登记接收。"), "ok")
    else:
        flash(_("纸质材料与网上申报不一致，已退回申报人补正。"), "error")
    return redirect(url_for(".receive"), 303)

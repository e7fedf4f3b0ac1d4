"""Certificates: public verification by QR link or by query (BJ23-VERIFY-1), the holder's
downloads (BJ-CERT-1), search and revocation by the issuing office (BJ-INTEG-1, CF-INTEG-1)."""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from . import bp
from .forms import QueryForm, RevokeForm
from .. import uploads
from ..extensions import limiter
from ..models import Role
from ..web import client_ip, flash_error, render_page
from ..workflow import certificates as svc
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError
from ..workflow.integrity import record_years
from ..workflow.transitions import transition

# kind in the URL → (stored-name attribute, download name)
DOCUMENTS = {"certificate": ("pdf_name", _l("电子职称证书")),
             "letter": ("letter_name", _l("电子职称评价结果通知书"))}


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


def holders_only(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != Role.applicant.value:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def issuers_only(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not svc.may_revoke(_actor()):
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def _public(resp):
    """A verification answer changes when a title is revoked and names a person: never cached
    by a shared cache, never indexed."""
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp


def _query_limit() -> str:
    return f"{current_app.config['VERIFY_QUERIES_PER_MINUTE']}/minute"


@bp.route("/verify/<number>")
def verify(number):
    """The QR code's target: whether this certificate is valid; no account needed."""
    cert = svc.find(g.tenant_id, number)
    if cert is None:
        return _public(render_page("certify/verify.html", facts=None, number=number[:40],
                                   http_status=404))
    return _public(render_page("certify/verify.html", facts=svc.public_facts(cert),
                               number=cert.number))


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(_query_limit, methods=["POST"])
def query():
    """Check a certificate by its number and the holder's full name (limited per client IP)."""
    form = QueryForm()
    status = 200
    if form.validate_on_submit():
        cert = svc.matching(g.tenant_id, form.number.data, form.name.data)
        if cert is not None:
            return redirect(url_for(".verify", number=cert.number), 303)
        flash(_("未查到与该编号和姓名相符的证书，请核对后再试。"), "error")
        status = 404
    return _public(render_page("certify/query.html", form=form, http_status=status))


@bp.errorhandler(429)
def too_many(e):
    """Over the per-minute query limit: the form again, with when to retry."""
    return _public(render_page("certify/query.html", form=QueryForm(formdata=None),
                               too_many=True, http_status=429))


@bp.route("/mine")
@holders_only
def mine():
    """My e-certificates and result letters, to download."""
    return render_page("certify/mine.html", certs=svc.certificates_of(g.tenant_id, current_user.id),
                       documents=DOCUMENTS)


@bp.route("/mine/<int:cert_id>/<kind>.pdf")
@holders_only
def download(cert_id, kind):
    """Download my certificate or result letter (a revoked one no longer)."""
    cert = svc.own_certificate(g.tenant_id, current_user.id, cert_id)
    if cert is None or kind not in DOCUMENTS or cert.revoked:
        abort(404)
    attr, title = DOCUMENTS[kind]
    return uploads.send_stored(g.tenant.slug, getattr(cert, attr),
                               mimetype=svc.PDF,
                               download_name=f"{title}-{cert.number}.pdf")


@bp.route("/admin")
@issuers_only
def admin():
    """Find a certificate by its number, to see it and, where the holder cheated, revoke it."""
    number = request.args.get("number", "").strip()[:40]
    cert = svc.find(g.tenant_id, number) if number else None
    form = RevokeForm(formdata=None, data={"version": cert.version if cert else ""})
    return render_page("certify/admin.html", number=number, cert=cert, form=form,
                       years=record_years(g.tenant), facts=svc.public_facts(cert) if cert else None,
                       records=svc.integrity_records_of(cert) if cert else [])


@bp.route("/admin/<int:cert_id>/revoke", methods=["POST"])
@issuers_only
def revoke(cert_id):
    """Revoke the title and open a 3-year integrity record for its holder."""
    cert = svc.by_id(g.tenant_id, cert_id)
    if cert is None:
        abort(404)
    form = RevokeForm()
    try:
        if not form.validate():
            raise TransitionError(_("请选择撤销原因，并写明经核实的违规事实。"))
        transition(g.tenant, cert, "revoke", _actor(),
                   expected_version=request.form.get("version", type=int) or None,
                   kind=form.kind.data, opinion=form.opinion.data, serious=form.serious.data)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("证书已撤销，持证人已记入职称评审诚信档案。"), "ok")
    return redirect(url_for(".admin", number=cert.number), 303)

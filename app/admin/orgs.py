"""The org tree an HR bureau administers (the tenant admin: all of it): the list of its units,
adding and editing a unit, moving it (district, supervising department) and closing it."""
import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from . import bp
from .forms import CloseForm, EditOrgForm, MoveForm, OrgForm
from ..extensions import db
from ..models import Org
from ..tenancy import label
from ..web import client_ip, flash_error, render_page
from ..workflow import orgtree
from ..workflow.errors import TransitionError
from ..workflow.people import EMPLOYER_KIND_LABELS


def _unit(org_id: int) -> Org:
    """A unit of the signed-in bureau's part of the tree; 404 otherwise (another tenant's too)."""
    org = db.session.scalar(sa.select(Org).filter_by(id=org_id, tenant_id=g.tenant_id))
    if org is None or not orgtree.administers(g.tenant, current_user, org):
        abort(404)
    return org


def _fill(form, current: Org | None = None) -> None:
    cfg = g.tenant
    if hasattr(form, "series"):
        if getattr(form, "kind", None) is not None:
            form.kind.choices = list(orgtree.KIND_LABELS.items())
        form.employer_kind.choices = [("", "—")] + [
            (k.value, EMPLOYER_KIND_LABELS[k.value]) for k in cfg.tenant.employer_kinds]
        form.series.choices = [(s.code, label(s)) for s in cfg.tenant.series]
    form.district.choices = [("", _("（无）"))] + [
        (d.code, label(d)) for d in orgtree.districts_for(cfg, current_user)]
    orgtree.fill_place_choices(form, cfg, g.tenant_id, orgtree.tiers_for(current_user), current)


def _flash_form(form) -> None:
    for errors in form.errors.values():
        for e in errors:
            flash(e, "error")


@bp.route("/orgs")
def orgs():
    """The units this bureau administers, with their place and state."""
    units = orgtree.administered(g.tenant, current_user)
    return render_page("admin/orgs.html", units=units, kinds=orgtree.KIND_LABELS,
                       tiers=orgtree.TIER_LABELS)


@bp.route("/orgs/new", methods=["GET", "POST"])
def new_org():
    """Add a unit: kind, code, name, tier, district, supervising department."""
    form = OrgForm()
    _fill(form)
    if form.validate_on_submit():
        try:
            org = orgtree.create_unit(g.tenant, current_user, form.data, client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("机构已添加。"), "ok")
            return redirect(url_for(".edit_org", org_id=org.id), 303)
    else:
        _flash_form(form)
    return render_page("admin/org_new.html", form=form)


@bp.route("/orgs/<int:org_id>", methods=["GET", "POST"])
def edit_org(org_id):
    """Edit a unit's name, tier and kind-specific fields; move and close it from here."""
    org = _unit(org_id)
    form = EditOrgForm(obj=org) if request.method == "GET" else EditOrgForm()
    _fill(form, org)
    if request.method == "POST" and form.validate_on_submit():
        try:
            orgtree.edit_unit(g.tenant, current_user, org, form.data,
                              request.form.get("version", type=int), client_ip())
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("机构已保存。"), "ok")
            return redirect(url_for(".edit_org", org_id=org.id), 303)
    move = MoveForm(obj=org)
    _fill(move, org)
    move.parent_id.data = str(org.parent_id or "")
    return render_page("admin/org_edit.html", org=org, form=form, move=move, close=CloseForm(),
                       kinds=orgtree.KIND_LABELS)


@bp.route("/orgs/<int:org_id>/move", methods=["POST"])
def move_org(org_id):
    """Put a unit in another district or under another supervising department."""
    org = _unit(org_id)
    form = MoveForm()
    try:
        orgtree.move_unit(g.tenant, current_user, org, form.district.data or None,
                          orgtree.parse_id(form.parent_id.data),
                          request.form.get("version", type=int), client_ip())
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("机构已调整。"), "ok")
    return redirect(url_for(".edit_org", org_id=org.id), 303)


@bp.route("/orgs/<int:org_id>/close", methods=["POST"])
def close_org(org_id):
    """Close a unit: offered nowhere new, its staff accounts disabled."""
    org = _unit(org_id)
    try:
        n = orgtree.close_unit(g.tenant, current_user, org, request.form.get("reason", ""),
                               request.form.get("version", type=int), client_ip())
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("机构已撤销，%(n)d个工作人员账号已停用。", n=n), "ok")
    return redirect(url_for(".edit_org", org_id=org.id), 303)

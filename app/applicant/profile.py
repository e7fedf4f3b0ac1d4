"""The applicant's profile (业绩档案): kept with the person, edited on its own page, and the
start of every new application."""
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from . import bp
from .. import uploads
from ..web import client_ip, flash_error, render_page
from ..workflow import profile_items as svc
from ..workflow import profiles
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


def _scan() -> svc.Scan | None:
    """The evidence scan sent with the form, if a file was chosen."""
    f = request.files.get("scan")
    return (f.filename, f.read()) if f and f.filename else None


def _page(kind: str | None = None, values=None, error: TransitionError | None = None):
    """The profile page; after a refused add, that section shows why and keeps what was typed."""
    items = svc.profile_of(_actor(), current_user)
    return render_page(
        "applicant/profile.html", items=svc.by_kind(items), fields=svc.kind_fields(g.tenant),
        titles=svc.KIND_TITLES, evidence=svc.EVIDENCE, achievements=svc.ACHIEVEMENTS,
        checked=bool(g.tenant.policies.profile_verification),
        basic_ok=profiles.basic_verified(current_user), failed=kind, values=values or {},
        errors=[str(error.message), *map(str, error.problems)] if error else [],
        http_status=200)


@bp.route("/profile")
def profile():
    """My profile: education, work history, qualifications and achievements, with evidence."""
    return _page()


@bp.route("/profile/<kind>", methods=["POST"])
def add_profile_item(kind):
    """Add one item to a section of my profile."""
    if kind not in svc.KINDS:
        abort(404)
    try:
        svc.add_item(g.tenant, _actor(), current_user, kind, request.form, _scan())
    except TransitionError as e:
        return _page(kind, request.form, e)
    flash(_("已保存。"), "ok")
    return redirect(url_for(".profile", _anchor=kind), 303)


def _item(item_id: int):
    item = svc.own_item(_actor(), item_id)
    if item is None:
        abort(404)
    return item


@bp.route("/profile/items/<int:profile_item_id>", methods=["GET", "POST"])
def profile_item(profile_item_id):
    """Correct one item; a verified item goes back to the employer to be checked again."""
    item, errors = _item(profile_item_id), []
    values = request.form if request.method == "POST" else item.data
    if request.method == "POST":
        try:
            svc.update_item(g.tenant, _actor(), item, request.form.get("version", type=int),
                            request.form, _scan())
        except TransitionError as e:
            errors = [str(e.message), *map(str, e.problems)]
        else:
            flash(_("已保存。"), "ok")
            return redirect(url_for(".profile", _anchor=item.kind), 303)
    return render_page("applicant/profile_item.html", item=item, values=values, errors=errors,
                       fields=svc.kind_fields(g.tenant)[item.kind], evidence=svc.EVIDENCE,
                       title=svc.KIND_TITLES[item.kind])


@bp.route("/profile/items/<int:profile_item_id>/delete", methods=["POST"])
def delete_profile_item(profile_item_id):
    """Remove one item from my profile."""
    item = _item(profile_item_id)
    kind = item.kind
    try:
        svc.delete_item(g.tenant, _actor(), item, request.form.get("version", type=int))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已删除。"), "ok")
    return redirect(url_for(".profile", _anchor=kind), 303)


@bp.route("/profile/items/<int:profile_item_id>/scan")
def profile_scan(profile_item_id):
    """Download the evidence scan of one of my items."""
    item = _item(profile_item_id)
    if not item.scan_stored:
        abort(404)
    return uploads.send_stored(g.tenant.slug, item.scan_stored, mimetype=item.scan_mime,
                               download_name=item.scan_filename)

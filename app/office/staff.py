"""The unit's check of its applicants' profiles (CF-REG-1): the basic information, then every
item of the 业绩档案 on its own, as the applicant entered it, with its evidence."""
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from . import bp
from .. import uploads
from ..web import client_ip, flash_error, render_page
from ..workflow import abilities, profile_items, profiles
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError


def _verifier_only() -> None:
    if not abilities.may_verify_staff(g.tenant, current_user):
        abort(404)


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


@bp.route("/staff")
def staff():
    """This unit's applicants whose profile awaits verification (CF-REG-1)."""
    _verifier_only()
    return render_page("office/staff.html",
                       rows=profiles.unverified_staff(g.tenant_id, current_user.org_id))


@bp.route("/staff/<int:user_id>")
def staff_profile(user_id):
    """One applicant's basic information and every profile item, to verify one by one."""
    _verifier_only()
    person = profiles.staff_member(_actor(), user_id)
    if person is None:
        abort(404)
    items = profile_items.items_of(person)
    return render_page("office/staff_profile.html", person=person,
                       items=profile_items.by_kind(items),
                       fields=profile_items.kind_fields(g.tenant),
                       titles=profile_items.KIND_TITLES, evidence=profile_items.EVIDENCE,
                       basic_ok=profiles.basic_verified(person),
                       verified=profiles.is_verified(person))


@bp.route("/staff/<int:user_id>/verify", methods=["POST"])
def verify_staff(user_id):
    """Confirm one applicant's basic information (name, identity document, mobile)."""
    _verifier_only()
    try:
        person = profiles.verify(g.tenant, _actor(), user_id)
    except TransitionError as e:
        flash_error(e)
    else:
        done = profiles.is_verified(person)
        flash(_("已审核通过：%(n)s", n=person.name) if done
              else _("已审核通过%(n)s的基本信息；学历和工作经历请逐条核验。", n=person.name), "ok")
        if request.form.get("back") == "person":
            return redirect(url_for(".staff_profile", user_id=user_id), 303)
    return redirect(url_for(".staff"), 303)


def _check(user_id: int, item_id: int, reject: bool):
    _verifier_only()
    actor = _actor()
    item = profiles.staff_item(actor, user_id, item_id)
    if item is None:
        abort(404)
    version = request.form.get("version", type=int)
    try:
        if reject:
            profiles.reject_item(actor, item, version, request.form.get("reason", ""))
        else:
            profiles.verify_item(actor, item, version)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已退回该条目。") if reject else _("已核验该条目。"), "ok")
    return redirect(url_for(".staff_profile", user_id=user_id, _anchor=f"item-{item_id}"), 303)


@bp.route("/staff/<int:user_id>/items/<int:profile_item_id>/verify", methods=["POST"])
def verify_profile_item(user_id, profile_item_id):
    """Confirm one profile item as shown on the page."""
    return _check(user_id, profile_item_id, reject=False)


@bp.route("/staff/<int:user_id>/items/<int:profile_item_id>/reject", methods=["POST"])
def reject_profile_item(user_id, profile_item_id):
    """Refuse one profile item, with the reason the applicant reads."""
    return _check(user_id, profile_item_id, reject=True)


@bp.route("/staff/<int:user_id>/items/<int:profile_item_id>/scan")
def staff_scan(user_id, profile_item_id):
    """Download the evidence scan of one item of this unit's applicant."""
    _verifier_only()
    item = profiles.staff_item(_actor(), user_id, profile_item_id)
    if item is None or not item.scan_stored:
        abort(404)
    return uploads.send_stored(g.tenant.slug, item.scan_stored, mimetype=item.scan_mime,
                               download_name=item.scan_filename)

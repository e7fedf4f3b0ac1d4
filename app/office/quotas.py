"""Posts of a unit (CF-POL-9) and the shares of a review quota (CF-POL-8)."""
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from . import bp
from ..web import client_ip, flash_error, render_page
from ..workflow import quotas
from ..workflow.actors import Actor
from ..workflow.calendar import now_local
from ..workflow.errors import TransitionError

MIN_YEAR, MAX_YEAR = 2000, 2100


def _year() -> int:
    year = request.values.get("year", type=int)
    return year if year is not None and MIN_YEAR <= year <= MAX_YEAR else now_local().year


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


@bp.route("/posts", methods=["GET", "POST"])
def posts():
    """The unit's posts and holders per level for a year, kept by its clerk; for the offices
    above, the units below them that declared theirs."""
    year, actor = _year(), _actor()
    unit = quotas.own_unit(g.tenant, actor)
    if unit is None:
        if request.method == "POST" or not g.tenant.policies.post_structure_kinds \
                or actor.role not in quotas.OVERSIGHT_ROLES:
            abort(404)
        return render_page("office/posts_units.html", year=year,
                           units=quotas.overseen_posts(g.tenant, actor, year))
    if request.method == "POST":
        values = {lv.code: (request.form.get(f"posts-{lv.code}"),
                            request.form.get(f"holders-{lv.code}"))
                  for lv in g.tenant.tenant.levels}
        try:
            changed = quotas.set_posts(g.tenant, actor, year, values)
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("已保存（%(n)d个级别有变动）。", n=changed), "ok")
        return redirect(url_for(".posts", year=year), 303)
    return render_page("office/posts.html", unit=unit, year=year, editable=True,
                       lines=quotas.post_lines(g.tenant, g.tenant_id, unit.id, year))


@bp.route("/posts/<int:org_id>")
def unit_posts(org_id):
    """One unit's posts, for the unit and the offices above it."""
    year = _year()
    unit = quotas.viewable_unit(g.tenant, _actor(), org_id)
    if unit is None:
        abort(404)
    return render_page("office/posts.html", unit=unit, year=year, editable=False,
                       lines=quotas.post_lines(g.tenant, g.tenant_id, unit.id, year))


@bp.route("/quotas")
def quota_list():
    """The review quotas this office shares out or oversees."""
    actor = _actor()
    if not g.tenant.policies.review_quota or actor.role not in quotas.OVERSIGHT_ROLES:
        abort(404)
    return render_page("office/quotas.html", found=quotas.visible_quotas(g.tenant, actor))


@bp.route("/quotas/<code>", methods=["GET", "POST"])
def quota(code):
    """A review quota's shares: the allocating office gives places to districts and units;
    the offices above it see them."""
    actor = _actor()
    found = dict(quotas.visible_quotas(g.tenant, actor))
    q = quotas.review_quota(g.tenant, code)
    if q not in found or (request.method == "POST" and not found[q]):
        abort(404)
    if request.method == "POST":
        try:
            quotas.set_allocation(g.tenant, actor, code, request.form.get("target", ""),
                                  request.form.get("places", ""))
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("名额分配已保存。"), "ok")
        return redirect(url_for(".quota", code=code), 303)
    lines, uncovered = quotas.shares(g.tenant, g.tenant_id, q)
    return render_page("office/quota.html", q=q, lines=lines, uncovered=uncovered,
                       editable=found[q], targets=quotas.targets(g.tenant, g.tenant_id) if
                       found[q] else [])

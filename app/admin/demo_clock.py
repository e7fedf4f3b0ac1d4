"""The demo clock page (演示专用): the tenant admin previews what moving a demo plan's clock
forward by some days passes, confirms, and sees what the deadline jobs then did. The page exists
only where the tenant has a demo plan (`flask demo load`, run by `make run`)."""
from datetime import timedelta

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from redis.exceptions import RedisError

from . import bp
from .. import navigation
from ..jobs import console
from ..jobs.deadlines import schedule_all
from ..models import Role
from ..web import client_ip, flash_error, render_page
from ..workflow import demo_clock
from ..workflow.actors import Actor
from ..workflow.calendar import today_local
from ..workflow.errors import Invalid, TransitionError
from ..workflow.plans import stage_label


def _admin_only() -> None:
    if current_user.role != Role.tenant_admin.value:
        abort(403)


def _number(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


@bp.route("/demo-clock")
def demo_clock_page():
    """The tenant's demo plans, each with its clock; `?plan=ID&days=N` previews a move."""
    _admin_only()
    plans = demo_clock.demo_plans(g.tenant_id)
    if not plans:
        abort(404)
    preview, problems = None, []
    if "plan" in request.args or "days" in request.args:
        plan = next((p for p in plans if p.id == request.args.get("plan", type=int)), None)
        if plan is None:
            abort(404)
        try:
            days = demo_clock.check_days(_number(request.args.get("days")))
        except Invalid as e:
            problems.append(e.message)
        else:
            today = today_local()
            preview = {"plan_id": plan.id, "days": days, "today": today,
                       "last": today + timedelta(days=days - 1),
                       "events": demo_clock.upcoming(plan, days, today)}
    clocks = demo_clock.clocks(g.tenant_id)
    outcomes = {p.id: demo_clock.outcome(p, clocks.get(p.id)) for p in plans}
    runs = {p.id: console.runs_since(g.tenant_id, o.moved_at) for p in plans
            if (o := outcomes[p.id]) is not None}
    return render_page("admin/demo_clock.html", plans=plans, clocks=clocks, preview=preview,
                       problems=problems, outcomes=outcomes, runs=runs,
                       max_days=demo_clock.MAX_DAYS, stage_label=stage_label,
                       job_status=lambda s: console.STATUS_LABELS.get(s, s), may_retry=False)


@bp.route("/demo-clock/<int:plan_id>", methods=["POST"])
def move_demo_clock(plan_id):
    """Move a demo plan's clock forward, then queue its closes now past (run at once by the
    worker) and reschedule the rest. A real plan, or another tenant's, is not found."""
    _admin_only()
    plan = demo_clock.demo_plan(g.tenant_id, plan_id)
    if plan is None:
        abort(404)
    days = _number(request.form.get("days"))
    try:
        demo_clock.move(Actor.of(current_user, client_ip()), plan, days,
                        _number(request.form.get("base")))
    except TransitionError as e:
        flash_error(e)
        return redirect(url_for(".demo_clock_page"), 303)
    try:
        queued = schedule_all(plan=plan)
    except (RedisError, OSError):
        flash(_("演示时钟已前移%(n)s天，但任务队列暂时无法连接：截止任务将在每小时的排程中补上。",
                n=days), "error")
    else:
        now = sum(1 for _key, when, _at in queued if when == "now")
        flash(_("演示时钟已前移%(n)s天；已过截止时间的%(k)s项任务已开始处理，结果见下方。",
                n=days, k=now), "ok")
    return redirect(url_for(".demo_clock_page"), 303)


# Tenant admins of a tenant with a demo plan: one query per page for them, none for others.
navigation.register("admin.demo_clock_page", _l("演示时钟（演示专用）"),
                    lambda cfg, user: user.role == Role.tenant_admin.value
                    and demo_clock.has_demo_plan(user.tenant_id))

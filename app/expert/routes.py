"""Review experts: the confidentiality agreement, their sessions, each file (blind or named) with
the score form, a conflict declared after the draw, attendance, the secret ballot and the tally."""
import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp, dossier, forms
from .. import uploads
from ..extensions import db, htmx
from ..models import ReviewSession, Role
from ..web import client_ip, render_page
from ..workflow import defense, groups, review_group, sessions
from ..workflow.actors import Actor
from ..workflow.errors import TransitionError
from ..workflow.experts import sign_confidentiality
from ..workflow.transitions import transition

AGREEMENT = "expert.agreement"


@bp.before_request
@login_required
def _experts_only():
    """Experts of this tenant's pool only; nothing but the agreement until it is signed."""
    if current_user.role != Role.expert.value:
        abort(403)
    g.expert = dossier.expert_of(g.tenant_id, current_user.id)
    if g.expert is None:
        abort(403)
    if g.expert.confidentiality_signed_at is None and request.endpoint != AGREEMENT:
        return redirect(url_for(AGREEMENT), 303)


def _actor() -> Actor:
    return Actor.of(current_user, client_ip())


def _flash(e: TransitionError) -> None:
    flash(str(e.message), "error")
    for p in e.problems:
        flash(str(p), "error")


def _session(session_id: int):
    """(session, my panel seat) for a session of this tenant where I sit, else 404."""
    s = db.session.get(ReviewSession, session_id)
    member = sessions.member_of(_actor(), s) if s and s.tenant_id == g.tenant_id else None
    if member is None:
        abort(404)
    return s, member


def _item(s: ReviewSession, item_id: int):
    return dossier.item_of(s, item_id) or abort(404)


def _back(s: ReviewSession, call, done: str, to: str | None = None):
    """Run one service call; flash its refusal or `done`; 303 to `to` or the session page."""
    try:
        call()
    except TransitionError as e:
        _flash(e)
        to = None
    else:
        flash(done, "ok")
    return redirect(to or url_for(".session_detail", session_id=s.id), 303)


@bp.route("/agreement", methods=["GET", "POST"])
def agreement():
    """The confidentiality agreement (AE-CONF-1): read it, accept it, then see the files."""
    if request.method == "GET":
        return render_page("expert/agreement.html", expert=g.expert)
    try:
        if request.form.get("accept") != "y":
            raise TransitionError(_("请勾选“已阅读并同意”后再签署。"))
        sign_confidentiality(_actor(), g.expert)
    except TransitionError as e:
        _flash(e)
        return redirect(url_for(".agreement"), 303)
    flash(_("已签署保密协议。"), "ok")
    return redirect(url_for(".index"), 303)


@bp.route("/")
def index():
    """The sessions where I sit on the panel."""
    return render_page("expert/index.html", rows=dossier.sessions_of(g.expert),
                       roles=forms.ROLE_LABELS)


@bp.route("/sessions/<int:session_id>")
def session_detail(session_id):
    """The session's files by code; attendance, the ballot, withdrawal and the sealed tally."""
    s, me = _session(session_id)
    names = {} if s.blind else {i.id: i.application.applicant.name for i in s.items}
    blockers = (defense.vote_blockers(g.tenant, s) + review_group.vote_blockers(g.tenant, s)
                if s.status == "drawn" else [])
    grouped = groups.table(s, ranked=False)  # CF-GROUP-1: each group its own ballot list
    return render_page("expert/session.html", s=s, me=me, names=names, blockers=blockers,
                       groups=grouped,
                       grouped=len(grouped) > 1 or any(x["group"] != groups.GENERAL
                                                       for x in grouped),
                       opinions=review_group.opinions(s), records=defense.records(s),
                       record_labels=defense.DEFENSE_STATUS_LABELS,
                       defends=defense.defends(g.tenant, s.level),
                       uses_group=review_group.uses_review_group(g.tenant),
                       presiding=sessions.presiding_member(_actor(), s) is not None,
                       voted=dossier.has_voted(s, me), choices=forms.CHOICE_LABELS,
                       roles=forms.ROLE_LABELS)


@bp.route("/sessions/<int:session_id>/attendance", methods=["POST"])
def attendance(session_id):
    """The presiding member records who is present; the ballot opens."""
    s, _me = _session(session_id)
    return _back(s, lambda: transition(g.tenant, s, "open_voting", _actor(),
                                       expected_version=request.form.get("version", type=int),
                                       present=forms.present_ids(request.form)),
                 _("已记录出席情况，开始表决。"))


@bp.route("/sessions/<int:session_id>/ballot", methods=["POST"])
def ballot(session_id):
    """One secret ballot sheet: yes, no or abstain for every file (BJ-VOTE-1)."""
    s, _me = _session(session_id)
    return _back(s, lambda: sessions.cast_ballot(_actor(), s,
                                                 forms.ballot_choices(request.form, s.items)),
                 _("已投票。"))


@bp.route("/sessions/<int:session_id>/close", methods=["POST"])
def close(session_id):
    """The presiding member closes the ballot; the tally is counted and sealed."""
    s, _me = _session(session_id)
    return _back(s, lambda: transition(g.tenant, s, "close", _actor(),
                                       expected_version=request.form.get("version", type=int)),
                 _("表决已结束，结果已封存。"))


@bp.route("/sessions/<int:session_id>/recuse", methods=["POST"])
def recuse(session_id):
    """I declare a conflict after the draw: I withdraw and a replacement is drawn (AE-RECUSE-1)."""
    s, me = _session(session_id)
    return _back(s, lambda: sessions.replace_member(g.tenant, _actor(), s, me,
                                                    request.form.get("reason", "")),
                 _("已回避，已为本评审会抽取替补专家。"), to=url_for(".index"))


def _item_page(s, me, item, fragment=None, **extra):
    return render_page("expert/item.html", fragment, s=s, item=item,
                       file=dossier.dossier(g.tenant, item, s.blind),
                       score=dossier.my_score(item, me),
                       opinion=review_group.opinion_of(item),
                       uses_group=review_group.uses_review_group(g.tenant),
                       defense_record=defense.record_of(item),
                       record_labels=defense.DEFENSE_STATUS_LABELS, **extra)


@bp.route("/sessions/<int:session_id>/items/<int:item_id>")
def item(session_id, item_id):
    """One file as I may see it (blind or named), with my score and opinion."""
    s, me = _session(session_id)
    return _item_page(s, me, _item(s, item_id))


@bp.route("/sessions/<int:session_id>/items/<int:item_id>/score", methods=["POST"])
def score(session_id, item_id):
    """Save my scores (one per criterion of the committee's standard) and opinion."""
    s, me = _session(session_id)
    it = _item(s, item_id)
    values, error = forms.score_values(request.form, s.committee.standard), None
    try:
        sessions.record_score(_actor(), s, it, values, request.form.get("opinion", ""))
    except TransitionError as e:
        error = e
    if htmx:
        return _item_page(s, me, it, "expert/_score.html", saved=error is None, typed=values,
                          typed_opinion=request.form.get("opinion", ""),
                          errors=[str(error.message), *map(str, error.problems)] if error else [])
    if error:
        _flash(error)
    else:
        flash(_("评分已保存。"), "ok")
    return redirect(url_for(".item", session_id=s.id, item_id=it.id, _anchor="score"), 303)


@bp.route("/sessions/<int:session_id>/items/<int:item_id>/opinion", methods=["POST"])
def group_opinion(session_id, item_id):
    """Record the professional review group's written opinion on the file (BJ23-PANEL-1)."""
    s, _me = _session(session_id)
    it = _item(s, item_id)
    try:
        review_group.record_opinion(g.tenant, _actor(), s, it, request.form.get("opinion", ""),
                                    request.form.getlist("group", type=int))
    except TransitionError as e:
        _flash(e)
    else:
        flash(_("已记录专业评议组意见。"), "ok")
    return redirect(url_for(".item", session_id=s.id, item_id=it.id, _anchor="group-opinion"),
                    303)


@bp.route("/sessions/<int:session_id>/items/<int:item_id>/absence", methods=["POST"])
def absence(session_id, item_id):
    """The presiding member records the committee's decision on an absent applicant's file
    (BJ-DEF-1)."""
    s, _me = _session(session_id)
    it = _item(s, item_id)
    return _back(s, lambda: defense.decide_absence(g.tenant, _actor(), s, it.id,
                                                   request.form.get("decision", "")),
                 _("已记录评委会决定。"))


@bp.route("/sessions/<int:session_id>/items/<int:item_id>/files/<int:att_id>")
def download(session_id, item_id, att_id):
    """A scan of the file, as an attachment; for blind review a copy the server rebuilt without
    metadata or active content, under a neutral name, which may be shown inline."""
    s, _me = _session(session_id)
    found = dossier.attachment_of(g.tenant, _item(s, item_id), att_id, s.blind)
    if not found:
        abort(404)
    att, name = found
    if not s.blind:
        return uploads.send_stored(g.tenant.slug, att.stored_name, mimetype=att.mime,
                                   download_name=name)
    data = uploads.read_stored(g.tenant.slug, att.stored_name)
    if data is None:
        abort(404)
    try:
        data = uploads.sanitized(data, att.mime)
    except ValueError:
        abort(404)  # a scan that cannot be cleaned is not shown to blind reviewers at all
    return send_file(io.BytesIO(data), mimetype=att.mime, download_name=name, max_age=0)

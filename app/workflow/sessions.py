"""Review sessions: gather checked files, draw a panel at random with recusal (CF-EXP-1,
AE-RECUSE-1), score, vote by secret ballot and seal the tally (BJ-VOTE-1)."""
from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
import random
import secrets
from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (
    Application, BallotReceipt, BallotVote, Conflict, Expert, ExpertRole,
    MemberStatus, PanelMember, ReviewSession, Role, Score, SessionItem, SessionStatus,
    Status, utcnow,
)
from ..tenancy.schema import OrgKind
from .actors import Actor
from .bulk import Change, move_set
from .agency import own_committee_and_plan
from .agencies import refusal as agency_refusal
from .errors import Conflict as ConflictError
from .errors import Forbidden, Invalid
from .experts import ineligibility, is_young
from .transitions import Ctx, Rule, audit, register, transition

PRESIDING = (ExpertRole.chair.value, ExpertRole.vice_chair.value)
SESSION_STATUS_LABELS = {"draft": _l("准备中"), "drawn": _l("已抽取专家"), "voting": _l("表决中"),
                         "closed": _l("已结束")}
RECUSAL_LABELS = {"same_employer": _l("与申报人同一单位"), "named_in_file": _l("在申报材料中列为合作者或推荐人"),
                  "declared_relative": _l("申报近亲属关系"), "declared_interest": _l("申报利益关系"),
                  "declared_dispute": _l("申报存在纠纷"), "declared_other": _l("申报其他回避事由"),
                  "three_years_running": _l("已连续三年参加评审"),
                  "years_running": _l("已连续参加评审达到本地区规定的年数")}
CHOICES = ("yes", "no", "abstain")


# -- creating a session and gathering files --------------------------------------------------

def _is_agency_of(actor: Actor, session: ReviewSession) -> bool:
    return (actor.role == Role.agency_clerk.value
            and actor.org_id == session.committee.agency_org_id)


def create_session(cfg, actor: Actor, *, committee_id: int, plan_id: int, series: str, level: str,
                   specialties: list[str], panel_size: int, held_on: date) -> ReviewSession:
    committee, plan = own_committee_and_plan(
        actor, committee_id, plan_id, _l("只有组建该评委会的评审服务机构可以组织评审会。"))
    from .unit_scope import check_session, unit_of
    check_session(cfg, actor, committee, series, level)  # SR-SUPERV-1: within the approved scope
    problems = []
    # AE-AGENCY-1, AE-SUPERV-1: only a filed, unexpired, unsuspended agency opens sessions. A
    # self-review unit stands by the city HR bureau's approval instead (checked just above).
    agency_refused = None if unit_of(committee) is not None else agency_refusal(
        actor.tenant_id, committee.agency_org_id, held_on)
    if agency_refused is not None:
        problems.append(agency_refused)
    if not committee.filed_valid_on(held_on):
        problems.append(_l("评委会备案不在有效期内，不能组织评审会，请先重新备案。"))
    if series not in committee.series or level not in committee.levels:
        problems.append(_l("该评委会不评审此系列或级别。"))
    if not 3 <= panel_size <= 45:
        problems.append(_l("评委人数应在3至45人之间。"))
    review = plan.window("review")
    if review is not None and held_on > review.closes_on:
        problems.append(_l("评审和公示须在%(d)s前完成，评审会不能安排在此之后。",
                           d=review.closes_on.isoformat()))
    if problems:
        raise Invalid(_l("未创建："), problems=problems)
    session = ReviewSession(tenant_id=actor.tenant_id, committee_id=committee.id, plan_id=plan.id,
                            series=series, level=level, specialties=sorted(specialties),
                            panel_size=panel_size, held_on=held_on,
                            blind=_mode(plan, committee, series, specialties, level) != "named")
    db.session.add(session)
    db.session.flush()
    audit(actor, "review_sessions", session.id, "create", to_state=SessionStatus.draft.value)
    db.session.commit()
    return session


def ready_status(tenant_id: int) -> str:
    """Checked files go to review, or checked-and-paid ones where the tenant charges a fee."""
    from ..tenancy import config_for
    return (Status.paid if config_for(tenant_id).policies.fee_required else Status.checked).value


def _mode(plan, committee, series: str, specialties: list[str], level: str) -> str:
    return plan.mode_for(committee, series, specialties[0] if len(specialties) == 1 else None,
                         level)


def session_mode(session: ReviewSession) -> str:
    """The plan's review mode for the session's committee, series, level and (when it takes
    one) specialty."""
    return _mode(session.plan, session.committee, session.series, session.specialties or [],
                 session.level)


def eligible_files(session: ReviewSession) -> list[Application]:
    """Files ready for review this session may take: same committee, plan, series and level. A
    classified applicant's file is reviewed in its own mode (offline on paper): it never joins a
    session held in another mode, such as an online blind one (CF-MODE-1)."""
    q = sa.select(Application).filter_by(
        tenant_id=session.tenant_id, committee_id=session.committee_id, plan_id=session.plan_id,
        series=session.series, level=session.level, status=ready_status(session.tenant_id))
    if session.specialties:
        q = q.where(Application.specialty.in_(session.specialties))
    mode = session_mode(session)
    return [a for a in db.session.scalars(q.order_by(Application.id))
            if not a.classified or a.review_mode == mode]


def add_files(actor: Actor, session: ReviewSession, app_ids: list[int]) -> int:
    """Move checked files into the session (one UPDATE) and give each a session-local code."""
    if not _is_agency_of(actor, session):
        raise Forbidden(_l("无权进行此操作。"))
    if session.status != SessionStatus.draft.value:
        raise Invalid(_l("专家已抽取，不能再增加申报材料。"))
    allowed = {a.id for a in eligible_files(session)}
    ids = sorted(set(app_ids) & allowed)
    if not ids:
        raise Invalid(_l("请选择审核通过的申报。"))
    ready = ready_status(session.tenant_id)
    moved = move_set(actor, [Application.id.in_(ids)],
                     Change(ready, Status.in_review.value, "to_session", f"session {session.id}"))
    start = len(session.items)
    for n, app_id in enumerate(moved, start=start + 1):
        db.session.add(SessionItem(session_id=session.id, application_id=app_id, code=f"A{n:03d}"))
    db.session.flush()
    from ..tenancy import config_for
    from .groups import assign  # CF-GROUP-1: each file in its review group
    assign(config_for(session.tenant_id), session, list(moved))
    db.session.commit()
    return len(moved)


# -- filing the implementation plan (CF-PLAN-2) ----------------------------------------------

def plan_filing_due(cfg, session: ReviewSession) -> date | None:
    """The last day the session's implementation plan may be filed: the tenant's lead time
    before the meeting. None where the tenant does not ask for the plan to be filed."""
    days = cfg.policies.plan_filing_days_before
    return session.held_on - timedelta(days=days) if days else None


def _file_plan(session: ReviewSession, ctx: Ctx) -> dict:
    due = plan_filing_due(ctx.cfg, session)
    if due is None:
        raise Invalid(_l("本地区评审会无需备案评审实施方案。"))
    if not session.items:
        raise Invalid(_l("请先加入参加评审的申报：评审实施方案须列明申报人员名单。"))
    if ctx.now.date() > due:
        raise Invalid(_l("评审实施方案须在评审会召开%(n)d日前备案（不晚于%(due)s），评审会定于%(held)s召开，已不能备案。",
                         n=ctx.cfg.policies.plan_filing_days_before,
                         due=format_date(due, "yyyy-MM-dd"),
                         held=format_date(session.held_on, "yyyy-MM-dd")))
    return {"plan_filed_at": ctx.now}


# -- conflicts and candidates ----------------------------------------------------------------

def _names_in(app: Application) -> str:
    """Co-authors, project members and 破格 recommenders named in the file."""
    parts = [e.data.get(k, "") for e in app.entries for k in ("coauthors", "members")]
    parts.append((app.basic or {}).get("poge_recommenders", ""))
    return " ".join(parts)


def detect_conflicts(session: ReviewSession, experts: list[Expert]) -> list[dict]:
    """Conflicts found in the data before the draw, for the agency to see (AE-RECUSE-1)."""
    apps = [i.application for i in session.items]
    declared = db.session.scalars(sa.select(Conflict).where(
        Conflict.tenant_id == session.tenant_id,
        Conflict.applicant_id.in_([a.applicant_id for a in apps] or [0]))).all()
    # A self-review unit reviews its own staff with its own experts beside the outside share
    # (seed 002 第九条; 第二十三条 of the agencies-and-experts measures): working for the unit is
    # no conflict there; every other ground still is.
    agency = session.committee.agency if session.committee is not None else None
    own_unit = agency.id if agency is not None and \
        agency.kind == OrgKind.self_review_unit.value else None
    out = []
    for ex in experts:
        for app in apps:
            reason = None
            if ex.employer_org_id and ex.employer_org_id == app.employer_org_id \
                    and ex.employer_org_id != own_unit:
                reason = "same_employer"
            elif ex.name and ex.name in _names_in(app):
                reason = "named_in_file"
            else:
                d = next((d for d in declared if d.applicant_id == app.applicant_id and (
                    d.expert_id == ex.id or (d.expert_name and d.expert_name == ex.name))), None)
                if d is not None:
                    reason = f"declared_{d.kind}"
            if reason:
                out.append({"expert_id": ex.id, "application_id": app.id, "reason": reason})
    return out


def _served_years_running(expert_ids: list[int], year: int, running: int) -> set[int]:
    """Experts who sat on a panel in each of the `running` years before `year` (CF-EXP-1; the
    tenant's figure, 0: no limit)."""
    if running <= 0:
        return set()
    rows = db.session.execute(
        sa.select(PanelMember.expert_id, PanelMember.year).distinct()
        .where(PanelMember.expert_id.in_(expert_ids or [0]),
               PanelMember.status == MemberStatus.active.value,
               PanelMember.year.between(year - running, year - 1))).all()
    years: dict[int, set] = {}
    for eid, y in rows:
        years.setdefault(eid, set()).add(y)
    return {eid for eid, ys in years.items() if len(ys) >= running}


def candidates(cfg, session: ReviewSession) -> tuple[list[dict], list[dict]]:
    """(candidates, excluded): the eligible pool for the session's series, specialties and level,
    each candidate with what the draw rules need; excluded ones with their reason."""
    # Only experts the city HR bureau approved are in the pool (AE-EXP-6).
    experts = db.session.scalars(sa.select(Expert).filter_by(
        tenant_id=session.tenant_id, series=session.series, status="approved")
        .order_by(Expert.id)).all()
    if session.specialties:
        experts = [e for e in experts if e.specialty in session.specialties or not e.specialty]
    excluded = []
    eligible = []
    for e in experts:
        why = ineligibility(cfg, e, session.level, session.held_on)
        if not e.available:  # AE-EXP-4: the expert said they cannot take reviews now
            why.append(_l("本人暂不能参加评审"))
        if why:
            excluded.append({"expert_id": e.id, "reason": "; ".join(map(str, why))})
        else:
            eligible.append(e)
    running = _served_years_running([e.id for e in eligible], session.held_on.year,
                                    cfg.policies.experts.years_running)
    conflicted = {c["expert_id"]: c["reason"] for c in detect_conflicts(session, eligible)}
    unit = session.committee.agency
    self_review = unit.kind == OrgKind.self_review_unit.value
    out = []
    for e in eligible:
        if e.id in running:
            excluded.append({"expert_id": e.id, "reason": "years_running"})
        elif e.id in conflicted:
            excluded.append({"expert_id": e.id, "reason": conflicted[e.id]})
        else:
            out.append({"id": e.id, "role": e.role, "private": e.private_sector,
                        "outside": (not self_review) or e.employer_org_id != unit.id,
                        "young": is_young(cfg, e, session.held_on)})
    return out, sorted(excluded, key=lambda x: x["expert_id"])


# -- the draw ----------------------------------------------------------------------------------

def quotas(session: ReviewSession, size: int, cfg=None) -> dict:
    """How many members of a panel of `size` must be from outside a self-review unit, from the
    private sector (the committee's share) and under the young-expert age: the tenant's shares,
    rounded up (CF-EXP-1, AE-EXP-2)."""
    if cfg is None:
        from ..tenancy import config_for
        cfg = config_for(session.tenant_id)
    rules = cfg.policies.experts
    self_review = session.committee.agency.kind == OrgKind.self_review_unit.value
    return {"outside": math.ceil(size * rules.share("outside_share")) if self_review else 0,
            "private": math.ceil(size * Fraction(str(session.committee.private_share or 0))),
            "young": math.ceil(size * rules.share("young_share"))}


def select_panel(cands: list[dict], size: int, need: dict, seed: str,
                 keep: list[dict] = ()) -> list[dict]:
    """Pick `size` members (beyond those in `keep`) from the candidates, in the order a
    random.Random(seed) shuffle gives, so that the panel has a presiding member and the quotas of
    outside and private-sector experts hold. Pure: the same inputs give the same panel."""
    order = sorted(cands, key=lambda c: c["id"])
    random.Random(seed).shuffle(order)
    taken = {c["id"] for c in keep}
    panel = list(keep)

    def pick(pred, n):
        for c in order:
            if n <= 0:
                break
            if c["id"] not in taken and pred(c) and len(panel) < size + len(keep):
                panel.append(c)
                taken.add(c["id"])
                n -= 1
        return n

    if not any(c["role"] in PRESIDING for c in panel):
        if pick(lambda c: c["role"] in PRESIDING, 1):
            raise Invalid(_l("专家库中没有可抽取的主任委员或副主任委员。"))
    for key, label in (("outside", _l("本单位以外的专家")), ("private", _l("民营企业专家")),
                       ("young", _l("45周岁以下的专家"))):
        # Candidates recorded before a quota existed lack its flag: they do not count for it.
        short = need.get(key, 0) - sum(1 for c in panel if c.get(key))
        if short > 0 and pick(lambda c, k=key: c.get(k), short):
            raise Invalid(_l("可抽取的%(who)s不足%(n)d人。", who=label, n=need[key]))
    total = size + len(keep) - len(panel)
    if pick(lambda c: True, total):
        raise Invalid(_l("符合条件的专家不足%(n)d人（回避后可抽取%(m)d人）。",
                         n=size, m=len(cands)))
    return panel[len(keep):]


def _draw(session: ReviewSession, ctx: Ctx) -> dict:
    if not session.items:
        raise Invalid(_l("请先加入参加评审的申报。"))
    cands, excluded = candidates(ctx.cfg, session)
    seed = ctx.params.get("seed") or secrets.token_hex(16)
    panel = select_panel(cands, session.panel_size,
                         quotas(session, session.panel_size, ctx.cfg), seed)
    year = session.held_on.year
    ctx.after.append(sa.insert(PanelMember).values([
        {"session_id": session.id, "expert_id": c["id"], "role": c["role"], "year": year,
         "status": MemberStatus.active.value} for c in panel]))
    return {"status": SessionStatus.drawn.value, "draw_seed": seed, "draw_candidates": cands,
            "draw_excluded": excluded}


def replay(session: ReviewSession) -> list[int]:
    """The panel the recorded seed and candidates give: equal to the drawn one when untampered."""
    panel = select_panel(session.draw_candidates, session.panel_size,
                         quotas(session, session.panel_size), session.draw_seed)
    return sorted(c["id"] for c in panel)


def replace_member(cfg, actor: Actor, session: ReviewSession, member: PanelMember,
                   reason: str) -> PanelMember:
    """A member declares a conflict after the draw: recused, and a replacement is drawn under
    the same rules from the recorded candidates. Nothing changes if none can be found."""
    expert_self = actor.role == Role.expert.value and member.expert.user_id == actor.user_id
    if not (expert_self or _is_agency_of(actor, session)):
        raise Forbidden(_l("无权进行此操作。"))
    if session.status != SessionStatus.drawn.value or member.status != MemberStatus.active.value:
        raise ConflictError(_l("该专家当前不能回避替换（评审会已开始表决或已回避）。"))
    if not reason.strip():
        raise Invalid(_l("请说明回避事由。"))
    used = {m.expert_id for m in session.members}
    rest = [c for c in session.draw_candidates if c["id"] not in used]
    keep = [next(c for c in session.draw_candidates if c["id"] == m.expert_id)
            for m in session.members if m.status == MemberStatus.active.value and m.id != member.id]
    n = sum(1 for m in session.members if m.replaces_id is not None) + 1
    try:
        picked = select_panel(rest + keep, 1, quotas(session, session.panel_size, cfg),
                              f"{session.draw_seed}:replacement:{n}", keep=keep)[0]
    except Invalid as e:
        raise Invalid(_l("无法抽取替补专家：%(r)s", r=str(e.message))) from None
    member.status, member.recusal_reason = MemberStatus.recused.value, reason.strip()
    new = PanelMember(session_id=session.id, expert_id=picked["id"], role=picked["role"],
                      year=member.year, replaces_id=member.id)
    db.session.add(new)
    db.session.flush()
    audit(actor, "panel_members", member.id, "recuse", reason=reason.strip())
    audit(actor, "panel_members", new.id, "replacement", reason=f"replaces {member.id}")
    db.session.commit()
    return new


# -- scoring, attendance, ballot ---------------------------------------------------------------

def member_of(actor: Actor, session: ReviewSession) -> PanelMember | None:
    return next((m for m in session.members if m.status == MemberStatus.active.value
                 and m.expert.user_id == actor.user_id), None)


def record_score(actor: Actor, session: ReviewSession, item: SessionItem, values: dict,
                 opinion: str) -> Score:
    member = member_of(actor, session)
    if member is None or item.session_id != session.id:
        raise Forbidden(_l("无权进行此操作。"))
    if member.expert.confidentiality_signed_at is None:
        raise Forbidden(_l("请先签署保密协议。"))
    if session.status not in (SessionStatus.drawn.value, SessionStatus.voting.value):
        raise Invalid(_l("评审会已结束。"))
    scores, problems = {}, []
    for c in session.committee.standard:
        raw = str(values.get(c["code"], "")).strip()
        if not raw.isdigit() or int(raw) > c["max"]:
            problems.append(_l("%(c)s：请填写0至%(m)d的整数。", c=c["name"], m=c["max"]))
        else:
            scores[c["code"]] = int(raw)
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    score = db.session.scalar(sa.select(Score).filter_by(item_id=item.id, member_id=member.id))
    if score is None:
        score = Score(item_id=item.id, member_id=member.id)
        db.session.add(score)
    score.scores, score.opinion, score.at = scores, opinion.strip()[:2000], utcnow()
    db.session.commit()
    return score


def presiding_member(actor: Actor, session: ReviewSession) -> PanelMember | None:
    m = member_of(actor, session)
    return m if m is not None and m.role in PRESIDING else None


def _is_presiding(actor: Actor, session: ReviewSession) -> bool:
    return actor.role == Role.expert.value and presiding_member(actor, session) is not None


def _open_voting(session: ReviewSession, ctx: Ctx) -> dict:
    if session.plan_filed_at is None and plan_filing_due(ctx.cfg, session) is not None:
        raise Invalid(_l("评审实施方案尚未备案，不能开始表决。"))
    from . import defense, entrustment, review_group  # they build on this module
    # BJ-DEF-1: defenses held or absences decided; BJ23-PANEL-1: the review group's opinions;
    # BJ23-SELF-1: the entrusted body's academic review opinions.
    blockers = defense.vote_blockers(ctx.cfg, session) + review_group.vote_blockers(
        ctx.cfg, session) + entrustment.vote_blockers(session)
    if blockers:
        raise Invalid(_l("以下申报尚不能表决，暂不能开始表决："), problems=blockers)
    active = {m.id for m in session.members if m.status == MemberStatus.active.value}
    present = set(ctx.params.get("present") or []) & active
    quorum = ctx.cfg.policies.experts.share("quorum")
    if len(present) <= len(active) * quorum:
        raise Invalid(_l("出席委员须超过评委会委员总数的%(q)s方可表决。", q=f"{quorum.numerator}/{quorum.denominator}"))
    ctx.after.append(sa.update(PanelMember).where(PanelMember.id.in_(active))
                     .values(attended=sa.case((PanelMember.id.in_(present), True), else_=False)))
    return {"status": SessionStatus.voting.value}


def cast_ballot(actor: Actor, session: ReviewSession, choices: dict[int, str]) -> None:
    """One ballot sheet per attending member: a receipt that they voted, and one vote row per
    file that names neither the member nor the time (BJ-VOTE-1)."""
    member = member_of(actor, session)
    if member is None or session.status != SessionStatus.voting.value:
        raise Forbidden(_l("当前不能投票。"))
    if not member.attended:
        raise Forbidden(_l("未出席的委员不能投票。"))
    from .expert_pool import training_refusal  # it builds on this module
    refusal = training_refusal(session, member)
    if refusal is not None:
        raise Forbidden(refusal)
    item_ids = {i.id for i in session.items}
    if set(choices) != item_ids or any(c not in CHOICES for c in choices.values()):
        raise Invalid(_l("请对每一份申报表决（同意、不同意或弃权）。"))
    try:
        db.session.add(BallotReceipt(session_id=session.id, member_id=member.id))
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise ConflictError(_l("您已投过票。")) from None
    votes = [{"session_id": session.id, "item_id": i, "choice": choices[i]} for i in item_ids]
    random.SystemRandom().shuffle(votes)
    db.session.execute(sa.insert(BallotVote), [{**v, "id": secrets.randbelow(2**62) + 1}
                                               for v in votes])
    audit(actor, "review_sessions", session.id, "ballot_cast")
    db.session.commit()


def count(session: ReviewSession, cfg=None) -> dict:
    """The tally from the stored ballots and attendance: {"attending", "voted", "items":
    {code: {"yes","no","abstain","passed"}}}. Passing needs the tenant's share (2/3) of the
    attending members' votes."""
    if cfg is None:
        from ..tenancy import config_for
        cfg = config_for(session.tenant_id)
    need = cfg.policies.experts.share("pass_share")
    attending = sum(1 for m in session.members if m.attended)
    rows = db.session.execute(sa.select(BallotVote.item_id, BallotVote.choice)
                              .filter_by(session_id=session.id)).all()
    per = Counter(rows)
    voted = db.session.scalar(sa.select(sa.func.count(BallotReceipt.id))
                              .filter_by(session_id=session.id))
    items = {}
    for it in session.items:
        yes = per[(it.id, "yes")]
        items[it.code] = {"yes": yes, "no": per[(it.id, "no")],
                          "abstain": per[(it.id, "abstain")],
                          "passed": attending > 0 and yes >= attending * need}
    return {"attending": attending, "voted": voted, "items": items}


def digest(tally: dict) -> str:
    return hashlib.sha256(json.dumps(tally, sort_keys=True).encode()).hexdigest()


def _close(session: ReviewSession, ctx: Ctx) -> dict:
    tally = count(session, ctx.cfg)
    if tally["voted"] == 0:
        raise Invalid(_l("尚无委员投票。"))
    passed = [i.application_id for i in session.items if tally["items"][i.code]["passed"]]
    failed = [i.application_id for i in session.items if not tally["items"][i.code]["passed"]]
    for ids, status, result in ((passed, Status.passed, "passed"), (failed, Status.failed, "failed")):
        if ids:
            change = Change(Status.in_review.value, status.value, "session_result",
                            f"session {session.id}")
            ctx.after.append(lambda ids=ids, change=change: move_set(
                ctx.actor, [Application.id.in_(ids)], change, at=ctx.now))
            ctx.after.append(sa.update(SessionItem).where(SessionItem.session_id == session.id,
                                                          SessionItem.application_id.in_(ids))
                             .values(result=result))
    return {"status": SessionStatus.closed.value, "tally": tally, "tally_digest": digest(tally),
            "sealed_at": utcnow()}


def recount(session: ReviewSession) -> tuple[dict, bool]:
    """Count again from the stored ballots; True when it matches the sealed tally."""
    again = count(session)
    return again, session.tally is not None and digest(again) == session.tally_digest


def review_stage(subject) -> str | None:
    """The plan's review window, where it has one: no vote and no result report after it
    (CF-WIN-3: committees review and publicise by 30 Oct)."""
    return "review" if subject.plan.window("review") is not None else None


register(ReviewSession, {
    # Filed before or after the draw; filed again when it changes, within the same lead time.
    "file_plan": Rule((SessionStatus.draft.value, SessionStatus.drawn.value), _is_agency_of,
                      lambda s: None, _file_plan),
    "draw": Rule((SessionStatus.draft.value,), _is_agency_of, lambda s: None, _draw),
    "open_voting": Rule((SessionStatus.drawn.value,), _is_presiding, review_stage, _open_voting),
    "close": Rule((SessionStatus.voting.value,), _is_presiding, lambda s: None, _close),
}, labels=SESSION_STATUS_LABELS)


CONFLICT_KINDS = ("relative", "interest", "dispute", "other")


def declare_conflict(actor: Actor, expert_name: str, kind: str, note: str) -> Conflict:
    """An applicant names an expert who should not review their file (AE-RECUSE-1). The draw
    leaves that expert out; a panel already drawn shows the agency the conflict to replace."""
    name = expert_name.strip()
    if actor.role != Role.applicant.value:
        raise Forbidden(_l("无权进行此操作。"))
    if not name or len(name) > 60:
        raise Invalid(_l("请填写专家姓名。"))
    if kind not in CONFLICT_KINDS:
        raise Invalid(_l("请选择回避事由。"))
    c = Conflict(tenant_id=actor.tenant_id, expert_name=name, applicant_id=actor.user_id,
                 kind=kind, declared_by="applicant", note=note.strip()[:2000])
    db.session.add(c)
    db.session.flush()
    audit(actor, "conflicts", c.id, "declare", reason=kind)
    db.session.commit()
    return c


def panel_conflicts(session: ReviewSession) -> list[dict]:
    """Conflicts of members already on the panel (declared or found after the draw)."""
    active = [m.expert for m in session.members if m.status == MemberStatus.active.value]
    return detect_conflicts(session, active) if active else []

__all__ = ["transition"]

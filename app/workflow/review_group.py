"""The professional review group (专业评议组, BJ23-PANEL-1): before the committee votes, members
of the session's panel assess each applicant's professional work and record a written opinion
(评议意见) per file. The voting members read it on the file and on their ballot; where the tenant
uses review groups, the ballot cannot open until every file has one (see `vote_blockers`)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import MemberStatus, ReviewSession, SessionItem, SessionStatus, utcnow
from ..models.assessment import GroupOpinion
from .actors import Actor
from .errors import Forbidden, Invalid
from .sessions import member_of
from .transitions import audit

MAX_TEXT = 4000


def uses_review_group(cfg) -> bool:
    return bool(cfg.policies.review_group)


def opinions(session: ReviewSession) -> dict[int, GroupOpinion]:
    """The session's group opinions by item id (one query)."""
    rows = db.session.scalars(sa.select(GroupOpinion).filter_by(session_id=session.id)).all()
    return {o.item_id: o for o in rows}


def opinion_of(item: SessionItem) -> GroupOpinion | None:
    return db.session.scalar(sa.select(GroupOpinion).filter_by(item_id=item.id))


def record_opinion(cfg, actor: Actor, session: ReviewSession, item: SessionItem, text: str,
                   group: list[int]) -> GroupOpinion:
    """A panel member records (or revises, until the ballot opens) the review group's opinion on
    a file, naming the panel members who formed the group; the member recording is one of them."""
    if not uses_review_group(cfg):
        raise Invalid(_l("本地区评审不设专业评议组。"))
    me = member_of(actor, session)
    if me is None or item.session_id != session.id:
        raise Forbidden(_l("只有本评审会的评审专家可以记录专业评议组意见。"))
    if me.expert.confidentiality_signed_at is None:
        raise Forbidden(_l("请先签署保密协议。"))
    if session.status != SessionStatus.drawn.value:
        raise Invalid(_l("评审会已开始表决或已结束，专业评议组意见不能再修改。"))
    text = text.strip()
    active = {m.id for m in session.members if m.status == MemberStatus.active.value}
    members = sorted((set(group) & active) | {me.id})
    problems = []
    if not text:
        problems.append(_l("请填写专业评议组对申报人专业技术工作的评议意见。"))
    elif len(text) > MAX_TEXT:
        problems.append(_l("评议意见不超过%(n)d字。", n=MAX_TEXT))
    if set(group) - active:
        problems.append(_l("评议组成员须为本评审会的在任评审专家。"))
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    op = opinion_of(item)
    if op is None:
        op = GroupOpinion(session_id=session.id, item_id=item.id)
        db.session.add(op)
    op.text, op.members, op.recorded_by, op.at = text, members, me.id, utcnow()
    db.session.flush()
    audit(actor, "group_opinions", op.id, "group_opinion", reason=f"item {item.id}")
    db.session.commit()
    return op


def vote_blockers(cfg, session: ReviewSession) -> list:
    """Files still without the review group's opinion, where the tenant uses review groups."""
    if not uses_review_group(cfg):
        return []
    have = opinions(session)
    return [_l("%(code)s：专业评议组尚未提出评议意见。", code=it.code)
            for it in session.items if it.id not in have]

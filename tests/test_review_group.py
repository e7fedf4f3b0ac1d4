"""The professional review group (BJ23-PANEL-1): before the committee votes, members of the
session's panel give a written opinion on every file; the voting members read it on the file and
on the ballot; the ballot does not open while a file has none. Whether a tenant uses review
groups is tenant data."""
import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, ReviewSession
from app.models.assessment import GroupOpinion
from app.tenancy import tenants
from app.workflow import defense, review_group
from app.workflow.errors import Forbidden, Invalid
from app.workflow.transitions import transition

from . import factories as f
from .test_review import CFG, VOTE_DAY, chifeng_session, drawn_session

OPINION = "申报人主持完成的两项工程业绩突出，专业技术水平达到正高级要求。"


@pytest.fixture
def agency(ctx):
    return f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")


def _defended(s, agency):
    for it in s.items:
        defense.record_defense(CFG(), f.actor(agency), s, it.id, "held", now=VOTE_DAY)


def _open(s, chair):
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user),
               present=[m.id for m in s.members if m.status == "active"], now=VOTE_DAY)


@pytest.mark.rule("BJ23-PANEL-1")
def test_no_ballot_until_the_review_group_has_given_its_opinion_on_every_file(agency):
    assert CFG().policies.review_group  # Beijing's tenant data
    s, apps, chair = drawn_session(agency, 2, 5, ready=False)
    _defended(s, agency)
    first, second = s.items
    members = [m for m in s.members if m.status == "active"]
    writer, colleague = [m for m in members if m is not chair][:2]
    with pytest.raises(Invalid) as refused:
        _open(s, chair)
    assert [str(p) for p in refused.value.problems] == [
        "A001：专业评议组尚未提出评议意见。", "A002：专业评议组尚未提出评议意见。"]
    with pytest.raises(Forbidden):  # not a member of this session
        review_group.record_opinion(CFG(), f.actor(agency), s, first, OPINION, [])
    with pytest.raises(Invalid) as bad:
        review_group.record_opinion(CFG(), f.actor(writer.expert.user), s, first, "  ",
                                    [colleague.id, 10**6])
    assert len(bad.value.problems) == 2  # no text; a "member" who is not on the panel
    assert db.session.scalar(sa.select(sa.func.count(GroupOpinion.id))) == 0
    op = review_group.record_opinion(CFG(), f.actor(writer.expert.user), s, first, OPINION,
                                     [colleague.id])
    assert op.members == sorted([writer.id, colleague.id])  # the writer is one of the group
    with pytest.raises(Invalid) as refused:
        _open(s, chair)
    assert [str(p) for p in refused.value.problems] == ["A002：专业评议组尚未提出评议意见。"]
    review_group.record_opinion(CFG(), f.actor(colleague.expert.user), s, second, "业绩一般",
                                [writer.id])
    _open(s, chair)
    with pytest.raises(Invalid, match="不能再修改"):
        review_group.record_opinion(CFG(), f.actor(writer.expert.user), s, second, "改", [])
    assert review_group.opinions(s)[second.id].text == "业绩一般"
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).filter_by(
        action="group_opinion")) == 2


@pytest.mark.rule("BJ23-PANEL-1")
def test_a_tenant_without_review_groups_votes_without_opinions(ctx):
    cfg, s, ag, a = chifeng_session()
    assert not cfg.policies.review_group
    assert review_group.vote_blockers(cfg, s) == []
    member = next(m for m in s.members if m.status == "active")
    with pytest.raises(Invalid, match="不设专业评议组"):
        review_group.record_opinion(cfg, f.actor(member.expert.user), s, s.items[0], OPINION, [])


@pytest.mark.rule("BJ23-PANEL-1")
def test_the_voting_members_read_the_opinion_on_the_file_and_the_ballot(app, client, login):
    with app.app_context():
        agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        s, apps, chair = drawn_session(agency, 1, 5, ready=False)
        _defended(s, agency)
        others = [m for m in s.members if m is not chair]
        sid, item = s.id, s.items[0].id
        writer, colleague, reader = (m.expert.user.username for m in others[:3])
        colleague_id, colleague_name = others[1].id, others[1].expert.name
        chair_name = chair.expert.user.username
    page_url = f"/beijing/expert/sessions/{sid}/items/{item}"
    with time_machine.travel(VOTE_DAY, tick=False):
        login("beijing", writer)
        page = client.get(page_url).get_data(as_text=True)
        assert "专业评议组尚未提出评议意见" in page and 'name="group"' in page
        r = client.post(f"{page_url}/opinion", data={"opinion": OPINION,
                                                     "group": [colleague_id]},
                        follow_redirects=True)
        assert "已记录专业评议组意见" in r.get_data(as_text=True)
        client.post("/beijing/logout")
        login("beijing", reader)
        page = client.get(page_url).get_data(as_text=True)
        assert OPINION in page and colleague_name in page
        client.post("/beijing/logout")
        login("beijing", chair_name)
        with app.app_context():
            present = [m.id for m in db.session.get(ReviewSession, sid).members]
        client.post(f"/beijing/expert/sessions/{sid}/attendance", data={"present": present})
        client.post("/beijing/logout")
        login("beijing", reader)
        page = client.get(f"/beijing/expert/sessions/{sid}").get_data(as_text=True)
        ballot = page[page.index('id="ballot"'):]
        assert f"专业评议组意见：{OPINION}" in ballot and f'name="item-{item}"' in ballot
        page = client.get(page_url).get_data(as_text=True)
        assert OPINION in page and f'action="{page_url}/opinion"' not in page  # fixed now

"""The demo works on whatever day it is loaded, loading twice keeps the data, every office on the
demo's routes has an account that signs in, and files wait at every stage of the year."""
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from app.demo import load_demo
from app.extensions import db
from app.models import (
    Application, AuditEvent, Org, Plan, ReviewSession, Status, User,
)
from app.models.certificates import Certificate
from app.models.results import Publication
from app.tenancy import tenants
from app.tenancy.schema import StepKind
from app.workflow.people import authenticate
from app.workflow.routing import STEP_ROLE, compute_route, matching_rule, required_committee
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

README = Path(__file__).resolve().parent.parent / "README.md"


def test_demo_plan_accounts_and_a_file_ready_to_recommend(ctx):
    cfg = tenants()["beijing"]
    with time_machine.travel(at(2027, 3, 15, 9), tick=False):  # any day, here one in 2027
        accounts = load_demo(cfg, f.tenant_id("beijing"), date(2027, 3, 15))
        again = load_demo(cfg, f.tenant_id("beijing"), date(2027, 3, 15))
        assert accounts == again
        roles = {role for _, role, _ in accounts}
        assert {"applicant", "employer_clerk", "hr_officer", "agency_clerk",
                "association_clerk", "tenant_admin"} <= roles
        plan = db.session.scalar(sa.select(Plan).filter_by(code="bj-demo"))
        assert plan.is_demo and plan.name.startswith("演示")
        assert plan.window("apply").opens_on <= date(2027, 3, 15) <= plan.window("apply").closes_on
        from app.models.fees import FeeWindow
        fee = db.session.scalar(sa.select(FeeWindow).filter_by(plan_id=plan.id))
        assert fee.amount == 35000 and fee.closes_on == plan.window("agency_check").closes_on
        waiting = db.session.scalar(sa.select(Application).join(User, User.id ==
                                                                Application.applicant_id)
                                    .where(User.username == "bj-applicant-2"))
        assert waiting.status == Status.in_notice.value
        clerk = db.session.scalar(sa.select(User).filter_by(username="bj-employer"))
        transition(cfg, waiting, "recommend", f.actor(clerk), opinion="同意推荐",
                   no_objection=True)
        assert waiting.status == Status.recommended.value
    with time_machine.travel(at(2027, 9, 1, 9), tick=False):  # months later: windows laid again
        load_demo(cfg, f.tenant_id("beijing"), date(2027, 9, 1))
        plan = db.session.scalar(sa.select(Plan).filter_by(code="bj-demo"))
        assert plan.window("apply").closes_on >= date(2027, 9, 1)


# -- every office on every route has a demo account --------------------------------------------

# For each tenant, demo files of every kind the routing rules tell apart: (employer, freelancer's
# association, committee, series, specialty, level, policy). Together they match every rule.
ROUTE_CASES = {
    "beijing": [
        (None, "bj-assoc-art", "bj-art", "art", None, "intermediate", None),
        ("bj-emp-design", None, "bj-eng", "engineering", "civil", "intermediate", None),
        ("bj-emp-robotics", None, "bj-robot-jingkai", "engineering", "robotics", "intermediate",
         None),
        ("bj-emp-metro", None, "bj-robot-changping", "engineering", "robotics", "senior", None),
        ("bj-emp-metro", None, "bj-lowalt-fengtai", "engineering", "low_altitude", "intermediate",
         None),
        ("bj-emp-foundation", None, "bj-econ", "economics", None, "intermediate", None),
        ("bj-emp-central", None, "bj-agri", "natural_research", None, "associate_senior", None),
    ],
    "chifeng": [
        (None, "cf-emp-society", "nm-eng-senior", "engineering", "mechanical", "associate_senior",
         None),
        (None, "cf-emp-ningcheng-society", "cf-ningcheng", "agriculture", None, "intermediate",
         None),
        (None, "cf-emp-society", "cf-eng", "engineering", "mechanical", "intermediate", None),
        ("cf-emp-station", None, "nm-eng-senior", "engineering", "mechanical", "senior",
         "directed"),
        ("cf-emp-school", None, "cf-teacher", "school_teacher", None, "associate_senior",
         "directed"),
        ("cf-emp-central", None, "nm-eng-senior", "engineering", "mechanical", "associate_senior",
         None),
        ("cf-emp-central", None, "cf-ningcheng", "agriculture", None, "intermediate", None),
        ("cf-emp-central", None, "cf-eng", "engineering", "mechanical", "intermediate", None),
        ("cf-emp-station", None, "cf-eng", "engineering", "construction", "intermediate", None),
        ("cf-emp-design", None, "cf-eng", "engineering", "construction", "intermediate", None),
        ("cf-emp-private", None, "nm-eng-senior", "engineering", "mechanical", "associate_senior",
         None),
        ("cf-emp-ningcheng-society", None, "cf-ningcheng", "agriculture", None, "intermediate",
         None),
        ("cf-emp-private", None, "cf-eng", "engineering", "mechanical", "intermediate", None),
        ("cf-emp-school", None, "cf-ningcheng", "school_teacher", None, "intermediate", None),
        ("cf-emp-school", None, "cf-teacher", "school_teacher", None, "associate_senior", None),
        ("cf-emp-city-school", None, "cf-teacher", "school_teacher", None, "associate_senior",
         None),
        ("cf-emp-design", None, "nm-eng-senior", "engineering", "mechanical", "senior", None),
        ("cf-emp-design", None, "cf-eng", "engineering", "mechanical", "intermediate", None),
        ("cf-emp-station", None, "nm-eng-senior", "engineering", "mechanical", "associate_senior",
         None),
        ("cf-emp-hospital", None, "cf-ningcheng", "health", None, "intermediate", None),
        ("cf-emp-station", None, "cf-eng", "engineering", "mechanical", "intermediate", None),
    ],
}


def _case(slug, employer, association, committee, series, specialty, level, policy):
    """An application as the routing code sees it (never saved): who, where, what."""
    emp = f.org(slug, employer) if employer else None
    assoc = f.org(slug, association) if association else None
    return Application(tenant_id=f.tenant_id(slug), employer=emp, association=assoc,
                       committee=f.committee(slug, committee), series=series,
                       specialty=specialty, level=level, policy=policy,
                       person_type="freelancer" if association else "professional")


def _sign_in(slug, org_id: int, role: str) -> User:
    """The office's demo account, signed in with the demo password through the sign-in service."""
    user = db.session.scalar(sa.select(User).filter_by(tenant_id=f.tenant_id(slug),
                                                       org_id=org_id, role=role)
                             .order_by(User.id))
    org = db.session.get(Org, org_id)
    assert user is not None, f"{slug}: no demo {role} account for {org.code}"
    return authenticate(user.tenant_id, user.username, tenants()[slug].demo.password, "127.0.0.1")


@pytest.mark.parametrize("slug", ["beijing", "chifeng"])
def test_every_office_on_every_route_has_a_demo_account_that_signs_in(ctx, slug):
    cfg = tenants()[slug]
    with time_machine.travel(at(2027, 3, 15, 9), tick=False):
        load_demo(cfg, f.tenant_id(slug), date(2027, 3, 15))
    rules = cfg.routing.route
    matched = set()
    offices = set()
    for case in ROUTE_CASES[slug]:
        app = _case(slug, *case)
        rule = matching_rule(cfg, app, app.employer)
        matched.add(rules.index(rule))
        wanted = required_committee(cfg, app)  # district-routed specialties: the right committee
        assert wanted in (None, case[2]), (case, wanted)
        for step in compute_route(cfg, app):
            user = _sign_in(slug, step["org_id"], STEP_ROLE[StepKind(step["kind"])].value)
            assert user.active
            offices.add(step["org_id"])
        if rule.recommender == "association":  # vetted and stamped offline by the association
            _sign_in(slug, app.association.id, "association_clerk")
    assert matched == set(range(len(rules))), "a routing rule has no demo case"
    # Each kind of office the routes name appears (employer, departments, HR tiers, agencies).
    kinds = {k for r in rules for k in r.steps}
    assert len(offices) >= len(kinds)


@pytest.mark.parametrize("slug", ["beijing", "chifeng"])
def test_the_readme_names_every_demo_account(ctx, slug):
    demo = tenants()[slug].demo
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Demo"):text.index("## Map of the code")]
    named = set(re.findall(r"`([a-z0-9-]+)`", section))
    missing = {u.username for u in demo.user} | {x.username for x in demo.expert}
    missing = {u for u in missing if u not in named and not u.startswith(("bj-expert-",
                                                                            "cf-expert-"))}
    assert not missing, f"README demo section lacks {sorted(missing)}"
    assert f"`{demo.expert[0].username}`" in section  # the experts, named by their first


# -- files at every stage ------------------------------------------------------------------------

# Applicant → the status their demo file is in (a `recommended` Chifeng file may wait at an
# office of the route, where it is still "submitted").
STAGES = {
    "beijing": {"bj-draft": "draft", "bj-applicant-2": "in_notice",
                "bj-recommended": "recommended", "bj-returned": "returned",
                "bj-checked": "checked", "bj-paid": "paid", "bj-in-session": "in_review",
                "bj-voted": "passed", "bj-public-notice": "passed",
                "bj-certified": "certified"},
    "chifeng": {"cf-draft": "draft", "cf-applicant": "in_notice", "cf-at-county": "submitted",
                "cf-at-city": "submitted", "cf-recommended": "recommended",
                "cf-returned": "returned", "cf-checked": "checked", "cf-in-session": "in_review",
                "cf-voted": "passed", "cf-public-notice": "passed",
                "cf-certified": "certified"},
}
TODAY = date(2027, 3, 15)  # five weeks after the Spring Festival of 2027: holidays on the way


def _files(slug) -> dict[str, Application]:
    rows = db.session.execute(
        sa.select(User.username, Application).join(Application,
                                                   Application.applicant_id == User.id)
        .join(Plan, Plan.id == Application.plan_id)
        .where(User.tenant_id == f.tenant_id(slug), Plan.is_demo.is_(True))).all()
    return {u: a for u, a in rows}


def _publication(app: Application) -> Publication | None:
    from app.workflow.results import session_item
    item = session_item(app)
    return db.session.scalar(sa.select(Publication).filter_by(session_id=item.session_id))


def _size() -> tuple:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                 for m in (Application, AuditEvent, ReviewSession, Publication, Certificate,
                           User))


def test_both_tenants_hold_a_file_at_every_stage_and_loading_again_adds_nothing(ctx):
    with time_machine.travel(at(2027, 3, 15, 9), tick=False):
        for slug in ("beijing", "chifeng"):
            load_demo(tenants()[slug], f.tenant_id(slug), TODAY)
        size = _size()
        for slug in ("beijing", "chifeng"):
            files = _files(slug)
            assert {u: a.status for u, a in files.items()} == STAGES[slug]
            counts = Counter(a.status for a in files.values())
            for status in ("draft", "in_notice", "recommended", "returned", "checked",
                           "in_review", "passed", "certified"):
                assert counts[status] >= 1, (slug, status)
            prefix = "bj" if slug == "beijing" else "cf"
            returned = files[f"{prefix}-returned"]
            assert returned.correction_due > TODAY and returned.steps[-1].items  # 一次性告知
            drawn = _session(files[f"{prefix}-in-session"])
            assert drawn.status == "drawn" and drawn.members and drawn.held_on > TODAY
            voted = files[f"{prefix}-voted"]
            assert _publication(voted) is None
            session = _session(voted)
            assert session.status == "closed" and session.tally_digest
            noticed = _publication(files[f"{prefix}-public-notice"])
            assert noticed.starts_on <= TODAY <= noticed.ends_on
            certified = files[f"{prefix}-certified"]
            assert _publication(certified).ends_on < TODAY
            assert db.session.scalar(sa.select(Certificate).filter_by(
                application_id=certified.id)) is not None
        bj = _files("beijing")
        assert bj["bj-paid"].status == Status.paid.value and bj["bj-paid"].steps[-1].action == \
            "confirm_payment"
        cf = _files("chifeng")
        assert cf["cf-at-county"].holder_org_id == f.org("chifeng", "cf-hr-songshan").id
        assert cf["cf-at-city"].holder_org_id == f.org("chifeng", "cf-hr").id
        assert cf["cf-recommended"].holder_org_id == f.org("chifeng", "cf-agency-city").id
        # Each applicant's profile (业绩档案): education and work verified by the employer's
        # clerk, the paper still waiting; the file's sections were taken from it.
        from app.models import ProfileItem
        draft = cf["cf-draft"] if "cf-draft" in cf else next(
            a for a in cf.values() if a.status == "draft")
        items = db.session.scalars(sa.select(ProfileItem).filter_by(
            user_id=draft.applicant_id).order_by(ProfileItem.id)).all()
        assert [(i.kind, i.state) for i in items] == [
            ("education", "verified"), ("work", "verified"), ("papers", "unverified")]
        assert items[0].checker is not None and items[0].checker.role in (
            "employer_clerk", "association_clerk")
        assert {e.profile_item_id for e in draft.entries} == {i.id for i in items}
        # Loading again keeps every row as it is.
        for slug in ("beijing", "chifeng"):
            load_demo(tenants()[slug], f.tenant_id(slug), TODAY)
        assert _size() == size
        assert {u: a.status for u, a in _files("chifeng").items()} == STAGES["chifeng"]


def _session(app: Application) -> ReviewSession:
    from app.workflow.results import session_item
    return session_item(app).session

"""The demo works on whatever day it is loaded, and loading twice keeps the data."""
from datetime import date

import sqlalchemy as sa
import time_machine

from app.demo import load_demo
from app.extensions import db
from app.models import Application, Plan, Status, User
from app.tenancy import tenants
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at


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
        apps = db.session.scalars(sa.select(Application).filter_by(plan_id=plan.id)).all()
        assert [a.status for a in apps] == [Status.in_notice.value]
        clerk = db.session.scalar(sa.select(User).filter_by(username="bj-employer"))
        transition(cfg, apps[0], "recommend", f.actor(clerk), opinion="同意推荐",
                   no_objection=True)
        assert apps[0].status == Status.recommended.value
    with time_machine.travel(at(2027, 9, 1, 9), tick=False):  # months later: windows laid again
        load_demo(cfg, f.tenant_id("beijing"), date(2027, 9, 1))
        plan = db.session.scalar(sa.select(Plan).filter_by(code="bj-demo"))
        assert plan.window("apply").closes_on >= date(2027, 9, 1)

"""Paper files of directed evaluation (定向评价) reach city HR by the plan's own `paper_to_city`
close (三(五), CF-WIN-4).

The file's route passes through city HR (the tenant's routing.toml, `policy = "directed"`);
city HR records the paper's arrival on the paper page like every holder (CF-PAPER-2). Only a
matching receipt by city HR counts: one by county HR, or a mismatch, does not. Until it has one,
city HR cannot send the file on, and at the close every open file without one is no longer
reported (deadlines.CLOSES["paper_to_city"])."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Application, Org
from ..models.paper import PaperReceipt
from ..tenancy.schema import OrgKind, Tier
from .errors import Invalid

PAPER_STAGE = "paper_to_city"


def applies(app: Application) -> bool:
    """Whether the file's plan asks for its paper at city HR by a date of its own."""
    return app.plan.window(PAPER_STAGE) is not None


def _city_hr_ids():
    return sa.select(Org.id).where(Org.kind == OrgKind.hr_bureau.value,
                                   Org.tier == Tier.city.value)


def received_at_city(app_id_column):
    """SQL: a matching paper receipt recorded by city HR exists for the application."""
    return sa.select(PaperReceipt.id).where(
        PaperReceipt.application_id == app_id_column, PaperReceipt.matched.is_(True),
        PaperReceipt.org_id.in_(_city_hr_ids())).exists()


def is_city_hr(org_id: int | None) -> bool:
    return org_id is not None and db.session.scalar(
        _city_hr_ids().where(Org.id == org_id)) is not None


def check_sending_on(app: Application, holder_org_id: int | None) -> None:
    """City HR sends a directed file on only once its paper has arrived and matched."""
    if not applies(app) or not is_city_hr(holder_org_id):
        return
    if not db.session.scalar(sa.select(received_at_city(app.id))):
        raise Invalid(_l("定向评价纸质材料须报送至市人社局：请先在“纸质材料接收登记”中登记接收，"
                         "与网上申报一致后方可上报。"))

"""The integrity record (职称评审诚信档案, BJ-INTEG-1, CF-INTEG-1): who may not apply, and until when."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import User
from ..models.certificates import IntegrityRecord

DEFAULT_RECORD_YEARS = 3  # BJ-INTEG-1 四(一), CF-INTEG-1 七(一): "记录期限为3年"


def record_years(cfg) -> int:
    """How long this tenant's records run (its certificate policy, else the notices' 3 years)."""
    policy = cfg.policies.certificates
    return policy.integrity_record_years if policy is not None else DEFAULT_RECORD_YEARS


def record_ends(starts_on: date, years: int) -> date:
    """The day a record of `years` years expires: the same date `years` later (29 Feb → 1 Mar)."""
    try:
        return starts_on.replace(year=starts_on.year + years)
    except ValueError:
        return date(starts_on.year + years, 3, 1)


def active_record(tenant_id: int, user: User, day: date) -> IntegrityRecord | None:
    """The record that bars this person (by account or by ID number) on `day`, if any: a running
    record of a case marked serious (四(一): 情节严重的，3年内取消职称及岗位晋升资格). A plain
    record is kept for its years but does not bar. The one ending last when there are several."""
    who = [IntegrityRecord.user_id == user.id]
    if user.id_number_hash:
        who.append(IntegrityRecord.id_number_hash == user.id_number_hash)
    return db.session.scalar(
        sa.select(IntegrityRecord)
        .where(IntegrityRecord.tenant_id == tenant_id, sa.or_(*who),
               IntegrityRecord.serious.is_(True),
               IntegrityRecord.starts_on <= day, IntegrityRecord.ends_on > day)
        .order_by(IntegrityRecord.ends_on.desc()).limit(1))


def barred_message(record: IntegrityRecord):
    return _l("您在职称评审诚信档案中有记录，%(d)s前不得申报职称评审。",
              d=record.ends_on.isoformat())

"""applications: one index for a tenant's files by status and plan; the unit index only for files
past their first step

Revision ID: a7c3e5f9b241
Revises: d6f2a8c4e913
Create Date: 2026-12-04 10:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7c3e5f9b241'
down_revision = 'd6f2a8c4e913'
branch_labels = None
depends_on = None

SENT = {f"{dialect}_where": sa.text("route_pos > 0") for dialect in ("postgresql", "sqlite")}


def upgrade():
    # Each index of applications takes a new entry for every file a status change moves: two
    # fewer indexes written by a deadline close, and none for the drafts an apply close abandons
    # in the unit index.
    op.create_index('ix_applications_tenant_status_plan', 'applications',
                    ['tenant_id', 'status', 'plan_id'], unique=False)
    op.drop_index('ix_applications_plan_status', table_name='applications')
    op.drop_index('ix_applications_tenant_id', table_name='applications')
    op.create_index('ix_applications_employer_sent', 'applications', ['employer_org_id'],
                    unique=False, **SENT)
    op.drop_index('ix_applications_employer_org_id', table_name='applications')


def downgrade():
    op.create_index('ix_applications_employer_org_id', 'applications', ['employer_org_id'],
                    unique=False)
    op.drop_index('ix_applications_employer_sent', table_name='applications')
    op.create_index('ix_applications_tenant_id', 'applications', ['tenant_id'], unique=False)
    op.create_index('ix_applications_plan_status', 'applications', ['plan_id', 'status'],
                    unique=False)
    op.drop_index('ix_applications_tenant_status_plan', table_name='applications')

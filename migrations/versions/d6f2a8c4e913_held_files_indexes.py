"""office lists: index only the files an office holds; audit events: no index on `at`

Revision ID: d6f2a8c4e913
Revises: b4e8f2a61d07
Create Date: 2026-12-04 01:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd6f2a8c4e913'
down_revision = 'b4e8f2a61d07'
branch_labels = None
depends_on = None

HELD = {f"{dialect}_where": sa.text("holder_org_id IS NOT NULL")
        for dialect in ("postgresql", "sqlite")}
INDEXES = {
    'ix_applications_holder_status_submitted':
        ['tenant_id', 'holder_org_id', 'status', 'submitted_at', 'id'],
    'ix_applications_holder_submitted': ['tenant_id', 'holder_org_id', 'submitted_at', 'id'],
}


def upgrade():
    # Every office list asks for one holder's files, so rows without a holder (drafts, closed
    # and finished files) need no entry, and a close that clears the holder writes none.
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name='applications')
        op.create_index(name, 'applications', columns, unique=False, **HELD)
    # No query looks audit events up by time alone (a file's history goes by subject, exports
    # by the tenant's chain): one index fewer to write per event.
    op.drop_index('ix_audit_events_at', table_name='audit_events')


def downgrade():
    op.create_index('ix_audit_events_at', 'audit_events', ['at'], unique=False)
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name='applications')
        op.create_index(name, 'applications', columns, unique=False)

"""office lists: a holder's files by status and in submission order, read off an index

Revision ID: c3d9a1f0b7e2
Revises: b5e1c7d9a402
Create Date: 2026-12-02 16:55:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3d9a1f0b7e2'
down_revision = 'b5e1c7d9a402'
branch_labels = None
depends_on = None


def upgrade():
    # The new (tenant, holder, status, submitted_at, id) index serves every query the old
    # (holder, status) one did, and the list's pages and counts besides.
    op.drop_index('ix_applications_holder_status', table_name='applications')
    op.create_index('ix_applications_holder_status_submitted', 'applications',
                    ['tenant_id', 'holder_org_id', 'status', 'submitted_at', 'id'], unique=False)
    op.create_index('ix_applications_holder_submitted', 'applications',
                    ['tenant_id', 'holder_org_id', 'submitted_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_applications_holder_submitted', table_name='applications')
    op.drop_index('ix_applications_holder_status_submitted', table_name='applications')
    op.create_index('ix_applications_holder_status', 'applications',
                    ['holder_org_id', 'status'], unique=False)

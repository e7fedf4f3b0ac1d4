"""complaints and reports with their answers; supervisory members of review sessions

Revision ID: c8e5a2f4d917
Revises: c4d81b7e2a90
Create Date: 2026-12-02 10:45:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'c8e5a2f4d917'
down_revision = 'c4d81b7e2a90'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'complaints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('agency_org_id', sa.Integer(), nullable=True),
        sa.Column('employer_org_id', sa.Integer(), nullable=True),
        sa.Column('application_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.Column('evidence', sa.Text(), nullable=False),
        sa.Column('lead', sa.Text(), nullable=False),
        sa.Column('evidence_filename', sa.String(length=200), nullable=True),
        sa.Column('evidence_stored', sa.String(length=80), nullable=True),
        sa.Column('evidence_mime', sa.String(length=40), nullable=True),
        sa.Column('complainant', sa.String(length=60), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('contact_enc', sa.String(length=200), nullable=True),
        sa.Column('contact_masked', sa.String(length=20), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('refusal_reason', sa.Text(), nullable=False),
        sa.Column('routed_org_id', sa.Integer(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('outcome', sa.String(length=10), nullable=True),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('answered_by', sa.Integer(), nullable=True),
        sa.Column('answered_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('filed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['agency_org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id']),
        sa.ForeignKeyConstraint(['answered_by'], ['users.id']),
        sa.ForeignKeyConstraint(['employer_org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['routed_org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'code'),
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_application_id'), ['application_id'],
                              unique=False)
        batch_op.create_index('ix_complaints_routed_status', ['routed_org_id', 'status'],
                              unique=False)
    op.create_table(
        'session_supervisors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('appointed_by', sa.Integer(), nullable=True),
        sa.Column('appointed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('present_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['appointed_by'], ['users.id']),
        sa.ForeignKeyConstraint(['session_id'], ['review_sessions.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'user_id'),
    )
    with op.batch_alter_table('session_supervisors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_supervisors_tenant_id'), ['tenant_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_session_supervisors_session_id'), ['session_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_session_supervisors_user_id'), ['user_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('session_supervisors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_supervisors_user_id'))
        batch_op.drop_index(batch_op.f('ix_session_supervisors_session_id'))
        batch_op.drop_index(batch_op.f('ix_session_supervisors_tenant_id'))
    op.drop_table('session_supervisors')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_routed_status')
        batch_op.drop_index(batch_op.f('ix_complaints_application_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_tenant_id'))
    op.drop_table('complaints')

"""self-review supervision events, academic entrustments and opinions

Revision ID: b8e4c1f7a2d9
Revises: d9c3f1a7e540
Create Date: 2026-12-02 14:10:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'b8e4c1f7a2d9'
down_revision = 'd9c3f1a7e540'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('self_review_applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('institution_kind', sa.String(length=20), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('self_review_applications', schema=None) as batch_op:
        batch_op.alter_column('institution_kind', server_default=None)
    op.create_table(
        'self_review_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('unit_org_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('series', sa.String(length=40), nullable=False),
        sa.Column('level', sa.String(length=40), nullable=False),
        sa.Column('applicant_id', sa.Integer(), nullable=True),
        sa.Column('application_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.ForeignKeyConstraint(['unit_org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['applicant_id'], ['users.id']),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id']),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('self_review_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_review_events_tenant_id'), ['tenant_id'])
        batch_op.create_index(batch_op.f('ix_self_review_events_unit_org_id'), ['unit_org_id'])
        batch_op.create_index(batch_op.f('ix_self_review_events_at'), ['at'])
    op.create_table(
        'academic_entrustments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('unit_org_id', sa.Integer(), nullable=False),
        sa.Column('entrusted_org_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.Column('filed_by', sa.Integer(), nullable=True),
        sa.Column('filed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.ForeignKeyConstraint(['unit_org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['entrusted_org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['filed_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('academic_entrustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_academic_entrustments_tenant_id'), ['tenant_id'])
        batch_op.create_index(batch_op.f('ix_academic_entrustments_unit_org_id'), ['unit_org_id'])
        batch_op.create_index(batch_op.f('ix_academic_entrustments_entrusted_org_id'),
                              ['entrusted_org_id'])
    op.create_table(
        'academic_opinions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('entrustment_id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('passed', sa.Boolean(), nullable=False),
        sa.Column('comments', sa.Text(), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=True),
        sa.Column('reviewer_name', sa.String(length=100), nullable=False),
        sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.ForeignKeyConstraint(['entrustment_id'], ['academic_entrustments.id']),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id']),
        sa.ForeignKeyConstraint(['reviewer_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id'),
    )
    with op.batch_alter_table('academic_opinions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_academic_opinions_tenant_id'), ['tenant_id'])
        batch_op.create_index(batch_op.f('ix_academic_opinions_entrustment_id'),
                              ['entrustment_id'])


def downgrade():
    op.drop_table('academic_opinions')
    op.drop_table('academic_entrustments')
    op.drop_table('self_review_events')
    with op.batch_alter_table('self_review_applications', schema=None) as batch_op:
        batch_op.drop_column('institution_kind')

"""applications to become a self-review unit

Revision ID: e7b3d5a9c214
Revises: c4d8e2f1a037
Create Date: 2026-12-02 12:05:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'e7b3d5a9c214'
down_revision = 'c4d8e2f1a037'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'self_review_applications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('unit_type', sa.String(length=30), nullable=False),
        sa.Column('ownership', sa.String(length=20), nullable=False),
        sa.Column('legal_person', sa.Boolean(), nullable=False),
        sa.Column('total_staff', sa.Integer(), nullable=False),
        sa.Column('professional_staff', sa.Integer(), nullable=False),
        sa.Column('senior_experts', sa.JSON(), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('influence', sa.Text(), nullable=False),
        sa.Column('relaxation', sa.Text(), nullable=False),
        sa.Column('plan_filename', sa.String(length=200), nullable=False),
        sa.Column('plan_stored', sa.String(length=80), nullable=False),
        sa.Column('plan_mime', sa.String(length=40), nullable=False),
        sa.Column('plan_sha256', sa.String(length=64), nullable=False),
        sa.Column('standards_filename', sa.String(length=200), nullable=False),
        sa.Column('standards_stored', sa.String(length=80), nullable=False),
        sa.Column('standards_mime', sa.String(length=40), nullable=False),
        sa.Column('standards_sha256', sa.String(length=64), nullable=False),
        sa.Column('recommender_org_id', sa.Integer(), nullable=True),
        sa.Column('recommender_opinion', sa.Text(), nullable=False),
        sa.Column('evaluation_group', sa.JSON(), nullable=False),
        sa.Column('findings', sa.JSON(), nullable=False),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.Column('approved_scope', sa.JSON(), nullable=False),
        sa.Column('decided_on', sa.Date(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], ),
        sa.ForeignKeyConstraint(['recommender_org_id'], ['orgs.id'], ),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('self_review_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_review_applications_org_id'), ['org_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_self_review_applications_recommender_org_id'),
                              ['recommender_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_self_review_applications_tenant_id'), ['tenant_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('self_review_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_review_applications_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_self_review_applications_recommender_org_id'))
        batch_op.drop_index(batch_op.f('ix_self_review_applications_org_id'))
    op.drop_table('self_review_applications')

"""demo plans' clocks

Revision ID: d9c3f1a7e540
Revises: e7b3d5a9c214
Create Date: 2026-12-02 14:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'd9c3f1a7e540'
down_revision = 'e7b3d5a9c214'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'demo_clocks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('last_days', sa.Integer(), nullable=False),
        sa.Column('moved_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('moved_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['moved_by'], ['users.id'], ),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('plan_id')
    )
    with op.batch_alter_table('demo_clocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demo_clocks_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('demo_clocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demo_clocks_tenant_id'))
    op.drop_table('demo_clocks')

"""batch actions on a selection of files, kept for their undo

Revision ID: e9a4b2c7d513
Revises: c3d9a1f0b7e2
Create Date: 2026-12-02 16:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'e9a4b2c7d513'
down_revision = 'c3d9a1f0b7e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('opinion', sa.Text(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('undo_until', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_batches_actor_id_users')),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_batches_org_id_orgs')),
        sa.ForeignKeyConstraint(['session_id'], ['review_sessions.id'],
                                name=op.f('fk_batches_session_id_review_sessions')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_batches_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_batches')),
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batches_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batches_tenant_id'), ['tenant_id'], unique=False)
    op.create_table(
        'batch_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('done', sa.Boolean(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('status_before', sa.String(length=20), nullable=False),
        sa.Column('holder_before', sa.Integer(), nullable=True),
        sa.Column('route_pos_before', sa.Integer(), nullable=False),
        sa.Column('correction_due_before', sa.Date(), nullable=True),
        sa.Column('version_before', sa.Integer(), nullable=False),
        sa.Column('version_after', sa.Integer(), nullable=True),
        sa.Column('step_id', sa.Integer(), nullable=True),
        sa.Column('undone_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                                name=op.f('fk_batch_items_application_id_applications')),
        sa.ForeignKeyConstraint(['batch_id'], ['batches.id'],
                                name=op.f('fk_batch_items_batch_id_batches')),
        sa.ForeignKeyConstraint(['holder_before'], ['orgs.id'],
                                name=op.f('fk_batch_items_holder_before_orgs')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_items')),
    )
    with op.batch_alter_table('batch_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_items_application_id'), ['application_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_batch_items_batch_id'), ['batch_id'], unique=False)


def downgrade():
    with op.batch_alter_table('batch_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_items_batch_id'))
        batch_op.drop_index(batch_op.f('ix_batch_items_application_id'))
    op.drop_table('batch_items')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batches_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_batches_actor_id'))
    op.drop_table('batches')

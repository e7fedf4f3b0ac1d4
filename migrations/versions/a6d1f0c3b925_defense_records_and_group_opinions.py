"""defense records (held, or absent with the committee's decision) and the professional review
group's written opinion per file

Revision ID: a6d1f0c3b925
Revises: c4e8a2d19f37
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'a6d1f0c3b925'
down_revision = 'c4e8a2d19f37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('defense_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_defense_records_decided_by_users')),
    sa.ForeignKeyConstraint(['item_id'], ['session_items.id'], name=op.f('fk_defense_records_item_id_session_items')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_defense_records_recorded_by_users')),
    sa.ForeignKeyConstraint(['session_id'], ['review_sessions.id'], name=op.f('fk_defense_records_session_id_review_sessions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_defense_records_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_defense_records')),
    sa.UniqueConstraint('item_id', name=op.f('uq_defense_records_item_id'))
    )
    with op.batch_alter_table('defense_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_defense_records_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_defense_records_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('group_opinions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['session_items.id'], name=op.f('fk_group_opinions_item_id_session_items')),
    sa.ForeignKeyConstraint(['recorded_by'], ['panel_members.id'], name=op.f('fk_group_opinions_recorded_by_panel_members')),
    sa.ForeignKeyConstraint(['session_id'], ['review_sessions.id'], name=op.f('fk_group_opinions_session_id_review_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_opinions')),
    sa.UniqueConstraint('item_id', name=op.f('uq_group_opinions_item_id'))
    )
    with op.batch_alter_table('group_opinions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_opinions_session_id'), ['session_id'], unique=False)


def downgrade():
    with op.batch_alter_table('group_opinions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_opinions_session_id'))

    op.drop_table('group_opinions')
    with op.batch_alter_table('defense_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_defense_records_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_defense_records_session_id'))

    op.drop_table('defense_records')

"""the applicant's profile (业绩档案), item by item, and the entries taken from it

Revision ID: b4e8f2a61d07
Revises: b3f9e6c2d1a8
Create Date: 2026-12-03 01:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'b4e8f2a61d07'
down_revision = 'b3f9e6c2d1a8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'profile_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('data_enc', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('checked_by', sa.Integer(), nullable=True),
        sa.Column('checked_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reject_reason', sa.Text(), nullable=True),
        sa.Column('scan_stored', sa.String(length=80), nullable=True),
        sa.Column('scan_filename', sa.String(length=200), nullable=True),
        sa.Column('scan_mime', sa.String(length=40), nullable=True),
        sa.Column('scan_size', sa.Integer(), nullable=True),
        sa.Column('scan_sha256', sa.String(length=64), nullable=True),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['checked_by'], ['users.id'],
                                name=op.f('fk_profile_items_checked_by_users')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_profile_items_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_profile_items_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_items')),
    )
    with op.batch_alter_table('profile_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profile_items_tenant_id'), ['tenant_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_profile_items_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_item_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_entries_profile_item_id'), ['profile_item_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_entries_profile_item_id_profile_items'),
                                    'profile_items', ['profile_item_id'], ['id'])


def downgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_entries_profile_item_id_profile_items'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_entries_profile_item_id'))
        batch_op.drop_column('profile_item_id')
    with op.batch_alter_table('profile_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profile_items_user_id'))
        batch_op.drop_index(batch_op.f('ix_profile_items_tenant_id'))
    op.drop_table('profile_items')

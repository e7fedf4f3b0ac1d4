"""posts, quota allocations, plan filing, close marks

Revision ID: 022085e9ccde
Revises: d3eaabfd3039
Create Date: 2026-11-24 11:54:47.666130

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = '022085e9ccde'
down_revision = 'd3eaabfd3039'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('quota_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('quota', sa.String(length=60), nullable=False),
    sa.Column('district', sa.String(length=40), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(district IS NULL) <> (org_id IS NULL)', name=op.f('ck_quota_allocations_one_target')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_quota_allocations_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quota_allocations_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_quota_allocations_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_allocations')),
    sa.UniqueConstraint('tenant_id', 'quota', 'district', name=op.f('uq_quota_allocations_tenant_id_quota_district')),
    sa.UniqueConstraint('tenant_id', 'quota', 'org_id', name=op.f('uq_quota_allocations_tenant_id_quota_org_id'))
    )
    with op.batch_alter_table('quota_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_allocations_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('unit_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=False),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.Column('holders', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_unit_posts_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_unit_posts_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_unit_posts_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_posts')),
    sa.UniqueConstraint('org_id', 'year', 'level', name=op.f('uq_unit_posts_org_id_year_level'))
    )
    with op.batch_alter_table('unit_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_posts_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_by_run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_from', sa.String(length=20), nullable=True))

    with op.batch_alter_table('plan_windows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closes_set_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_plan_windows_closes_set_by_users'), 'users', ['closes_set_by'], ['id'])

    with op.batch_alter_table('review_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_filed_at', app.models.base.UTCDateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('review_sessions', schema=None) as batch_op:
        batch_op.drop_column('plan_filed_at')

    with op.batch_alter_table('plan_windows', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_plan_windows_closes_set_by_users'), type_='foreignkey')
        batch_op.drop_column('closes_set_by')

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('closed_from')
        batch_op.drop_column('closed_by_run_id')

    with op.batch_alter_table('unit_posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_posts_tenant_id'))

    op.drop_table('unit_posts')
    with op.batch_alter_table('quota_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_allocations_tenant_id'))

    op.drop_table('quota_allocations')

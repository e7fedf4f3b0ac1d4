"""a self-review unit's office, rule documents and yearly plans; plans owned by a unit

Revision ID: b5e1c7d9a402
Revises: b8e4c1f7a2d9
Create Date: 2026-12-02 14:05:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'b5e1c7d9a402'
down_revision = 'b8e4c1f7a2d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_org_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_plans_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_plans_owner_org_id_orgs'), 'orgs',
                                    ['owner_org_id'], ['id'])
    op.create_table(
        'self_review_setups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('office_name', sa.String(length=200), nullable=False),
        sa.Column('office_contact', sa.String(length=200), nullable=False),
        sa.Column('office_named_on', sa.Date(), nullable=True),
        sa.Column('plan_filename', sa.String(length=200), nullable=False),
        sa.Column('plan_stored', sa.String(length=80), nullable=True),
        sa.Column('plan_mime', sa.String(length=40), nullable=False),
        sa.Column('plan_sha256', sa.String(length=64), nullable=False),
        sa.Column('standards_filename', sa.String(length=200), nullable=False),
        sa.Column('standards_stored', sa.String(length=80), nullable=True),
        sa.Column('standards_mime', sa.String(length=40), nullable=False),
        sa.Column('standards_sha256', sa.String(length=64), nullable=False),
        sa.Column('decision_body', sa.String(length=200), nullable=False),
        sa.Column('decided_on', sa.Date(), nullable=True),
        sa.Column('publicity_from', sa.Date(), nullable=True),
        sa.Column('publicity_to', sa.Date(), nullable=True),
        sa.Column('submitted_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('return_reason', sa.Text(), nullable=False),
        sa.Column('approved_on', sa.Date(), nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'],
                                name=op.f('fk_self_review_setups_decided_by_users')),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id'],
                                name=op.f('fk_self_review_setups_org_id_orgs')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_self_review_setups_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_self_review_setups')),
        sa.UniqueConstraint('tenant_id', 'org_id',
                            name=op.f('uq_self_review_setups_tenant_id_org_id')),
    )
    with op.batch_alter_table('self_review_setups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_review_setups_tenant_id'), ['tenant_id'],
                              unique=False)
    op.create_table(
        'self_review_year_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('apply_opens', sa.Date(), nullable=False),
        sa.Column('apply_closes', sa.Date(), nullable=False),
        sa.Column('review_opens', sa.Date(), nullable=False),
        sa.Column('review_closes', sa.Date(), nullable=False),
        sa.Column('procedure', sa.Text(), nullable=False),
        sa.Column('experts', sa.Text(), nullable=False),
        sa.Column('indicators', sa.Text(), nullable=False),
        sa.Column('groups', sa.Text(), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('filed_by', sa.Integer(), nullable=True),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('opened_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['filed_by'], ['users.id'],
                                name=op.f('fk_self_review_year_plans_filed_by_users')),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id'],
                                name=op.f('fk_self_review_year_plans_org_id_orgs')),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                name=op.f('fk_self_review_year_plans_plan_id_plans')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_self_review_year_plans_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_self_review_year_plans')),
        sa.UniqueConstraint('tenant_id', 'org_id', 'year',
                            name=op.f('uq_self_review_year_plans_tenant_id_org_id_year')),
    )
    with op.batch_alter_table('self_review_year_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_review_year_plans_tenant_id'), ['tenant_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('self_review_year_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_review_year_plans_tenant_id'))
    op.drop_table('self_review_year_plans')
    with op.batch_alter_table('self_review_setups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_review_setups_tenant_id'))
    op.drop_table('self_review_setups')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_plans_owner_org_id_orgs'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_plans_owner_org_id'))
        batch_op.drop_column('owner_org_id')

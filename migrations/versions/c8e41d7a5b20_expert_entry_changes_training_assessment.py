"""experts enter the pool by nomination, vetting and approval; their own changes, pre-review
training and yearly assessments

Revision ID: c8e41d7a5b20
Revises: a9f3c6e1d742
Create Date: 2026-12-02 10:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


revision = 'c8e41d7a5b20'
down_revision = 'a9f3c6e1d742'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('experts', schema=None) as batch_op:
        # Experts already in the pool were entered by the office: they count as approved.
        batch_op.add_column(sa.Column('status', sa.String(length=12), nullable=False,
                                      server_default='approved'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('agency_org_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('approved_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('id_number_enc', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('id_number_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_number_masked', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('mobile_enc', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('mobile_masked', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('available', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('exit_note', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_experts_agency_org_id'), ['agency_org_id'],
                              unique=False)
        batch_op.create_foreign_key('fk_experts_agency_org_id_orgs', 'orgs', ['agency_org_id'],
                                    ['id'])
        batch_op.create_unique_constraint('uq_experts_tenant_id_id_number_hash',
                                          ['tenant_id', 'id_number_hash'])

    op.create_table(
        'expert_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('employer_org_id', sa.Integer(), nullable=True),
        sa.Column('mobile_enc', sa.String(length=200), nullable=True),
        sa.Column('mobile_masked', sa.String(length=20), nullable=True),
        sa.Column('opinion', sa.Text(), nullable=False),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['employer_org_id'], ['orgs.id'], ),
        sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('expert_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_changes_employer_org_id'),
                              ['employer_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expert_changes_expert_id'), ['expert_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_expert_changes_tenant_id'), ['tenant_id'],
                              unique=False)

    op.create_table(
        'expert_trainings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('recorded_by', sa.Integer(), nullable=True),
        sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], ),
        sa.ForeignKeyConstraint(['session_id'], ['review_sessions.id'], ),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'expert_id'),
    )
    with op.batch_alter_table('expert_trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_trainings_expert_id'), ['expert_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_expert_trainings_session_id'), ['session_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_expert_trainings_tenant_id'), ['tenant_id'],
                              unique=False)

    op.create_table(
        'expert_assessments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('passed', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('agency_org_id', sa.Integer(), nullable=True),
        sa.Column('recorded_by', sa.Integer(), nullable=True),
        sa.Column('at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['agency_org_id'], ['orgs.id'], ),
        sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], ),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('expert_id', 'year'),
    )
    with op.batch_alter_table('expert_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_assessments_expert_id'), ['expert_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_expert_assessments_tenant_id'), ['tenant_id'],
                              unique=False)


def downgrade():
    op.drop_table('expert_assessments')
    op.drop_table('expert_trainings')
    op.drop_table('expert_changes')
    with op.batch_alter_table('experts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_experts_tenant_id_id_number_hash', type_='unique')
        batch_op.drop_constraint('fk_experts_agency_org_id_orgs', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_experts_agency_org_id'))
        for col in ('exit_note', 'available', 'mobile_masked', 'mobile_enc', 'id_number_masked',
                    'id_number_hash', 'id_number_enc', 'approved_on', 'decision_note',
                    'agency_org_id', 'version', 'status'):
            batch_op.drop_column(col)

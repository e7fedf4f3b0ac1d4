"""agency filings, suspensions and assessments; the published directory; yearly notices;
what a committee publishes (conditions, materials)

Revision ID: c4d81b7e2a90
Revises: c8e41d7a5b20
Create Date: 2026-12-02 10:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'c4d81b7e2a90'
down_revision = 'c8e41d7a5b20'
branch_labels = None
depends_on = None

UTC = app.models.base.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        'agency_filings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('profile', sa.Text(), nullable=False),
        sa.Column('head', sa.String(length=60), nullable=False),
        sa.Column('head_title', sa.String(length=60), nullable=False),
        sa.Column('scope', sa.Text(), nullable=False),
        sa.Column('purpose', sa.Text(), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('phone', sa.String(length=40), nullable=False),
        sa.Column('hours', sa.String(length=200), nullable=False),
        sa.Column('staff_count', sa.Integer(), nullable=False),
        sa.Column('staff', sa.Text(), nullable=False),
        sa.Column('facilities', sa.Text(), nullable=False),
        sa.Column('strengths', sa.Text(), nullable=False),
        sa.Column('committees', sa.Text(), nullable=False),
        sa.Column('return_reason', sa.Text(), nullable=False),
        sa.Column('filed_on', sa.Date(), nullable=True),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('submitted_at', UTC, nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', UTC, nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id']),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'org_id'),
    )
    with op.batch_alter_table('agency_filings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_filings_tenant_id'), ['tenant_id'],
                              unique=False)

    op.create_table(
        'agency_suspensions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('suspended_by', sa.Integer(), nullable=True),
        sa.Column('suspended_at', UTC, nullable=True),
        sa.Column('lift_reason', sa.Text(), nullable=False),
        sa.Column('lifted_by', sa.Integer(), nullable=True),
        sa.Column('lifted_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['lifted_by'], ['users.id']),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['suspended_by'], ['users.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('agency_suspensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_suspensions_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_suspensions_tenant_id'), ['tenant_id'],
                              unique=False)

    op.create_table(
        'agency_assessments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('result', sa.String(length=10), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('assessed_by', sa.Integer(), nullable=True),
        sa.Column('assessed_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['assessed_by'], ['users.id']),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'org_id', 'year'),
    )
    with op.batch_alter_table('agency_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_assessments_tenant_id'), ['tenant_id'],
                              unique=False)

    op.create_table(
        'directories',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('draft_rows', sa.JSON(), nullable=False),
        sa.Column('drafted_at', UTC, nullable=True),
        sa.Column('rows', sa.JSON(), nullable=True),
        sa.Column('published_by', sa.Integer(), nullable=True),
        sa.Column('published_at', UTC, nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['published_by'], ['users.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'year'),
    )
    with op.batch_alter_table('directories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_directories_tenant_id'), ['tenant_id'], unique=False)

    op.create_table(
        'yearly_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('opens_on', sa.Date(), nullable=True),
        sa.Column('closes_on', sa.Date(), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('stored_name', sa.String(length=80), nullable=True),
        sa.Column('mime', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('submitted_by', sa.Integer(), nullable=True),
        sa.Column('submitted_at', UTC, nullable=True),
        sa.Column('acknowledged_by', sa.Integer(), nullable=True),
        sa.Column('acknowledged_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id']),
        sa.ForeignKeyConstraint(['org_id'], ['orgs.id']),
        sa.ForeignKeyConstraint(['submitted_by'], ['users.id']),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('yearly_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_yearly_notices_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_yearly_notices_tenant_id'), ['tenant_id'],
                              unique=False)

    with op.batch_alter_table('committees', schema=None) as batch_op:
        # Existing committees get values through temporary server defaults, dropped below.
        batch_op.add_column(sa.Column('conditions', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('materials', sa.Text(), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('committees', schema=None) as batch_op:
        batch_op.alter_column('conditions', server_default=None)
        batch_op.alter_column('materials', server_default=None)


def downgrade():
    with op.batch_alter_table('committees', schema=None) as batch_op:
        batch_op.drop_column('materials')
        batch_op.drop_column('conditions')
    for table, indexes in (('yearly_notices', ('org_id', 'tenant_id')),
                           ('directories', ('tenant_id',)),
                           ('agency_assessments', ('tenant_id',)),
                           ('agency_suspensions', ('org_id', 'tenant_id')),
                           ('agency_filings', ('tenant_id',))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for col in indexes:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{col}'))
        op.drop_table(table)

"""partial uploads: scans sent in pieces, resumable from the stored offset

Revision ID: b3f9e6c2d1a8
Revises: c7d2a9e4f1b3
Create Date: 2026-12-03 01:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'b3f9e6c2d1a8'
down_revision = 'c7d2a9e4f1b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('partial_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('material', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_partial_uploads_application_id_applications')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_partial_uploads_owner_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_partial_uploads_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partial_uploads'))
    )
    with op.batch_alter_table('partial_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partial_uploads_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partial_uploads_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partial_uploads_updated_at'), ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('partial_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partial_uploads_updated_at'))
        batch_op.drop_index(batch_op.f('ix_partial_uploads_owner_id'))
        batch_op.drop_index(batch_op.f('ix_partial_uploads_application_id'))
    op.drop_table('partial_uploads')

"""identity documents other than the mainland ID card: the document type beside the encrypted
number, and the foreigner's work-permit number (encrypted, keyed hash unique per tenant, masked)

Revision ID: e2b7c9d41a06
Revises: a6d1f0c3b925
Create Date: 2026-12-02 08:10:00

Every existing account keeps its mainland ID number: the type defaults to resident_id.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2b7c9d41a06'
down_revision = 'a6d1f0c3b925'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_doc_type', sa.String(length=20),
                                      server_default='resident_id', nullable=False))
        batch_op.add_column(sa.Column('work_permit_enc', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('work_permit_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('work_permit_masked', sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_tenant_id_work_permit_hash'),
                                          ['tenant_id', 'work_permit_hash'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_tenant_id_work_permit_hash'),
                                 type_='unique')
        batch_op.drop_column('work_permit_masked')
        batch_op.drop_column('work_permit_hash')
        batch_op.drop_column('work_permit_enc')
        batch_op.drop_column('id_doc_type')

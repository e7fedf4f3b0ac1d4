"""session epoch on users; audit chain (seq, chain_hash) and append-only trigger

Revision ID: a1c3e5f70b11
Revises: 022085e9ccde
Create Date: 2026-12-02 05:20:00

"""
from alembic import op
import sqlalchemy as sa

from app.models.audit import APPEND_ONLY_DROP, APPEND_ONLY_SQL


# revision identifiers, used by Alembic.
revision = 'a1c3e5f70b11'
down_revision = '022085e9ccde'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_tenant_id_seq'),
                                          ['tenant_id', 'seq'])
    op.create_table('audit_chain_heads',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_audit_chain_heads'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_SQL)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_DROP)
    op.drop_table('audit_chain_heads')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_tenant_id_seq'), type_='unique')
        batch_op.drop_column('chain_hash')
        batch_op.drop_column('seq')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')

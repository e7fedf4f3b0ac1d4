"""org units closed or managed in the portal; office administrators and one-time set-up links

Revision ID: c4d8e2f1a037
Revises: c8e5a2f4d917
Create Date: 2026-12-02 10:40:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'c4d8e2f1a037'
down_revision = 'c8e5a2f4d917'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orgs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('portal_managed', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_admin', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('setup_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('setup_expires_at',
                                      app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_users_setup_token_hash', ['setup_token_hash'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_setup_token_hash', type_='unique')
        batch_op.drop_column('setup_expires_at')
        batch_op.drop_column('setup_token_hash')
        batch_op.drop_column('office_admin')
    with op.batch_alter_table('orgs', schema=None) as batch_op:
        batch_op.drop_column('portal_managed')
        batch_op.drop_column('closed_on')

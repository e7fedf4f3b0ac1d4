"""drop the account-lock columns: sign-in throttling is keyed on account and source in Redis

Revision ID: c4e8a2d19f37
Revises: b7d2f4a6c810
Create Date: 2026-12-02 06:10:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'c4e8a2d19f37'
down_revision = 'b7d2f4a6c810'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('locked_until', app.models.base.UTCDateTime(timezone=True),
                                      nullable=True))

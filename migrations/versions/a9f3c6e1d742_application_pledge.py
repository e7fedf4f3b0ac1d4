"""the personal integrity pledge signed on submitting stays with the application

Revision ID: a9f3c6e1d742
Revises: e7a41c0b95d2
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'a9f3c6e1d742'
down_revision = 'e7a41c0b95d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pledge_version', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('pledge_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('pledge_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('pledge_signed_at',
                                      app.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('pledge_signed_at')
        batch_op.drop_column('pledge_sha256')
        batch_op.drop_column('pledge_text')
        batch_op.drop_column('pledge_version')

"""plan mode rules, application policy

Revision ID: d3eaabfd3039
Revises: 092c4414d1ca
Create Date: 2026-11-24 11:28:34.986701

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'd3eaabfd3039'
down_revision = '092c4414d1ca'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy', sa.String(length=40), nullable=True))

    # Existing plans get no exceptions; the tenant files fill them on the next load.
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode_rules', sa.JSON(), nullable=False,
                                      server_default='[]'))
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.alter_column('mode_rules', server_default=None)



def downgrade():
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('mode_rules')

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('policy')


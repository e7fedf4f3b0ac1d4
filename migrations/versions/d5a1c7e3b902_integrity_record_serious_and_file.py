"""integrity records: the serious-case mark (only such a record bars applying) and the file
disqualified for it

Revision ID: d5a1c7e3b902
Revises: e2b7c9d41a06
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5a1c7e3b902'
down_revision = 'e2b7c9d41a06'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('integrity_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('serious', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_integrity_records_application_id_applications'),
                                    'applications', ['application_id'], ['id'])


def downgrade():
    with op.batch_alter_table('integrity_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_integrity_records_application_id_applications'),
                                 type_='foreignkey')
        batch_op.drop_column('serious')
        batch_op.drop_column('application_id')

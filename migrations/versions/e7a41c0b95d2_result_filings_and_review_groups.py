"""result documents, report and confirmation days, review groups, enterprise honours

Revision ID: e7a41c0b95d2
Revises: d5a1c7e3b902
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'e7a41c0b95d2'
down_revision = 'd5a1c7e3b902'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'publication_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('publication_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('stored_name', sa.String(length=80), nullable=False),
        sa.Column('mime', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['publication_id'], ['publications.id'], ),
        sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('publication_id', 'kind'),
    )
    with op.batch_alter_table('publication_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_files_publication_id'),
                              ['publication_id'], unique=False)
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reported_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_on', sa.Date(), nullable=True))
    with op.batch_alter_table('review_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('local_groups', sa.JSON(), nullable=True))
    with op.batch_alter_table('session_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grp', sa.String(length=20), nullable=True))
    with op.batch_alter_table('orgs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enterprise_flags', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('orgs', schema=None) as batch_op:
        batch_op.drop_column('enterprise_flags')
    with op.batch_alter_table('session_items', schema=None) as batch_op:
        batch_op.drop_column('grp')
    with op.batch_alter_table('review_sessions', schema=None) as batch_op:
        batch_op.drop_column('local_groups')
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_column('confirmed_on')
        batch_op.drop_column('reported_on')
    with op.batch_alter_table('publication_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publication_files_publication_id'))
    op.drop_table('publication_files')

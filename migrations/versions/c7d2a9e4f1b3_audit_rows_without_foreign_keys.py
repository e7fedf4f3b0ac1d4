"""audit rows without foreign keys; tenant lookups through the (tenant_id, seq) index

Revision ID: c7d2a9e4f1b3
Revises: e9a4b2c7d513
Create Date: 2026-12-02 17:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c7d2a9e4f1b3'
down_revision = 'e9a4b2c7d513'
branch_labels = None
depends_on = None

KEYS = (('fk_audit_events_tenant_id_tenants', 'tenants', 'tenant_id'),
        ('fk_audit_events_actor_id_users', 'users', 'actor_id'),
        ('fk_audit_events_actor_org_id_orgs', 'orgs', 'actor_org_id'))


def upgrade():
    # Append-only on PostgreSQL (a trigger): dropping constraints and an index is no UPDATE.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_tenant_id')
        for name, _, _ in KEYS:
            batch_op.drop_constraint(name, type_='foreignkey')


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        for name, table, column in KEYS:
            batch_op.create_foreign_key(name, table, [column], ['id'])
        batch_op.create_index('ix_audit_events_tenant_id', ['tenant_id'], unique=False)

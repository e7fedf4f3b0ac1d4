"""personal data under the key ring: encrypted mobiles and outbox recipients, ID numbers moved

Mobiles encrypted with a keyed hash, outbox recipients encrypted, ID numbers moved from the
Fernet key derived from SECRET_KEY.

Revision ID: b7d2f4a6c810
Revises: a1c3e5f70b11
Create Date: 2026-12-03 09:00:00

Converts the rows as it goes: mobiles are encrypted with the configured key ring and the
plaintext column is dropped; an account whose login name was its mobile keeps no login name
(it signs in with the number); ID numbers written under the old Fernet key (ID_ENCRYPTION_KEY,
or the one derived from SECRET_KEY or from the old built-in default) are re-encrypted and
re-hashed. A mobile shared by several accounts of a tenant stays looked up for the first one
only (the others still receive notices).
"""
import base64
import hashlib
import hmac
import os

from alembic import op
import sqlalchemy as sa
from flask import current_app

from app.workflow import crypto
from app.workflow.ids import clean_mobile, mask_mobile

# revision identifiers, used by Alembic.
revision = 'b7d2f4a6c810'
down_revision = 'a1c3e5f70b11'
branch_labels = None
depends_on = None

BATCH = 1000
OLD_DEFAULT_SECRET = "dev-only-change-me"  # what databases written before this revision used

users = sa.table('users', sa.column('id', sa.Integer), sa.column('tenant_id', sa.Integer),
                 sa.column('username', sa.String), sa.column('mobile', sa.String),
                 sa.column('mobile_enc', sa.String), sa.column('mobile_hash', sa.String),
                 sa.column('mobile_masked', sa.String), sa.column('id_number_enc', sa.String),
                 sa.column('id_number_hash', sa.String))
outbox = sa.table('outbox', sa.column('id', sa.Integer), sa.column('recipient', sa.String),
                  sa.column('recipient_enc', sa.String))


def _fernet_keys() -> list[bytes]:
    """The keys ID numbers were encrypted with before the key ring, most likely first."""
    keys = []
    if os.environ.get("ID_ENCRYPTION_KEY"):
        keys.append(os.environ["ID_ENCRYPTION_KEY"].encode())
    for secret in (current_app.config.get("SECRET_KEY"), OLD_DEFAULT_SECRET):
        if secret:
            digest = hashlib.sha256(b"id-number:" + secret.encode()).digest()
            keys.append(base64.urlsafe_b64encode(digest))
    return keys


def _update(conn, table, params: list[dict]) -> None:
    """One executemany UPDATE by id; every dict has the same keys ("b_id" and the columns)."""
    if not params:
        return
    cols = [c for c in params[0] if c != "b_id"]
    conn.execute(sa.update(table).where(table.c.id == sa.bindparam("b_id"))
                 .values({c: sa.bindparam(f"v_{c}") for c in cols}),
                 [{"b_id": p["b_id"], **{f"v_{c}": p[c] for c in cols}} for p in params])


def _batches(conn, select):
    last = 0
    while True:
        rows = conn.execute(select.where(select.selected_columns[0] > last)
                            .order_by(select.selected_columns[0]).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _users_up(conn, keys) -> None:
    from cryptography.fernet import Fernet, InvalidToken, MultiFernet
    legacy = MultiFernet([Fernet(k) for k in _fernet_keys()])
    seen = set()
    for rows in _batches(conn, sa.select(users.c.id, users.c.tenant_id, users.c.username,
                                         users.c.mobile, users.c.id_number_enc)):
        params = []
        for row_id, tenant_id, username, mobile, id_token in rows:
            p = {"b_id": row_id, "username": username, "mobile_enc": None, "mobile_hash": None,
                 "mobile_masked": None, "id_number_enc": None, "id_number_hash": None}
            number = clean_mobile(mobile) or (mobile or "").strip()
            if number:
                digest = crypto.keyed_hash("mobile", number, keys)
                p.update(mobile_enc=crypto.encrypt(number, keys),
                         mobile_masked=mask_mobile(number),
                         mobile_hash=None if (tenant_id, digest) in seen else digest)
                seen.add((tenant_id, digest))
                if (username or "").strip() == number:
                    p["username"] = None
            if id_token:
                try:
                    plain = legacy.decrypt(id_token.encode()).decode()
                except InvalidToken:
                    raise RuntimeError(
                        f"users.id {row_id}: its ID number opens with none of the old keys; "
                        "set ID_ENCRYPTION_KEY or SECRET_KEY to the values it was written "
                        "with and run the upgrade again") from None
                p.update(id_number_enc=crypto.encrypt(plain, keys),
                         id_number_hash=crypto.keyed_hash("id_number", plain, keys))
            params.append(p)
        _update(conn, users, params)


def _users_down(conn, keys) -> None:
    from cryptography.fernet import Fernet
    fernet_key = _fernet_keys()[0]
    for rows in _batches(conn, sa.select(users.c.id, users.c.username, users.c.mobile_enc,
                                         users.c.id_number_enc)):
        params = []
        for row_id, username, mobile_token, id_token in rows:
            mobile = crypto.decrypt(mobile_token, keys) if mobile_token else None
            p = {"b_id": row_id, "mobile": mobile,
                 "username": username or mobile or f"user-{row_id}",
                 "id_number_enc": None, "id_number_hash": None}
            if id_token:
                plain = crypto.decrypt(id_token, keys)
                p.update(id_number_enc=Fernet(fernet_key).encrypt(plain.encode()).decode(),
                         id_number_hash=hmac.new(fernet_key, plain.encode(),
                                                 hashlib.sha256).hexdigest())
            params.append(p)
        _update(conn, users, params)


def _outbox(conn, src, dst, convert) -> None:
    for rows in _batches(conn, sa.select(outbox.c.id, outbox.c[src])):
        _update(conn, outbox, [{"b_id": i, dst: convert(v)} for i, v in rows])


def upgrade():
    keys = crypto.load(current_app.config)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile_enc', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('mobile_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('mobile_masked', sa.String(length=20), nullable=True))
        batch_op.alter_column('username', existing_type=sa.String(length=60), nullable=True)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_enc', sa.String(length=512), nullable=True))
    conn = op.get_bind()
    _users_up(conn, keys)
    _outbox(conn, 'recipient', 'recipient_enc', lambda v: crypto.encrypt(v, keys))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_users_tenant_id_mobile_hash'),
                                          ['tenant_id', 'mobile_hash'])
        batch_op.drop_column('mobile')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('recipient_enc', existing_type=sa.String(length=512),
                              nullable=False)
        batch_op.drop_column('recipient')


def downgrade():
    keys = crypto.load(current_app.config)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile', sa.String(length=20), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=254), nullable=True))
    conn = op.get_bind()
    _users_down(conn, keys)
    _outbox(conn, 'recipient_enc', 'recipient', lambda v: crypto.decrypt(v, keys))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('recipient', existing_type=sa.String(length=254), nullable=False)
        batch_op.drop_column('recipient_enc')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_tenant_id_mobile_hash'), type_='unique')
        batch_op.alter_column('username', existing_type=sa.String(length=60), nullable=False)
        batch_op.drop_column('mobile_masked')
        batch_op.drop_column('mobile_hash')
        batch_op.drop_column('mobile_enc')

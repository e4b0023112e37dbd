"""staff login lock after too many wrong passwords

Revision ID: 5b7d0e2c91aa
Revises: c4e1a7d93b20
Create Date: 2026-12-02 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hall_server.models

revision: str = '5b7d0e2c91aa'
down_revision: str | None = 'c4e1a7d93b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', hall_server.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('locked_until')

"""device place label (the name visitors know a kiosk by)

Revision ID: b3d9a1c5e802
Revises: e7f2c0a4d615
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b3d9a1c5e802'
down_revision: str | None = 'e7f2c0a4d615'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=50), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('label')

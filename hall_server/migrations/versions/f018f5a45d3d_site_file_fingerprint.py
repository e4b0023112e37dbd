"""site file fingerprint

Revision ID: f018f5a45d3d
Revises: 9508b6273744
Create Date: 2026-11-22 07:20:06.533408
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f018f5a45d3d'
down_revision: str | None = '9508b6273744'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_hash', sa.String(length=64), nullable=False, server_default=''))



def downgrade() -> None:
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.drop_column('site_hash')


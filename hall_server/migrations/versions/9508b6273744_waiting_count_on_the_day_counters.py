"""waiting count on the day counters

Revision ID: 9508b6273744
Revises: ad38cb14cb23
Create Date: 2026-11-22 07:07:52.752287
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9508b6273744'
down_revision: str | None = 'ad38cb14cb23'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting', sa.Integer(), nullable=False, server_default='0'))
    # Counters of days already in the database start from what is waiting now.
    op.execute(
        "UPDATE counters SET waiting = (SELECT count(*) FROM tickets t"
        " WHERE t.service_id = counters.service_id"
        " AND t.business_day = counters.business_day AND t.state = 'waiting')"
    )


def downgrade() -> None:
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.drop_column('waiting')

"""call-next's queue heads as indexes; finished count on the day counters

Revision ID: c4e1a7d93b20
Revises: f018f5a45d3d
Create Date: 2026-12-02 12:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c4e1a7d93b20'
down_revision: str | None = 'f018f5a45d3d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Partial indexes of the waiting tickets: (name, key columns, condition besides waiting).
INDEXES = [
    ('ix_tickets_heads', ['service_id', 'priority'], 'target_window IS NULL'),
    ('ix_tickets_targeted', ['target_window'], 'target_window IS NOT NULL'),
    ('ix_tickets_booked', ['service_id'], 'appointment_id IS NOT NULL'),
]


def upgrade() -> None:
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('served', sa.Integer(), nullable=False, server_default='0'))
    # Counters of days already in the database start from what was finished on them.
    op.execute(
        "UPDATE counters SET served = (SELECT count(*) FROM tickets t"
        " WHERE t.service_id = counters.service_id"
        " AND t.business_day = counters.business_day AND t.state = 'done')"
    )
    for name, columns, when in INDEXES:
        where = sa.text(f"state = 'waiting' AND {when}")
        op.create_index(name, 'tickets', ['hall_id', *columns, 'queued_at', 'id'],
                        sqlite_where=where, postgresql_where=where)  # fmt: skip


def downgrade() -> None:
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name='tickets')
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.drop_column('served')

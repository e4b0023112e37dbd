"""an index for a kiosk's tickets of the last minute

Revision ID: e7f2c0a4d615
Revises: 5b7d0e2c91aa
Create Date: 2026-12-02 13:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'e7f2c0a4d615'
down_revision: str | None = '5b7d0e2c91aa'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The per-kiosk rate check counts a kiosk's tickets of the last minute: without it the
    # check read every ticket of the day on each issue (through ix_tickets_day).
    op.create_index('ix_tickets_kiosk', 'tickets', ['hall_id', 'kiosk_id', 'issued_at'])


def downgrade() -> None:
    op.drop_index('ix_tickets_kiosk', table_name='tickets')

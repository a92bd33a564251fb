"""A unit's items in id order (unit_id, id): staff item pages read one page, not every item

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 03:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index("ix_item_unit_id_id", ["unit_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_unit_id_id")

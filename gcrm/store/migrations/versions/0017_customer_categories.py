"""Customers' business category and the lead each came from (issue 12).

Revision ID: 0017
Revises: 0016

Reserved: filled in by the work of issue 12 that owns it.
"""

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

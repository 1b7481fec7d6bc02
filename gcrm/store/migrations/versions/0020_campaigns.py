"""Campaigns: target lists, control groups, responses, export log (issue 12).

Revision ID: 0020
Revises: 0019

Reserved: filled in by the work of issue 12 that owns it.
"""

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

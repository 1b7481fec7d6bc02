"""Churn risk and expected value per customer, with reasons and runs (issue 12).

Revision ID: 0019
Revises: 0018

Reserved: filled in by the work of issue 12 that owns it.
"""

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

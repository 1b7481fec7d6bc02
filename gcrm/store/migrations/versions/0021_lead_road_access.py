"""Each lead's nearest road node and access leg, for drive-time search (issue 12).

Revision ID: 0021
Revises: 0020

Reserved: filled in by the work of issue 12 that owns it.
"""

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

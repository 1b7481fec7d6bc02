"""The region's own name and currency, stored with its data: ``gcrm.region``.

Revision ID: 0013
Revises: 0012

The dashboard's header and the currency of revenue came from defaults ("Helsinki demo
region", euros) whatever the data was: a Californian region showed euros. They are now a
property of the region: one row, set by ``gcrm region set`` (and by ``gcrm demo`` for its
regions), read by the cube build into the cube's attributes, and shown from there. No row:
the region has no name ("Region") and revenue shows no currency sign.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: The application role of 0006, which reads the row.
APP_ROLE = "gcrm_app"


def upgrade() -> None:
    """The one-row table of the region's name and currency."""
    op.execute(
        f"""
CREATE TABLE gcrm.region (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    name text NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    currency text CHECK (currency ~ '^[A-Z]{{3}}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON gcrm.region TO {APP_ROLE};
"""
    )


def downgrade() -> None:
    """The table dropped."""
    op.execute("DROP TABLE gcrm.region")

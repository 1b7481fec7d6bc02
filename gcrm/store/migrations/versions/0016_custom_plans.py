"""The map's points and heat planned for each call's own box: ``plan_cache_mode``.

Revision ID: 0016
Revises: 0015

PL/pgSQL plans a function's statements once per session and, after five calls, keeps a
generic plan when it does not look dearer than the custom ones. For ``gcrm.points_in_box``
(0014) and ``gcrm.customer_heat`` (0015) the generic plan cannot know how large the box is:
it keeps the spatial index scan that suits a street, and runs it for the whole region too.
Measured on 995,000 customers, the same whole-region view: 290-580 ms for the first five
calls of a session, then 2.7-3.0 s for every call after (a server's pooled connections live
long). Planning each call for its own box costs about a millisecond.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_FUNCTIONS = (
    "gcrm.points_in_box(text, float8, float8, float8, float8, text, date, date, integer, float8)",
    "gcrm.customer_heat(float8, float8, float8, float8, text, date, date, float8, integer, integer)",
)


def upgrade() -> None:
    for function in _FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = force_custom_plan")


def downgrade() -> None:
    for function in _FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET plan_cache_mode")

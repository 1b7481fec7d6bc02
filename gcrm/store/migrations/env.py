"""Alembic environment: runs on the connection handed in by :func:`gcrm.store.init_schema`."""

from alembic import context
from sqlalchemy import text

connection = context.config.attributes["connection"]
connection.execute(text("CREATE SCHEMA IF NOT EXISTS gcrm"))
context.configure(connection=connection, version_table_schema="gcrm", transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()

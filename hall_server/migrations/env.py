"""Alembic environment: the hall's models, the URL given by ``hall init``."""

from __future__ import annotations

from alembic import context

from hall_server.db import make_engine
from hall_server.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""


def run() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=Base.metadata,
                          render_as_batch=True)  # fmt: skip
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=True)  # fmt: skip
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()

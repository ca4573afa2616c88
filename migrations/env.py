"""Alembic environment: the app's models on DATABASE_URL, batch mode so SQLite can alter tables."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from bot.config import DatabaseSettings, load_settings
from bot.store.db import sync_url
from bot.store.migrate import include_object
from bot.store.models import Base


def database_url() -> str:
    configured = context.config.attributes.get("database_url")
    return sync_url(configured or load_settings(DatabaseSettings).database_url)


def run_migrations() -> None:
    options = {
        "target_metadata": Base.metadata,
        "render_as_batch": True,
        "include_object": include_object,
        "compare_type": True,
    }
    if context.is_offline_mode():
        context.configure(url=database_url(), literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()

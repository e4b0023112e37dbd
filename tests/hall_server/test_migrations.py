"""The Alembic revisions build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hall_server.db import make_engine
from hall_server.migrate import alembic_config, upgrade
from hall_server.models import Base


def test_revisions_form_one_chain_with_one_head(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    assert len(script.get_heads()) == 1, "migrations branch: give the new one the old head"


def test_upgraded_database_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    upgrade(url)
    upgrade(url)  # a second run changes nothing
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == [], f"models changed without a migration: {diff}"

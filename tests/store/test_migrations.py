"""Migrations create exactly the schema the code declares, once, under concurrency."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from loopml.store.metadata import create_store_engine, current_revision, head_revision, upgrade
from loopml.store.metadata._schema import metadata


def test_migrations_match_declared_schema(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'm.db'}")
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_sqlite_is_in_wal_mode(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


def test_concurrent_first_open_migrates_once(tmp_path):
    db = tmp_path / "race.db"
    code = (
        "import sys; from loopml.store.metadata import SqlTrackingStore;"
        "s = SqlTrackingStore(sys.argv[1], sys.argv[2]); print(s.get_experiment('0').name)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, f"sqlite:///{db}", str(tmp_path / "a")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "Default"
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    assert rows == [(head_revision(),)]


def test_postgres_migrates(fresh_postgres_url):
    engine = create_store_engine(fresh_postgres_url)
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []

"""``loopml db …``: schema revision and migrations of a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

from loopml.store.metadata import head_revision


def test_upgrade_then_current(raw_cli, tmp_path):
    uri = str(tmp_path / "fresh")
    head = head_revision()
    first = raw_cli(["db", "upgrade", "-t", uri])
    assert first.exit_code == 0, first.text
    assert f"Upgraded the store from revision none to {head}" in first.text
    assert (tmp_path / "fresh" / "loopml.db").is_file()
    again = raw_cli(["db", "upgrade", "-t", uri])
    assert again.exit_code == 0 and f"Already at the newest revision {head}" in again.text
    current = raw_cli(["db", "current", "-t", uri])
    assert current.exit_code == 0
    assert f"current: {head}  head: {head}  (up to date)" in current.stdout
    as_json = json.loads(raw_cli(["db", "current", "--json", "-t", uri]).stdout)
    assert as_json == {"current": head, "head": head, "up_to_date": True}


def test_current_of_a_missing_store_creates_nothing(raw_cli, tmp_path):
    uri = str(tmp_path / "nothing")
    res = raw_cli(["db", "current", "-t", uri])
    assert res.exit_code == 0, res.text
    assert "current: none" in res.stdout and "empty store" in res.stdout
    assert not Path(uri).exists()


def test_store_used_by_the_client_is_at_head(store, cli):
    res = cli("db", "current", "--json")
    assert json.loads(res.stdout)["up_to_date"] is True


def test_sqlite_url_and_global_option(raw_cli, tmp_path):
    db = tmp_path / "x.db"
    res = raw_cli(["--tracking-uri", f"sqlite:///{db}", "db", "upgrade"])
    assert res.exit_code == 0, res.text
    assert db.is_file()


def test_unusable_store_is_an_error_not_a_traceback(raw_cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    res = raw_cli(["db", "upgrade", "-t", str(blocker / "store")])
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: cannot create the store folder")
    assert "Traceback" not in res.text
    bad_uri = raw_cli(["db", "current", "-t", "ftp://example.com/store"])
    assert bad_uri.exit_code == 1 and "is not supported" in bad_uri.text

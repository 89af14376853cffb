from __future__ import annotations

from pathlib import Path

import pytest

from apicanary.store import Store


def test_migrations_apply_once_and_survive_reopen(tmp_path: Path) -> None:
    migrations = ["CREATE TABLE t (x INTEGER);", "ALTER TABLE t ADD COLUMN y TEXT;"]
    db = Store(tmp_path)
    assert db.migrate("comp", migrations[:1]) == 1
    with db.transaction() as conn:
        conn.execute("INSERT INTO t(x) VALUES (1)")
    db.close()
    db = Store(tmp_path)
    assert db.migrate("comp", migrations) == 2
    assert db.migrate("comp", migrations) == 2
    assert [tuple(r) for r in db.query("SELECT x, y FROM t")] == [(1, None)]
    assert db.integrity_check() == "ok"
    db.close()


def test_transaction_rolls_back_on_error(store: Store) -> None:
    store.migrate("c", ["CREATE TABLE t (x INTEGER);"])
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("INSERT INTO t(x) VALUES (1)")
        raise RuntimeError("boom")
    assert store.query("SELECT * FROM t") == []


def test_nested_transactions_join_outer(store: Store) -> None:
    store.migrate("c", ["CREATE TABLE t (x INTEGER);"])
    with pytest.raises(ValueError), store.transaction() as conn:
        with store.transaction() as inner:
            inner.execute("INSERT INTO t(x) VALUES (1)")
        conn.execute("INSERT INTO t(x) VALUES (2)")
        raise ValueError("outer fails")
    assert store.query("SELECT * FROM t") == []

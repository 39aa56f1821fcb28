"""`nba-assets sql "SELECT ..."`: DuckDB over one committed version of each table it names.

Each table the query names is read once through the read API (delta-rs' QueryBuilder, one
version, every stored column including `season` and `source_sha256`) and handed to DuckDB as
Arrow: DuckDB never opens the warehouse itself, so no extension is installed or downloaded, and
a commit landing during the query is not seen at all. With `as_of`, every table is read as it
was at that one instant.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from nba_assets.io import delta
from nba_assets.query import reader


class SqlError(ValueError):
    """A query DuckDB rejected: its message's first line, with the table or column it names."""


def query(
    sql: str,
    *,
    warehouse: str | None = None,
    as_of: dt.datetime | str | None = None,
) -> pd.DataFrame:
    """Run `sql` over the warehouse's tables (each at its current version, or at `as_of`)."""
    import duckdb

    root = reader.resolve_warehouse(warehouse)
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        for name in referenced_tables(sql, root):
            snapshot = reader.open_snapshot(name, as_of=as_of, warehouse=root)
            con.register(name, reader.scan_snapshot(snapshot, columns=snapshot.readable))
        return con.execute(sql).df()
    except duckdb.Error as exc:
        raise SqlError(_first_line(exc)) from None
    finally:
        con.close()


def referenced_tables(sql: str, warehouse: str) -> list[str]:
    """Tables the query reads: DuckDB's parse where it can, else every known name it mentions.

    A name DuckDB finds that is neither known nor a Delta table in the warehouse is an error
    naming it (DuckDB's own would only list the tables registered so far).
    """
    import duckdb

    known = reader.known_tables()
    try:
        named = {n.lower() for n in duckdb.get_table_names(sql)}
    except duckdb.ParserException as exc:
        raise SqlError(_first_line(exc)) from None
    except duckdb.Error:  # e.g. a JOIN ... USING the parser binds: fall back to the words
        named = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql)} & set(known)
    unknown = sorted(n for n in named if n not in known and not _is_table(warehouse, n))
    if unknown:
        raise reader.UnknownTableError(
            f"unknown table(s) {', '.join(unknown)}; tables: {', '.join(known)}"
        )
    return sorted(named)


def _is_table(warehouse: str, name: str) -> bool:
    return bool(re.fullmatch(r"[a-z][a-z0-9_]*", name)) and delta.exists(warehouse, name)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe_error(exc: Exception) -> str | None:
    """The one line `nba-assets sql` prints for an error it expects, else None (a bug)."""
    if isinstance(exc, (SqlError, reader.ReadError, delta.TableMissingError)):
        return str(exc).splitlines()[0]
    return None

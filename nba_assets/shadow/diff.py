"""`nba-assets shadow diff`: a shadow's tables against the published versions they started from.

Rows are matched by each table's key (`schemas.py`) in DuckDB over Arrow (a full outer join of
the published version's rows of the range with the shadow's): added, removed and changed rows
per table and per day, the values changed per column with a sample, and the columns added,
removed or retyped. A retyped column's values are compared after casting the published ones to
the new type, so `int` 3 and `double` 3.0 are equal and only the schema change is reported.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg
import pyarrow as pa

from nba_assets.io import delta
from nba_assets.schemas import TABLES
from nba_assets.shadow import store

#: Values shown per changed column, and keys per added/removed list.
SAMPLE = 5


def diff(warehouse: str, label: str) -> dict[str, Any]:
    """The whole report: per table its counts, days, columns, schema; `differences` in all."""
    manifest = store.read_manifest(warehouse, label)
    start, end = (dt.date.fromisoformat(d) for d in manifest["range"])
    selection = delta.Selection.days(start, end)
    report: dict[str, Any] = {
        "label": label,
        "code": manifest["code"],
        "range": manifest["range"],
        "status": manifest["status"],
        "tables": {},
    }
    for table, facts in manifest["tables"].items():
        if not facts.get("published"):
            report["tables"][table] = {
                "derived": False,
                "base_version": facts["base_version"],
                "error": facts.get("error") or "not derived",
            }
            continue
        total: dict[str, Any] = {}
        for part in season_parts(selection):  # a season at a time: memory bounded by a season
            published = _rows(warehouse, table, part, facts["base_version"])
            shadow = _rows(manifest["shadow"], table, part, facts["shadow_version"])
            total = merge(total, compare(table, published, shadow))
        report["tables"][table] = {
            "derived": True,
            "base_version": facts["base_version"],
            "shadow_version": facts["shadow_version"],
            **total,
        }
    report["differences"] = sum(t.get("differences", 0) for t in report["tables"].values())
    report["complete"] = all(t["derived"] for t in report["tables"].values())
    return report


def season_parts(selection: delta.Selection) -> list[delta.Selection]:
    """The range's days of each season it touches, as one selection per season."""
    return [
        delta.Selection(selection.first_day, selection.last_day, (season,))
        for season in selection.seasons
    ]


def merge(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Two seasons' comparisons of one table as one (the schema is the table's, not a season's)."""
    if not total:
        return part
    counted = ("rows_published", "rows_shadow", "added", "removed", "changed")
    merged = {k: total[k] + part[k] for k in counted}
    schema = total["schema"]
    changes = len(schema["added"]) + len(schema["removed"]) + len(schema["retyped"])
    merged["differences"] = merged["added"] + merged["removed"] + merged["changed"] + changes
    columns = {name: dict(facts) for name, facts in total["columns"].items()}
    for name, facts in part["columns"].items():
        into = columns.setdefault(name, {"changed": 0, "sample": []})
        into["changed"] += facts["changed"]
        into["sample"] = (into["sample"] + facts["sample"])[:SAMPLE]
    return {
        **merged,
        "schema": schema,
        "columns": columns,
        "days": total["days"] + part["days"],
        "added_sample": (total["added_sample"] + part["added_sample"])[:SAMPLE],
        "removed_sample": (total["removed_sample"] + part["removed_sample"])[:SAMPLE],
    }


def _rows(warehouse: str, table: str, selection: delta.Selection, version: int | None) -> pa.Table:
    """The stored rows of the range at `version`, with the columns that version really has."""
    if version is None:
        return delta.layout(TABLES[table]).schema().empty_table()
    opened = delta.open_table(warehouse, table, version)
    return delta.scan(opened, None, selection.sql(True))


def compare(table: str, old: pa.Table, new: pa.Table) -> dict[str, Any]:
    """Rows added, removed and changed (by key), per day and per column; schema changes."""
    import duckdb

    keys = list(TABLES[table].key)
    schema = schema_changes(old.schema, new.schema)
    common = [c for c in new.schema.names if c in old.schema.names and c not in keys]
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        con.register("o", old)
        con.register("n", new)
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE n)").fetchall())
        differ = [_differs(c, types[c], c in schema["retyped_names"]) for c in common]
        on = " AND ".join(f'o."{k}" = n."{k}"' for k in keys)
        both = f'o."{keys[0]}" IS NOT NULL AND n."{keys[0]}" IS NOT NULL'
        flags = ", ".join(f"({both} AND {d}) AS d{i}" for i, d in enumerate(differ)) or "NULL"
        any_flag = " OR ".join(f"d{i}" for i in range(len(differ))) or "FALSE"
        key_list = ", ".join(f'COALESCE(n."{k}", o."{k}") AS "{k}"' for k in keys)
        con.execute(
            f"""CREATE TEMP TABLE j AS
            SELECT *, NOT added AND NOT removed AND ({any_flag}) AS changed FROM (
                SELECT {key_list}, COALESCE(n.game_date, o.game_date) AS day,
                    o."{keys[0]}" IS NULL AS added, n."{keys[0]}" IS NULL AS removed, {flags}
                FROM o FULL OUTER JOIN n ON {on})"""
        )
        totals = con.execute(
            "SELECT count(*) FILTER (added), count(*) FILTER (removed), count(*) FILTER (changed) "
            "FROM j"
        ).fetchone()
        days = con.execute(
            "SELECT day, count(*) FILTER (added), count(*) FILTER (removed), "
            "count(*) FILTER (changed) FROM j WHERE added OR removed OR changed "
            "GROUP BY day ORDER BY day"
        ).fetchall()
        counts = (
            con.execute(
                f"SELECT {', '.join(f'count(*) FILTER (d{i})' for i in range(len(differ)))} FROM j"
            ).fetchone()
            if differ
            else ()
        )
        columns = {}
        for i, (column, count) in enumerate(zip(common, counts, strict=True)):
            if count:
                sample = con.execute(
                    f"""SELECT {", ".join(f'o."{k}"' for k in keys)}, o.game_date,
                        o."{column}", n."{column}" FROM o JOIN n ON {on}
                        WHERE {differ[i]} ORDER BY ALL LIMIT {SAMPLE}"""
                ).fetchall()
                columns[column] = {
                    "changed": int(count),
                    "sample": [_sample(keys, row) for row in sample],
                }
        quoted = ", ".join(f'"{k}"' for k in keys)
        listed = {
            kind: [
                _key(keys, row)
                for row in con.execute(
                    f"SELECT {quoted}, day FROM j WHERE {kind} ORDER BY ALL LIMIT {SAMPLE}"
                ).fetchall()
            ]
            for kind in ("added", "removed")
        }
    finally:
        con.close()
    added, removed, changed = (int(v) for v in totals)
    schema.pop("retyped_names")
    schema_count = len(schema["added"]) + len(schema["removed"]) + len(schema["retyped"])
    return {
        "rows_published": old.num_rows,
        "rows_shadow": new.num_rows,
        "added": added,
        "removed": removed,
        "changed": changed,
        "differences": added + removed + changed + schema_count,
        "schema": schema,
        "columns": columns,
        "days": [
            {"day": str(day), "added": a, "removed": r, "changed": c} for day, a, r, c in days
        ],
        "added_sample": listed["added"],
        "removed_sample": listed["removed"],
    }


def _differs(column: str, new_type: str, retyped: bool) -> str:
    """SQL true where the column's value differs (nulls equal nulls, NaN equals NaN)."""
    old = f'TRY_CAST(o."{column}" AS {new_type})' if retyped else f'o."{column}"'
    return f'{old} IS DISTINCT FROM n."{column}"'


def _key(keys: list[str], row: tuple) -> dict[str, Any]:
    return {**{k: _plain(v) for k, v in zip(keys, row, strict=False)}, "game_date": str(row[-1])}


def _sample(keys: list[str], row: tuple) -> dict[str, Any]:
    found = _key(keys, row[: len(keys) + 1])
    return {**found, "published": _plain(row[-2]), "shadow": _plain(row[-1])}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def schema_changes(old: pa.Schema, new: pa.Schema) -> dict[str, Any]:
    """Columns added, removed and retyped between two Arrow schemas (names and types)."""
    before = {f.name: f.type for f in old}
    after = {f.name: f.type for f in new}
    retyped = [n for n in after if n in before and not after[n].equals(before[n])]
    return {
        "added": [{"column": n, "type": str(after[n])} for n in after if n not in before],
        "removed": [{"column": n, "type": str(before[n])} for n in before if n not in after],
        "retyped": [
            {"column": n, "published": str(before[n]), "shadow": str(after[n])} for n in retyped
        ],
        "retyped_names": retyped,
    }


# -- reports -----------------------------------------------------------------------------------


def _where(sample: dict[str, Any]) -> str:
    keys = ", ".join(f"{k}={v}" for k, v in sample.items() if k not in ("published", "shadow"))
    return keys


def text(report: dict[str, Any]) -> str:
    """The plain-text report: a block per table, then the total."""
    code = report["code"]
    lines = [
        f"shadow {report['label']} ({code['ref']}, {code['commit'][:12]}"
        + (", uncommitted changes" if code.get("dirty") else "")
        + f") vs published, {report['range'][0]}...{report['range'][1]}"
    ]
    for table, facts in report["tables"].items():
        lines += table_lines(table, facts)
    verdict = (
        "no differences" if not report["differences"] else f"{report['differences']} differences"
    )
    if not report["complete"]:
        verdict += "; some tables were not derived (see above)"
    lines.append(f"total: {verdict}")
    return "\n".join(lines)


def table_lines(table: str, facts: dict[str, Any]) -> list[str]:
    if not facts["derived"]:
        return [f"{table}: NOT derived ({facts['error'].splitlines()[0]})"]
    base = facts["base_version"]
    head = (
        f"{table} (published version {base} -> shadow version {facts['shadow_version']}): "
        if base is not None
        else f"{table} (no published table -> shadow version {facts['shadow_version']}): "
    )
    if not facts["differences"]:
        return [head + f"0 differences ({facts['rows_shadow']} rows)"]
    lines = [
        head + f"{facts['added']} rows added, {facts['removed']} removed, "
        f"{facts['changed']} changed (of {facts['rows_published']} published, "
        f"{facts['rows_shadow']} in the shadow)"
    ]
    schema = facts["schema"]
    lines += [f"  column added: {c['column']} ({c['type']})" for c in schema["added"]]
    lines += [f"  column removed: {c['column']} ({c['type']})" for c in schema["removed"]]
    lines += [
        f"  column retyped: {c['column']} {c['published']} -> {c['shadow']}"
        for c in schema["retyped"]
    ]
    for column, changed in facts["columns"].items():
        first = changed["sample"][0]
        lines.append(
            f"  {column}: {changed['changed']} values changed, e.g. {_where(first)}: "
            f"{first['published']!r} -> {first['shadow']!r}"
        )
    for kind in ("added", "removed"):
        if facts[f"{kind}_sample"]:
            shown = "; ".join(_where(k) for k in facts[f"{kind}_sample"])
            lines.append(f"  rows {kind}, e.g. {shown}")
    for day in facts["days"][:10]:
        lines.append(f"  {day['day']}: +{day['added']} -{day['removed']} ~{day['changed']}")
    if len(facts["days"]) > 10:
        lines.append(f"  ... {len(facts['days']) - 10} more days (--json lists them all)")
    return lines


def markdown(report: dict[str, Any], table: str) -> str:
    """One table's part of the report in Markdown, as the UI shows it on the asset."""
    facts = report["tables"][table]
    code = report["code"]
    lines = [
        f"**Shadow `{report['label']}`** — code {code['ref']} `{code['commit'][:12]}`, "
        f"{report['range'][0]}...{report['range'][1]}",
        "",
    ]
    if not facts["derived"]:
        return "\n".join([*lines, f"Not derived: {facts['error']}"])
    lines += [
        f"Published version {facts['base_version']} -> shadow version {facts['shadow_version']}: "
        f"**{facts['differences']} differences**",
        "",
        "| rows | count |",
        "|---|---|",
        f"| published | {facts['rows_published']} |",
        f"| shadow | {facts['rows_shadow']} |",
        f"| added | {facts['added']} |",
        f"| removed | {facts['removed']} |",
        f"| changed | {facts['changed']} |",
    ]
    schema = facts["schema"]
    if any(schema.values()):
        lines += ["", "| schema change | column | published | shadow |", "|---|---|---|---|"]
        lines += [f"| added | `{c['column']}` | | {c['type']} |" for c in schema["added"]]
        lines += [f"| removed | `{c['column']}` | {c['type']} | |" for c in schema["removed"]]
        lines += [
            f"| retyped | `{c['column']}` | {c['published']} | {c['shadow']} |"
            for c in schema["retyped"]
        ]
    if facts["columns"]:
        lines += [
            "",
            "| column | values changed | e.g. | published | shadow |",
            "|---|---|---|---|---|",
        ]
        for column, changed in facts["columns"].items():
            first = changed["sample"][0]
            lines.append(
                f"| `{column}` | {changed['changed']} | {_where(first)} | "
                f"{first['published']} | {first['shadow']} |"
            )
    if facts["days"]:
        lines += ["", "| day | added | removed | changed |", "|---|---|---|---|"]
        lines += [
            f"| {d['day']} | {d['added']} | {d['removed']} | {d['changed']} |"
            for d in facts["days"][:50]
        ]
    return "\n".join(lines)


def record(report: dict[str, Any], instance: dg.DagsterInstance) -> list[str]:
    """The report as an observation of each table's asset (the UI's Events tab shows it)."""
    recorded = []
    for table, facts in report["tables"].items():
        instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=table,
                description=f"shadow {report['label']}: "
                + (f"{facts['differences']} differences" if facts["derived"] else "not derived"),
                metadata={
                    "shadow_label": report["label"],
                    "shadow_code": f"{report['code']['ref']} {report['code']['commit'][:12]}",
                    "shadow_range": "...".join(report["range"]),
                    "base_version": facts["base_version"],
                    "shadow_differences": facts.get("differences", -1),
                    "shadow_report": dg.MetadataValue.md(markdown(report, table)),
                },
            )
        )
        recorded.append(table)
    return recorded

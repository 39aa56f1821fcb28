"""Reading what is published: `nba_assets.read` (one committed snapshot of a table) and
`nba-assets sql` (DuckDB over one snapshot of every table)."""

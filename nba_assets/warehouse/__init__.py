"""Operations on the published tables: versions, time travel and rollback, the revisions
(corrections) log, table maintenance (optimize, vacuum) and the migration from daily files."""

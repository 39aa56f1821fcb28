"""Views over team_boxscores: head-to-head records and home/away splits per team and season.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# each team's row beside its opponent's in the same game
_PAIRS = """
FROM team_boxscores t
JOIN team_boxscores o ON o.game_id = t.game_id AND o.team_id <> t.team_id
"""

HEAD_TO_HEAD = f"""
CREATE VIEW head_to_head AS
SELECT t.season, t.season_type, t.team_id, o.team_id AS opponent_team_id,
       count(*) AS games,
       count(*) FILTER (WHERE t.wl = 'W') AS wins,
       count(*) FILTER (WHERE t.wl = 'L') AS losses,
       sum(t.pts) AS points,
       sum(o.pts) AS points_allowed
{_PAIRS}
GROUP BY t.season, t.season_type, t.team_id, o.team_id
"""

HOME_AWAY = f"""
CREATE VIEW team_home_away_splits AS
SELECT t.season, t.season_type, t.team_id,
       CASE WHEN t.matchup LIKE '%@%' THEN 'away' ELSE 'home' END AS location,
       count(*) AS games,
       count(*) FILTER (WHERE t.wl = 'W') AS wins,
       count(*) FILTER (WHERE t.wl = 'L') AS losses,
       avg(t.pts)::double precision AS avg_pts,
       avg(o.pts)::double precision AS avg_opp_pts
{_PAIRS}
GROUP BY t.season, t.season_type, t.team_id, 4
"""


def upgrade() -> None:
    op.execute(HEAD_TO_HEAD)
    op.execute(
        "COMMENT ON VIEW head_to_head IS "
        "'Each team against each opponent per season and season type: games, W/L, points'"
    )
    op.execute(HOME_AWAY)
    op.execute(
        "COMMENT ON VIEW team_home_away_splits IS "
        "'Each team at home and away per season and season type (from the matchup: @ is away)'"
    )


def downgrade() -> None:
    op.execute("DROP VIEW team_home_away_splits")
    op.execute("DROP VIEW head_to_head")

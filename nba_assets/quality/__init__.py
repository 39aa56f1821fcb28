"""Data quality: the blocking audit (write-audit-publish), its rules for box scores and
play-by-play, and `health`, which checks the published warehouse against the instance."""

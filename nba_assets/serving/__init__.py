"""The serving database: the warehouse's tables mirrored into PostgreSQL (optional, by DSN)."""

"""Persistence: SQLAlchemy (async) over SQLite by default, PostgreSQL for several nodes."""

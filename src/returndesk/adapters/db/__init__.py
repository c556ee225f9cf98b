"""SQLAlchemy 2.0 Core tables, repositories and the unit of work (SQLite and PostgreSQL)."""

"""The key store: one SQLAlchemy Core schema over SQLite (default) or PostgreSQL."""

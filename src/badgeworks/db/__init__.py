"""Persistence: SQLModel tables, the engine/session factory and Alembic migrations.

Nothing here runs at import: ``make_engine(settings)`` builds an engine when asked.
"""

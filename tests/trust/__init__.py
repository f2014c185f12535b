"""Attacks and faults performed for real against a served app, on SQLite and PostgreSQL."""

"""Fixtures for users, roles and logging in (kept apart from the database fixtures)."""

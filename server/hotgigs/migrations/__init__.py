"""Alembic migrations of the HotGigs database (run them with `hotgigs.migrate`)."""

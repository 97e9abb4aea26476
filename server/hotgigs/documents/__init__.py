"""The documents module: uploads checked by content, stored in PostgreSQL, text extracted."""

"""Service accounts and their API keys (admins manage them; internal services use the keys)."""

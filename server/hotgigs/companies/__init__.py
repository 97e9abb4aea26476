"""The companies module: companies and their members."""

"""A person's data on request: export as one archive, and erasure (issue 18 item 6)."""

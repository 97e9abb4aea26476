"""Migration scripts, one per revision, in order: 0001, 0002, ..."""

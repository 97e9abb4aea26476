"""The applications module: applying, the status pipeline, lists and statistics."""

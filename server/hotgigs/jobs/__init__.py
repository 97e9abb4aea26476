"""The jobs module: postings, their life cycle, public search and statistics."""

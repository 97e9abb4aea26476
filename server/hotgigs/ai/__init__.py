"""AI matching, offline by default: skill normalisation, BM25 text similarity, fit scores."""

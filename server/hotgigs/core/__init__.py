"""The shared kernel every domain module may use: proto helpers (`protos`), pagination and
input limits (`pagination`, `limits`). Errors, the database session, the request context,
validation, the cache and settings live beside it (`hotgigs.errors`, `hotgigs.db`,
`hotgigs.context`, `hotgigs.validation`, `hotgigs.cache`, `hotgigs.settings`) and are kernel
too; the architecture test (tests/test_architecture.py) names the full list.
"""

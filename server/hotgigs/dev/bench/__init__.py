"""`make bench`: the seed's endpoints under load, on a seeded database, measured end to end.

Run `python -m hotgigs.dev.bench --help` for what it measures and the options.
"""

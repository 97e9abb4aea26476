"""`make bench`: the seed's endpoints under load, on a seeded database, measured end to end.

Run `python -m hotgigs.bench --help` for what it measures and the options.
"""

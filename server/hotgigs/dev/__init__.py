"""Development and test tooling, left out of the production wheel (pyproject.toml).

embedded.py          real PostgreSQL and Redis from the `embedded` extra's wheels
stack.py             `hotgigs up`: embedded dependencies, a local Envoy process
workers.py           `hotgigs up --workers N`: supervised worker processes
edge.py              a local nginx from the deployment's site template (TLS tests, bench)
prometheus_local.py  `hotgigs up --observe`: a local Prometheus with the project's rules
seed.py              `hotgigs seed`: synthetic data
audit.py             `make audit`: pip-audit over the locked dependencies
bench/               `make bench`: the endpoints under load
import_graph.py      the domain modules' import graph: depth and cycles

Nothing outside this package imports it, except the `hotgigs` command's development
commands (cli.py), which say so when it is missing (tests/test_packaging.py keeps both).
"""

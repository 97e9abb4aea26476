"""Helpers every test may import (the test modules themselves import from no other test
module; tests/test_test_layout.py keeps it so):

rest.py       signed-in users and REST calls through Envoy (register, bearer, upload, ...)
servers.py    settings, Envoy, SMTP and database helpers for tests that start their own
files.py      documents to upload (PDF, DOCX, a DOCX element bomb)
api.py        the API surface read from the descriptor set
waiting.py    waiting for what happens on another thread or worker
tests/factories.py builds the domain objects (owner, company, job, candidate, application).
"""

"""Fixtures shared by the deploy tests."""

from tests.deploy.test_nginx_tls import site_fixture

__all__ = ["site_fixture"]

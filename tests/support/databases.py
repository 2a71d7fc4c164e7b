"""The database server of the test session, when it is not SQLite: PostgreSQL or MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.support.mariadb import MariaDBServer
from tests.support.postgres import PostgresCluster


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    """pytest-django's hook before the test database is made: start the server if one is used."""
    database = settings.DATABASES["default"]
    servers = {
        "django.db.backends.postgresql": PostgresCluster,
        "django.db.backends.mysql": MariaDBServer,
    }
    server_class = servers.get(database["ENGINE"])
    if server_class is None:
        yield
        return
    server = server_class(int(database["PORT"]), database["USER"])
    server.start()
    yield
    server.stop()

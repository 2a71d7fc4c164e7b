"""docker-compose.yml, read as YAML (no Docker engine here): the deployment shape holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SECRET_NAMES = re.compile(r"SECRET|KEY|PASSWORD|BASIC_AUTH")
REQUIRED_FROM_SHELL = re.compile(r"^\$\{[A-Z_]+:\?[^}]+\}$")  # ${NAME:?message}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def command(service: dict[str, Any]) -> str:
    value = service.get("command", "")
    return value if isinstance(value, str) else " ".join(value)


def test_compose_runs_every_process_of_the_demo(services: dict[str, Any]) -> None:
    assert {"redis", "centrifugo", "mailpit", "web", "worker", "beat", "flower"} <= set(services)
    assert "worker -E" in command(services["worker"])
    assert "--pool prefork" in command(services["worker"])
    assert " beat " in command(services["beat"])
    assert " flower " in command(services["flower"])
    assert services["centrifugo"]["image"].startswith("centrifugo/centrifugo:v6")


def test_compose_dependencies_name_services_that_exist(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert set(service.get("depends_on") or ()) <= set(services), name


def test_compose_builds_from_a_dockerfile_in_the_repository(services: dict[str, Any]) -> None:
    built = [service["build"] for service in services.values() if "build" in service]
    assert built
    for build in built:
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()


def test_compose_keeps_secrets_out_of_the_file(services: dict[str, Any]) -> None:
    secrets = {
        (name, variable): value
        for name, service in services.items()
        for variable, value in (service.get("environment") or {}).items()
        if SECRET_NAMES.search(variable)
    }
    assert ("flower", "FLOWER_BASIC_AUTH") in secrets
    for where, value in secrets.items():
        assert REQUIRED_FROM_SHELL.match(str(value)), where


def test_compose_points_the_apps_at_its_own_services(services: dict[str, Any]) -> None:
    environment = services["worker"]["environment"]
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert environment["CELERY_RESULT_BACKEND"].startswith("redis://redis:")
    assert environment["EMAIL_HOST"] == "mailpit"
    assert environment["NOTIFY_TASKS_CENTRIFUGO_API_URL"] == "http://centrifugo:8000/api"


def test_compose_publishes_every_port_on_this_machine_only(services: dict[str, Any]) -> None:
    # The login page shows the demo's passwords: nothing is reachable from the network.
    published = {name: spec["ports"] for name, spec in services.items() if spec.get("ports")}
    assert {"web", "centrifugo", "flower", "mailpit"} <= set(published)
    for name, ports in published.items():
        assert all(str(port).startswith("127.0.0.1:") for port in ports), (name, ports)

"""Probe what delivery depends on: the mail server, Centrifugo and the Celery broker.

Each probe makes one bounded attempt through the same path the tasks use and returns a
``Probe`` with the reason; none raises.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kombu.utils.url import maybe_sanitize_url

from django_notify_tasks.channels.email.backend import open_mail_backend
from django_notify_tasks.channels.realtime.publish import client
from django_notify_tasks.conf import app_settings

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"
BROKER_SOCKET_OPTIONS = ("socket_connect_timeout", "socket_timeout")


@dataclass(frozen=True)
class Probe:
    """The outcome of one probe: ``status`` is OK, FAIL or SKIP (not configured)."""

    name: str
    status: str
    detail: str

    def __str__(self) -> str:
        return f"{self.name:<11} {self.status:<5} {self.detail}"


def probe_email() -> Probe:
    """Open and close one connection of the mail backend deliveries use (with its timeout)."""
    return _run("email", _open_mail)


def probe_centrifugo() -> Probe:
    """Call Centrifugo's ``info`` method with the package's client, key and timeout."""
    if not app_settings.centrifugo_api_url:
        return Probe("centrifugo", SKIP, "realtime is off (NOTIFY_TASKS_CENTRIFUGO_API_URL)")
    return _run("centrifugo", _centrifugo_info)


def probe_broker(app: Any) -> Probe:
    """Connect once to the Celery app's broker, within ``broker_connection_timeout``."""
    return _run("broker", lambda: _connect(app))


def probe_all(app: Any) -> list[Probe]:
    return [probe_email(), probe_centrifugo(), probe_broker(app)]


def _run(name: str, attempt: Callable[[], str]) -> Probe:
    started = time.monotonic()
    try:
        detail = attempt()
    except Exception as exc:  # the reason is the result
        return Probe(name, FAIL, reason(exc))
    return Probe(name, OK, f"{detail} ({time.monotonic() - started:.2f} s)")


def reason(exc: BaseException) -> str:
    """``Type: message``, with what to check where the message alone does not say it."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    try:
        from cent.exceptions import CentUnauthorizedError  # the optional realtime extra
    except ImportError:
        return text
    if isinstance(exc, CentUnauthorizedError):
        text += " (Centrifugo refused NOTIFY_TASKS_CENTRIFUGO_API_KEY)"
    return text


def _open_mail() -> str:
    backend = open_mail_backend()
    where = type(backend).__module__ + "." + type(backend).__qualname__
    host = getattr(backend, "host", None)
    if host:
        where = f"{host}:{backend.port} ({where}, timeout {backend.timeout} s)"  # type: ignore[attr-defined]
    backend.open()
    try:
        connection = getattr(backend, "connection", None)
        if isinstance(connection, smtplib.SMTP):
            connection.ehlo_or_helo_if_needed()  # the greeting alone does not show it speaks SMTP
    finally:
        backend.close()
    return where


def _centrifugo_info() -> str:
    api = client()  # fails first, with the install line, where cent is missing
    from cent import InfoRequest

    nodes = api.info(InfoRequest()).nodes
    versions = sorted({node.version for node in nodes})
    return (
        f"{app_settings.centrifugo_api_url}: {len(nodes)} node(s), version {', '.join(versions)}"
    )


def _connect(app: Any) -> str:
    timeout = float(app.conf.broker_connection_timeout)
    configured = app.conf.broker_transport_options or {}
    # Redis takes its socket timeouts from the transport options: bound them if they are unset.
    options = {name: timeout for name in BROKER_SOCKET_OPTIONS if name not in configured}
    with app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        return str(maybe_sanitize_url(conn.as_uri(include_password=True)))  # password masked

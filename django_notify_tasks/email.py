"""Build email deliveries (recipients, rendered content) and send them over one connection."""

from __future__ import annotations

import contextlib
import functools
import queue
import smtplib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import django
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.utils import DNS_NAME
from django.core.validators import validate_email
from django.db import models
from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError

from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.paths import resolve_path
from django_notify_tasks.rules import EmailSpec

MAX_TARGET_LENGTH = 255  # Delivery.target


# Recipients ----------------------------------------------------------------------------------


def resolve_recipients(spec: EmailSpec, instance: models.Model) -> Iterator[tuple[str, str]]:
    """Yield ``(entry, address)`` pairs; an entry that cannot be resolved raises with its name."""
    entries: Sequence[Any] = spec.to if isinstance(spec.to, tuple) else (spec.to,)
    for entry in entries:
        for value in _resolve_entry(entry, instance):
            yield _describe(entry), value


def _resolve_entry(entry: Any, instance: models.Model) -> list[Any]:
    if callable(entry):
        found = entry(instance)
        return [found] if isinstance(found, str) else list(found or [])
    if "@" in entry:
        return [entry]
    return resolve_path(instance, entry)


def _describe(entry: Any) -> str:
    return entry if isinstance(entry, str) else getattr(entry, "__qualname__", repr(entry))


def check_address(address: object) -> str:
    """The address, stripped, or ``PermanentDeliveryError`` saying why it cannot be used."""
    if not isinstance(address, str) or not address.strip():
        raise PermanentDeliveryError(f"no email address (the recipient resolved to {address!r})")
    try:
        validate_email(address.strip())
    except ValidationError:
        raise PermanentDeliveryError(f"invalid email address {address!r}") from None
    if len(address.strip()) > MAX_TARGET_LENGTH:
        raise PermanentDeliveryError(f"email address longer than {MAX_TARGET_LENGTH} characters")
    return address.strip()


# Content -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str
    html: str


def render_email(spec: EmailSpec, context: dict[str, Any]) -> RenderedEmail:
    """Render subject, text and optional HTML; any template problem is permanent."""
    try:
        subject = _render(spec, "subject", context)
        body = _render(spec, "body", context)
        html = _render(spec, "html", context)
    except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
        raise PermanentDeliveryError(f"template error: {type(exc).__name__}: {exc}") from exc
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        raise PermanentDeliveryError(
            f"template rendering raised {type(exc).__name__}: {exc}"
        ) from exc
    # Headers cannot hold newlines: a subject template may end with one, or span lines.
    return RenderedEmail(" ".join(subject.split()), body, html)


def template_problems(spec: EmailSpec) -> list[str]:
    """What is wrong with the templates of ``spec``, for the system check."""
    problems = []
    for part in ("subject", "body", "html"):
        try:
            _load(spec, part)
        except TemplateDoesNotExist as exc:
            problems.append(f"template {exc} does not exist")
        except TemplateSyntaxError as exc:
            problems.append(f"the {part} template has a syntax error: {exc}")
    return problems


_TEMPLATE_SUFFIXES = {"subject": "_subject.txt", "body": ".txt", "html": ".html"}


def template_engine() -> Engine:
    """The project's Django template engine, or a private one for projects without one."""
    try:
        return Engine.get_default()
    except ImproperlyConfigured:
        return _fallback_engine()


@functools.cache
def _fallback_engine() -> Engine:
    # API-only projects often configure no TEMPLATES; app templates still work this way.
    return Engine(app_dirs=True)


def _load(spec: EmailSpec, part: str) -> Any:
    engine = template_engine()
    if spec.template is None:
        source = getattr(spec, part)
        return None if source is None else _compiled(engine, source)
    name = spec.template + _TEMPLATE_SUFFIXES[part]
    if part != "html":
        return engine.get_template(name)
    try:
        return engine.get_template(name)
    except TemplateDoesNotExist:
        return None  # the HTML part is optional


@functools.lru_cache(maxsize=256)
def _compiled(engine: Engine, source: str) -> Any:
    # Compiled once per rule and engine, as Django's cached loader does for template files;
    # a changed TEMPLATES setting makes a new engine, so it is compiled anew there.
    return engine.from_string(source)


def _render(spec: EmailSpec, part: str, context: dict[str, Any]) -> str:
    template = _load(spec, part)
    if template is None:
        return ""
    return template.render(Context(context, autoescape=part == "html"))  # type: ignore[no-any-return]


# Building deliveries -------------------------------------------------------------------------


def build_email_deliveries(
    spec: EmailSpec, notification: Notification, instance: models.Model, context: dict[str, Any]
) -> list[Delivery]:
    """One unsaved Delivery per distinct address; problems become failed deliveries."""
    try:
        content = render_email(spec, context)
    except PermanentDeliveryError as exc:
        return [_failed(notification, "(all recipients)", str(exc))]
    deliveries: dict[str, Delivery] = {}
    try:
        for entry, value in resolve_recipients(spec, instance):
            try:
                address = check_address(value)
            except PermanentDeliveryError as exc:
                deliveries.setdefault(entry, _failed(notification, entry, str(exc)))
                continue
            deliveries.setdefault(address.lower(), _email(notification, address, content))
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        reason = f"recipients could not be resolved: {type(exc).__name__}: {exc}"
        deliveries.setdefault("(recipients)", _failed(notification, "(recipients)", reason))
    return list(deliveries.values())


def _email(notification: Notification, address: str, content: RenderedEmail) -> Delivery:
    return Delivery(
        notification=notification,
        channel=Delivery.Channel.EMAIL,
        target=address,
        subject=content.subject,
        body=content.body,
        html=content.html,
    )


def _failed(notification: Notification, target: str, reason: str) -> Delivery:
    return Delivery(
        notification=notification,
        channel=Delivery.Channel.EMAIL,
        target=target[:255],
        status=Delivery.Status.FAILED,
        error=reason,
    )


# Sending -------------------------------------------------------------------------------------


def open_mail_backend() -> BaseEmailBackend:
    """The configured email backend, never without a timeout.

    Django 6.1+: ``mailers[NOTIFY_TASKS_MAILER]`` (``get_connection()`` is deprecated there);
    a mailer configured without a timeout gets ``NOTIFY_TASKS_EMAIL_TIMEOUT`` instead of none.
    Older Django: ``get_connection(timeout=NOTIFY_TASKS_EMAIL_TIMEOUT)``.
    """
    if django.VERSION < (6, 1):
        return get_connection(fail_silently=False, timeout=app_settings.email_timeout)
    from django.core.mail import mailers  # type: ignore[attr-defined, unused-ignore]

    backend: BaseEmailBackend = mailers[app_settings.mailer]
    if getattr(backend, "timeout", "no such attribute") is None:
        # An SMTP mailer without a timeout would wait forever on a silent server.
        backend.timeout = app_settings.email_timeout  # type: ignore[attr-defined]
    return backend


def build_message(delivery: Delivery) -> EmailMultiAlternatives:
    """The message for one delivery, with a Message-ID that is the same on every attempt."""
    message = EmailMultiAlternatives(
        subject=delivery.subject,
        body=delivery.body,
        from_email=app_settings.email_from,
        to=[delivery.target],
        headers={"Message-ID": message_id(delivery)},
    )
    if delivery.html:
        message.attach_alternative(delivery.html, "text/html")
    return message


def message_id(delivery: Delivery) -> str:
    """Deterministic, so a resend after a crash can be recognised as the same message."""
    sender = app_settings.email_from
    domain = sender.rpartition("@")[2].strip("> ") if "@" in sender else str(DNS_NAME)
    return f"<notify-tasks.{delivery.notification.stamp}.{delivery.pk}@{domain}>"


def send_message(backend: BaseEmailBackend, delivery: Delivery) -> None:
    """Send one delivery's message; raise Transient- or PermanentDeliveryError on failure."""
    try:
        backend.open()
        sent = backend.send_messages([build_message(delivery)])
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        error = classify(exc)
        if isinstance(error, TransientDeliveryError):
            _close_quietly(backend)  # the next message gets a fresh connection
        raise error from exc
    if sent == 0:  # the backend dropped it without raising; None means it does not count
        raise PermanentDeliveryError(
            f"{type(backend).__name__} sent nothing: send_messages() returned 0"
        )


RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})  # and every 5xx


def classify(exc: Exception) -> TransientDeliveryError | PermanentDeliveryError:
    """Transient: timeouts, lost connections, SMTP 4xx, HTTP 408/429/5xx from a provider's
    API. Permanent: SMTP 5xx, other HTTP 4xx and everything else."""
    reason = f"{type(exc).__name__}: {exc}"
    status = http_status(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = any(400 <= code < 500 for code in codes)
    elif isinstance(exc, smtplib.SMTPResponseException):
        transient = exc.smtp_code < 500
    elif status is not None:  # before OSError: requests' HTTPError is one
        transient = status in RETRYABLE_HTTP_STATUSES or status >= 500
    else:
        transient = isinstance(exc, OSError | smtplib.SMTPServerDisconnected)
    return TransientDeliveryError(reason) if transient else PermanentDeliveryError(reason)


def http_status(exc: Exception) -> int | None:
    """The HTTP status an API backend's error carries (django-anymail's ``status_code``,
    requests' ``response.status_code``), or None."""
    for value in (
        getattr(exc, "status_code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _close_quietly(backend: BaseEmailBackend) -> None:
    with contextlib.suppress(Exception):  # the connection is being dropped anyway
        backend.close()


def send_each(
    deliveries: Sequence[Delivery],
    on_sent: Callable[[Delivery], None],
    on_error: Callable[[Delivery, Exception], None],
) -> None:
    """Send every delivery over ``NOTIFY_TASKS_EMAIL_CONNECTIONS`` backend connections (one by
    default), reporting each result from the calling thread."""
    count = min(app_settings.email_connections, len(deliveries))
    if count > 1:
        _Connections(deliveries, count).send(on_sent, on_error)
    else:
        _send_over_one(deliveries, on_sent, on_error)


def _send_over_one(
    deliveries: Sequence[Delivery],
    on_sent: Callable[[Delivery], None],
    on_error: Callable[[Delivery, Exception], None],
    stop: threading.Event | None = None,
) -> None:
    """Send one delivery after another over one backend connection, until ``stop`` is set."""
    if not deliveries:
        return
    try:
        backend = open_mail_backend()
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # an unknown mailer alias, a bad backend path or options
        for delivery in deliveries:
            on_error(
                delivery, PermanentDeliveryError(f"email backend: {type(exc).__name__}: {exc}")
            )
        return
    try:
        for delivery in deliveries:
            if stop is not None and stop.is_set():
                return
            try:
                send_message(backend, delivery)
            except (TransientDeliveryError, PermanentDeliveryError) as exc:
                on_error(delivery, exc)
            else:
                on_sent(delivery)
    finally:
        _close_quietly(backend)


WAKE_INTERVAL = 0.2  # seconds: the longest a lost wake-up delays a connection or the run


class _Result:
    """One connection's result, waiting for the calling thread to record it."""

    __slots__ = ("delivery", "done", "error", "wake")

    def __init__(self, delivery: Delivery, error: Exception | None) -> None:
        self.delivery, self.error = delivery, error
        self.done = False  # the truth; ``wake`` only saves the connection a wait
        self.wake = threading.Event()


class _Connections:
    """Several connections, each sending its share from a thread of its own, while the
    calling thread records every result (the package's database work stays on the task's
    connection).

    A connection sends its next message only once its last one is recorded, so at most one
    accepted, unrecorded message per connection can be sent again after a crash. The soft
    time limit is an exception raised in the calling thread wherever it is, so that thread
    waits with nothing but a lock and a queue (a Condition can be left broken by it), every
    result stays in ``waiting`` until recorded, and each wait has a timeout: an exception
    that lands between two steps costs a wake-up, at worst a result recorded twice (the
    same UPDATE), never a result lost or a thread left waiting. When it comes, every
    connection stops after the message it is sending, and those results are recorded for
    up to ``NOTIFY_TASKS_EMAIL_TIMEOUT`` (well inside the hard limit, see ``_drain_time``);
    then the exception goes on, and the rows not recorded are given back.
    """

    def __init__(self, deliveries: Sequence[Delivery], count: int) -> None:
        self.lock = threading.Lock()
        self.waiting: list[_Result] = []
        self.doorbell: queue.SimpleQueue[None] = queue.SimpleQueue()  # a wake-up, no data
        self.stop = threading.Event()
        self.abandoned = False
        self.failure: Exception | None = None
        self.threads = [
            threading.Thread(
                target=self._send_share,
                args=(deliveries[n::count],),
                daemon=True,
                name=f"notify-tasks-email-{n + 1}",
            )
            for n in range(count)
        ]

    def send(
        self, on_sent: Callable[[Delivery], None], on_error: Callable[[Delivery, Exception], None]
    ) -> None:
        try:
            for thread in self.threads:
                thread.start()
            self._record(on_sent, on_error)
        except BaseException:
            self.stop.set()
            try:
                self._record(on_sent, on_error, until=time.monotonic() + _drain_time())
            finally:
                self._abandon()  # a connection still sending gives up waiting for a record
            raise
        if self.failure is not None:  # as with one connection: the task fails with it
            raise self.failure

    def _record(
        self,
        on_sent: Callable[[Delivery], None],
        on_error: Callable[[Delivery, Exception], None],
        until: float | None = None,
    ) -> None:
        while until is None or time.monotonic() < until:
            with self.lock:
                result = self.waiting[0] if self.waiting else None
            if result is None:
                if not any(thread.is_alive() for thread in self.threads):
                    return  # a connection ends only once its results are recorded
                with contextlib.suppress(queue.Empty):
                    self.doorbell.get(timeout=WAKE_INTERVAL)
                continue
            if not result.done:
                try:
                    if result.error is None:
                        on_sent(result.delivery)
                    else:
                        on_error(result.delivery, result.error)
                finally:
                    result.done = True
                    result.wake.set()
            with self.lock:
                self.waiting.remove(result)

    def _abandon(self) -> None:
        with self.lock:
            self.abandoned = True

    def _send_share(self, share: Sequence[Delivery]) -> None:
        def report(delivery: Delivery, error: Exception | None = None) -> None:
            result = _Result(delivery, error)
            with self.lock:
                if self.abandoned:
                    return  # the run has ended; it gave this row back unrecorded
                self.waiting.append(result)
            self.doorbell.put(None)
            while not result.done and not self.abandoned:
                result.wake.wait(WAKE_INTERVAL)

        try:
            _send_over_one(share, report, report, self.stop)
        except Exception as exc:  # a bug: the run fails with it once the others are recorded
            self.failure = exc
            self.stop.set()
        finally:
            self.doorbell.put(None)


def _drain_time() -> float:
    """How long a stopped run records what its connections are finishing: one email timeout
    (a message in flight gets that long to be answered), within half the time between the
    soft and the hard limit, so the run gives the rest back before it is killed."""
    gap = app_settings.time_limit - app_settings.soft_time_limit
    return max(0.0, min(app_settings.email_timeout, gap / 2))

"""What the browser receives: the rule's ``data`` callable, or a default payload, as JSON."""

from __future__ import annotations

import json
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from django_notify_tasks.channels.realtime.spec import RealtimeSpec
from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.models import Notification


def default_payload(notification: Notification, instance: models.Model) -> dict[str, Any]:
    """What the browser gets when a rule gives no ``data`` callable."""
    return {
        "notification": notification.pk,
        "rule": notification.rule,
        "event": notification.event,
        "model": notification.model,
        "pk": notification.object_pk,
        "related_pk": notification.related_pk or None,
        "text": str(instance),
        "created_at": notification.created_at,
    }


def encode_payload(spec: RealtimeSpec, notification: Notification, instance: models.Model) -> str:
    """The payload as JSON text (dates, UUIDs and Decimals become strings) or a clear error."""
    try:
        data = (
            spec.data(instance, notification.event)
            if spec.data
            else default_payload(notification, instance)
        )
        # NaN is not JSON: cent would fail on it with an error of requests, not of cent.
        return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PermanentDeliveryError(f"realtime data is not JSON serializable: {exc}") from exc
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        raise PermanentDeliveryError(f"realtime data raised {type(exc).__name__}: {exc}") from exc

"""The report page: start the package's ``activity_digest`` task and follow its progress,
live over Centrifugo when it is configured, from the task-status endpoint in any case."""

import uuid

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from chat.views.access import staff_required
from chat.views.chats import CENTRIFUGE_JS, live_feed_state
from django_notify_tasks import task_status
from django_notify_tasks.dashboard.digest_charts import digest_charts
from django_notify_tasks.tasks import activity_digest

DIGEST_HOURS = 24 * 7  # the page's digest covers the last week


def live_updates_state() -> str:
    """As the chat page's live feed ("ready", "off", "no-client"); "off" without a channel."""
    if not settings.NOTIFY_TASKS_DIGEST_CHANNEL:
        return "off"
    return live_feed_state()


def task_id_from(request):
    """The ``?task=`` id if it is one (Celery's ids are UUIDs), else None."""
    try:
        return str(uuid.UUID(request.GET.get("task", "")))
    except ValueError:
        return None


@staff_required
@require_http_methods(["GET", "POST"])
def report(request):
    if request.method == "POST":
        # Plain values only (Flower shows them). send=False: the page shows the digest;
        # beat's daily run is the one that emails ADMINS and publishes to staff:digest.
        result = activity_digest.delay(hours=DIGEST_HOURS, send=False)
        return redirect(f"{reverse('report')}?task={result.id}")
    task_id = task_id_from(request)
    status_url = task_status.status_url(task_id) if task_id else None
    digest = finished_digest(task_id) if task_id else None
    context = {
        "digest": digest,
        "digest_charts": digest_charts(digest) if digest else [],
        "task_id": task_id,
        "status_url": status_url,
        "days": DIGEST_HOURS // 24,
        "live": live_updates_state(),
        "centrifuge_js": CENTRIFUGE_JS,
    }
    return render(request, "chat/report.html", context)


def finished_digest(task_id):
    """The digest of a finished run, to draw on the page; None while it runs or if unknown."""
    try:
        found = task_status.task_status(task_id)
    except Exception:  # no result backend, or it is down: the page's script says so
        return None
    result = found.get("result")
    if found.get("state") == "SUCCESS" and isinstance(result, dict) and result.get("totals"):
        return result
    return None

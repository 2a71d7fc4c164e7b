"""The report page: start the package's ``activity_digest`` task and follow its progress."""

from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from chat.views.access import staff_required
from django_notify_tasks import tasks

# Why the page cannot start a report, when the installed package lacks what it needs.
MISSING = (
    "This version of django-notify-tasks has no activity_digest task or no task-status "
    "endpoint, so the report cannot be started here."
)


def status_url(task_id):
    """The package's JSON progress endpoint for ``task_id``, or None if it has none."""
    try:
        return reverse("django_notify_tasks:task-status", kwargs={"task_id": task_id})
    except NoReverseMatch:
        return None


def digest_task():
    task = getattr(tasks, "activity_digest", None)
    return task if task is not None and status_url("probe") is not None else None


@staff_required
@require_http_methods(["GET", "POST"])
def report(request):
    task = digest_task()
    if request.method == "POST" and task is not None:
        # Plain values only: the worker reads the data itself; Flower shows these arguments.
        result = task.delay()
        return redirect(f"{reverse('report')}?task={result.id}")
    task_id = request.GET.get("task", "")
    context = {
        "available": task is not None,
        "missing": MISSING,
        "task_id": task_id,
        "status_url": status_url(task_id) if task_id and task is not None else None,
    }
    return render(request, "chat/report.html", context)

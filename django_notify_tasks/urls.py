"""Include with ``path("notifications/", include("django_notify_tasks.urls"))``."""

from django.urls import path

from django_notify_tasks import views
from django_notify_tasks.channels.realtime import views as realtime_views
from django_notify_tasks.dashboard import views as dashboard_views
from django_notify_tasks.inbox import views as inbox_views
from django_notify_tasks.preferences import views as preference_views

app_name = "django_notify_tasks"

urlpatterns = [
    path("connection-token/", realtime_views.connection_token, name="connection-token"),
    path("subscription-token/", realtime_views.subscription_token, name="subscription-token"),
    path("tasks/<str:task_id>/", views.task_status, name="task-status"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("preferences/", preference_views.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", preference_views.unsubscribe, name="unsubscribe"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/read/", inbox_views.inbox_read, name="inbox-read"),
]

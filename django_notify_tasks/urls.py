"""Include with ``path("notifications/", include("django_notify_tasks.urls"))``."""

from django.urls import path

from django_notify_tasks import views

app_name = "django_notify_tasks"

urlpatterns = [
    path("connection-token/", views.connection_token, name="connection-token"),
    path("subscription-token/", views.subscription_token, name="subscription-token"),
    path("tasks/<str:task_id>/", views.task_status, name="task-status"),
]

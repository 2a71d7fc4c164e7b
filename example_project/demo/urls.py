from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from chat import demo_data

login = auth_views.LoginView.as_view(
    extra_context={
        "demo_users": demo_data.USERNAMES,
        "demo_superuser": demo_data.SUPERUSER,
        "demo_password": demo_data.PASSWORD,
    }
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Centrifugo tokens for the page's centrifuge-js (connection-token, subscription-token).
    path("notifications/", include("django_notify_tasks.urls")),
    path("", include("chat.urls")),
]

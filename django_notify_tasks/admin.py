"""The delivery log in the Django admin, with resend and cancel actions."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_notify_tasks import operations
from django_notify_tasks.models import Delivery, Digest, InboxItem, Notification, Preference


class DeliveryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Delivery
    extra = 0
    can_delete = False
    fields = (
        "channel", "target", "user", "status", "attempts", "error", "sent_at", "message_id",
    )  # fmt: skip
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


DASHBOARD_LINK_TEMPLATE = "django_notify_tasks/admin/change_list.html"


class DashboardLinkMixin:
    """A "Dashboard" button above the list, when the host routes the package's URLs."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            url = reverse("django_notify_tasks:dashboard")
        except NoReverseMatch:
            url = None
        extra = {"dashboard_url": url, **(extra_context or {})}
        view = super().changelist_view  # type: ignore[misc]
        return cast(HttpResponse, view(request, extra))


@admin.register(Notification)
class NotificationAdmin(DashboardLinkMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    change_list_template = DASHBOARD_LINK_TEMPLATE
    list_display = ["id", "rule", "event", "model", "object_pk", "status", "created_at"]
    list_filter = ["status", "rule", "event", "deliveries__channel", "deliveries__status"]
    search_fields = ["rule", "object_pk", "related_pk", "deliveries__target", "error"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Notification._meta.fields]
    inlines = [DeliveryInline]
    actions = ["resend", "cancel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return super().get_queryset(request).distinct()

    @admin.action(description=_("Resend failed or pending deliveries"), permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = operations.resend(queryset)
        self.message_user(
            request,
            ngettext("%d notification queued again.", "%d notifications queued again.", count)
            % count,
            messages.SUCCESS,
        )

    @admin.action(description=_("Cancel what has not been sent"), permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = operations.cancel(queryset)
        self.message_user(
            request,
            ngettext("%d notification cancelled.", "%d notifications cancelled.", count) % count,
            messages.SUCCESS,
        )


@admin.register(Delivery)
class DeliveryAdmin(DashboardLinkMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    change_list_template = DASHBOARD_LINK_TEMPLATE
    list_display = ["id", "notification", "channel", "target", "status", "attempts", "sent_at"]
    list_filter = ["channel", "status", "notification__rule"]
    search_fields = ["target", "content__subject", "error", "message_id"]
    list_select_related = ["notification"]
    # subject, body and html are the shared content's, shown on the row's page.
    readonly_fields = [f.name for f in Delivery._meta.fields if f.name != "content"]
    readonly_fields += ["subject", "body", "html"]
    exclude = ["content"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "rule", "channel", "enabled", "updated_at"]
    list_filter = ["enabled", "rule", "channel"]
    search_fields = ["rule"]
    raw_id_fields = ["user"]


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "user", "title", "rule", "created", "read_at"]
    list_filter = [("read_at", admin.EmptyFieldListFilter), "rule"]
    search_fields = ["title", "body"]
    raw_id_fields = ["user", "notification"]
    date_hierarchy = "created"


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "user", "window_end", "items", "notification"]
    raw_id_fields = ["user", "notification"]
    readonly_fields = ["user", "window_end", "items", "notification"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

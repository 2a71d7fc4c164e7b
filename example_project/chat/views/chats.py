from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from chat.forms import AddMemberForm
from chat.models import Chat, Membership
from chat.views.access import staff_required
from django_notify_tasks.dashboard.reasons import short_reason
from django_notify_tasks.inbox import mark_read
from django_notify_tasks.models import Delivery, InboxItem, Notification

# The browser build of the npm package "centrifuge" (see STATICFILES_DIRS in settings).
CENTRIFUGE_JS = "centrifuge/centrifuge.js"


def visible_chats(user):
    return Chat.objects.filter(Q(admin=user) | Q(members=user)).distinct().order_by("title")


def live_feed_state() -> str:
    """Whether the page can show a live feed: "ready", "off" (no Centrifugo settings) or
    "no-client" (centrifuge-js is not installed: npm was missing when run_demo.py ran)."""
    if not settings.NOTIFY_TASKS_CENTRIFUGO_WS_URL:
        return "off"
    if not finders.find(CENTRIFUGE_JS):
        return "no-client"
    return "ready"


@login_required
def chat_list(request):
    chats = visible_chats(request.user).select_related("admin")
    return render(request, "chat/chat_list.html", {"chats": chats})


@login_required
def chat_detail(request, pk):
    chat = get_object_or_404(visible_chats(request.user).select_related("admin"), pk=pk)
    can_add = chat.admin_id == request.user.pk  # only the chat's admin adds members
    if request.method == "POST" and not can_add:
        raise PermissionDenied("Only the chat's admin may add members.")
    form = AddMemberForm(chat, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.cleaned_data["user"]
        # The notification row is written in this transaction and queued once it commits.
        with transaction.atomic():
            Membership.objects.create(chat=chat, user=user)
        messages.success(request, added_message(user, chat))
        return redirect("chat-detail", pk=chat.pk)
    mark_chat_read(request.user, chat)  # before the bell in the header counts them
    memberships = chat.membership_set.select_related("user").order_by("joined_at")
    context = {
        "chat": chat,
        "memberships": memberships,
        "form": form,
        "can_add": can_add,
        "live_feed": live_feed_state(),
        "centrifuge_js": CENTRIFUGE_JS,
    }
    return render(request, "chat/chat_detail.html", context)


def mark_chat_read(user, chat) -> None:
    """The user's unread inbox items about this chat (their url is its page) are read now;
    mark_read() publishes the new count to the user's other pages."""
    url = reverse("chat-detail", args=[chat.pk])
    unread = InboxItem.objects.filter(user=user, url=url, read_at__isnull=True)
    ids = list(unread.values_list("pk", flat=True))
    if ids:
        mark_read(user, ids)


def added_message(user, chat) -> str:
    """What adding a member set going, and no more: the sends happen later, in the worker."""
    queued = f"Added {user}; emails to {chat.admin} and {user} are queued"
    if not settings.NOTIFY_TASKS_CENTRIFUGO_API_URL:
        return f"{queued}. Realtime is off in this demo, so no live feed is notified."
    return (
        f"{queued}, and a live-feed message for this chat (it goes out once Centrifugo "
        "answers). The delivery log shows what was sent."
    )


LOG_SIZE = 50


@staff_required  # everyone's deliveries, addresses included
def delivery_log(request):
    """The latest notifications and their deliveries, filtered by rule, channel and status."""
    chosen = {name: request.GET.get(name, "") for name in ("rule", "channel", "status")}
    deliveries = Delivery.objects.select_related("content")
    if chosen["channel"]:
        deliveries = deliveries.filter(channel=chosen["channel"])
    if chosen["status"]:
        deliveries = deliveries.filter(status=chosen["status"])
    notifications = Notification.objects.all()
    if chosen["rule"]:
        notifications = notifications.filter(rule=chosen["rule"])
    if chosen["channel"] or chosen["status"]:
        notifications = notifications.filter(pk__in=deliveries.values("notification_id"))
    shown = notifications.prefetch_related(Prefetch("deliveries", queryset=deliveries))
    counts = dict(
        deliveries.filter(notification__in=notifications)
        .values_list("status")
        .annotate(count=Count("*"))
        .order_by()
    )
    page = list(shown[:LOG_SIZE])
    for notification in page:
        for delivery in notification.deliveries.all():
            delivery.reason = short_reason(delivery.error) if delivery.error else ""
    context = {
        "notifications": page,
        "counts": counts,
        "total": sum(counts.values()),
        "chosen": chosen,
        "rules": sorted(settings.NOTIFY_TASKS_RULES),
        "channels": Delivery.Channel.values,
        "statuses": Delivery.Status.values,
        "size": LOG_SIZE,
    }
    return render(request, "chat/delivery_log.html", context)

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render

from chat.forms import AddMemberForm
from chat.models import Chat, Membership
from django_notify_tasks.models import Notification

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
    form = AddMemberForm(chat, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.cleaned_data["user"]
        # The notification row is written in this transaction and queued once it commits.
        with transaction.atomic():
            Membership.objects.create(chat=chat, user=user)
        live = " and the live feeds notified" if settings.NOTIFY_TASKS_CENTRIFUGO_API_URL else ""
        messages.success(
            request, f"Added {user}; {chat.admin} is being emailed{live} (see the delivery log)."
        )
        return redirect("chat-detail", pk=chat.pk)
    memberships = chat.membership_set.select_related("user").order_by("joined_at")
    context = {
        "chat": chat,
        "memberships": memberships,
        "form": form,
        "live_feed": live_feed_state(),
        "centrifuge_js": CENTRIFUGE_JS,
    }
    return render(request, "chat/chat_detail.html", context)


@login_required
def delivery_log(request):
    notifications = Notification.objects.prefetch_related("deliveries__content")[:50]
    return render(request, "chat/delivery_log.html", {"notifications": notifications})

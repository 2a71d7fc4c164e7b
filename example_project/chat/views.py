from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render

from chat.forms import AddMemberForm
from chat.models import Chat, Membership
from django_notify_tasks.models import Notification


def visible_chats(user):
    return Chat.objects.filter(Q(admin=user) | Q(members=user)).distinct().order_by("title")


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
        messages.success(
            request, f"Added {user}; {chat.admin} is being emailed (see the delivery log)."
        )
        return redirect("chat-detail", pk=chat.pk)
    memberships = chat.membership_set.select_related("user").order_by("joined_at")
    context = {"chat": chat, "memberships": memberships, "form": form}
    return render(request, "chat/chat_detail.html", context)


@login_required
def delivery_log(request):
    notifications = Notification.objects.prefetch_related("deliveries")[:50]
    return render(request, "chat/delivery_log.html", {"notifications": notifications})

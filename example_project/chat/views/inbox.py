from django.conf import settings
from django.shortcuts import render

from chat.inbox import read_inbox
from chat.views.access import staff_required


@staff_required
def inbox(request):
    """What the demo's SMTP sink received: every email the worker sent."""
    maildir = settings.DEMO_MAILDIR
    context = {"messages_received": read_inbox(maildir), "maildir": maildir}
    return render(request, "chat/inbox.html", context)

from django.conf import settings

from chat.views.chats import CENTRIFUGE_JS, live_feed_state


def demo_links(request):
    """Links the navigation shows besides the site's own pages."""
    return {"flower_url": settings.DEMO_FLOWER_URL}


def live_bell(request):
    """Whether the header's bell can follow the unread count live (Centrifugo configured
    and centrifuge-js installed); without, it is a plain link with the count of the page."""
    return {"bell_live": live_feed_state() == "ready", "centrifuge_js": CENTRIFUGE_JS}

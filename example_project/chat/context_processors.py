from django.conf import settings


def demo_links(request):
    """Links the navigation shows besides the site's own pages."""
    return {"flower_url": settings.DEMO_FLOWER_URL}

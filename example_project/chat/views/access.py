from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def staff_required(view):
    """Log in first; then 403 for users who are not staff (these pages show everyone's data)."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff users may see this page.")
        return view(request, *args, **kwargs)

    return wrapper

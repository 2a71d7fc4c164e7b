"""A URLconf without the package's URLs, for the check that needs them."""

urlpatterns: list[object] = []

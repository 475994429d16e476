"""The project's routes plus /api/v1/perf/bare: API-key auth and the scope check, and nothing else."""

from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.response import Response

from promptconfig.urls import handler400, handler403, handler404, handler500
from promptconfig.urls import urlpatterns as project_urlpatterns


@api_view(["GET"])
def bare(request):
    """The floor of an authenticated API request: the project's default authentication and permissions (read)."""
    return Response({})


# Before the project's patterns: they end with a catch-all `^api/` 404.
urlpatterns = [path("api/v1/perf/bare", bare), *project_urlpatterns]

# Re-exported: Django looks the error handlers up on ROOT_URLCONF.
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

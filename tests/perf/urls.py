"""The project's routes plus /api/v1/perf/bare: API-key auth and the scope check, and nothing else."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from promptconfig.urls import handler400, handler403, handler404, handler500
from promptconfig.urls import urlpatterns as project_urlpatterns


class Bare(APIView):
    """The floor of an authenticated API request: the project's default authentication, permissions (read) and
    rate limit, on the fast path as the runtime calls are."""

    fast_path = True

    def get(self, request):
        return Response({})


# Before the project's patterns: they end with a catch-all `^api/` 404.
urlpatterns = [path("api/v1/perf/bare", Bare.as_view()), *project_urlpatterns]

# Re-exported: Django looks the error handlers up on ROOT_URLCONF.
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

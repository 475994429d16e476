"""DRF's content negotiation with a shortcut for what nearly every API call asks: one JSON renderer, and an
Accept header that takes anything or JSON. Parsing the header costs each call more than rendering `{}`."""

from rest_framework.negotiation import DefaultContentNegotiation

ANY_OR_JSON = frozenset({"", "*/*", "application/json"})


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            len(renderers) == 1
            and format_suffix is None
            and request.META.get("HTTP_ACCEPT", "") in ANY_OR_JSON
            and "format=" not in request.META.get("QUERY_STRING", "")
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)

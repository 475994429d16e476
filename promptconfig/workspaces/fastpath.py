"""The API's fast path: the common case of a hot call (generate, prompt-data, a profile read...) dispatched with
what it needs and nothing else.

A normal API call passes every middleware of the site (most of them return at once for /api/) and then DRF's
generic `APIView.dispatch`, which builds the parsers, authenticators, permissions, throttles and renderers of
the view for each request, negotiates the content type, and renders through a template response. Together
that is about 0.9 M CPU instructions a call before any work (tests/perf/README.md), more than the whole of a
bare DRF endpoint. This middleware, placed after the request id, the API guard and the security headers,
takes the calls of views that set `fast_path = True` when they are plain: GET or POST, no query string, JSON
or no `Accept`, a JSON body, a Bearer key. It runs the same authentication, scope check, throttle, parser,
handler and exception handler as DRF would, in DRF's order, on a DRF `Request`, and renders the answer with
the same JSON renderer, so a caller cannot tell the difference (tests/workspaces/test_fast_path.py compares
both paths). Every other request, and every request while `API_FAST_PATH` is off or tracing is on (a span
names its route in a middleware hook this path does not run), takes the normal way.
"""

import io
import time

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils.datastructures import MultiValueDict
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.mediatypes import media_type_matches

from promptconfig.common import tracing
from promptconfig.common.middleware import PrometheusAfterMiddleware
from promptconfig.common.negotiation import ANY_OR_JSON
from promptconfig.workspaces.throttling import charge_if_slow

_PREFIX = "/api/"
_SIMPLE = frozenset({"GET", "POST"})
_PATHS = 1024
_ACCEPTED_HOSTS: set[tuple[str | None, str | None]] = set()  # (Host, X-Forwarded-Host) that get_host() accepted
_HOST_SETTINGS = frozenset({"ALLOWED_HOSTS", "DEBUG", "USE_X_FORWARDED_HOST"})


@receiver(setting_changed)
def _forget_hosts(*, setting: str, **kwargs) -> None:
    if setting in _HOST_SETTINGS:
        _ACCEPTED_HOSTS.clear()


# A fast-path view must use the project's DRF classes: the middleware builds them once.
_DEFAULTS = {
    "renderer_classes": "DEFAULT_RENDERER_CLASSES",
    "parser_classes": "DEFAULT_PARSER_CLASSES",
    "authentication_classes": "DEFAULT_AUTHENTICATION_CLASSES",
    "permission_classes": "DEFAULT_PERMISSION_CLASSES",
    "throttle_classes": "DEFAULT_THROTTLE_CLASSES",
}


def _standard(view_class) -> bool:
    """Whether a view asks for the fast path and uses the project's DRF classes (one renderer)."""
    return bool(
        getattr(view_class, "fast_path", False)
        and len(view_class.renderer_classes) == 1
        and all(list(getattr(view_class, name)) == list(getattr(api_settings, key)) for name, key in _DEFAULTS.items())
        and view_class.content_negotiation_class is api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS
    )


class _JSONRequest(Request):
    """DRF's `Request`, which parses an `application/json` body (the only kind the fast path takes) as
    `Request._parse` does with the parser DRF's negotiation picks for it (the same stream, the same error
    handling), without negotiating and proxying attributes again for each request."""

    json_parser = None  # that parser, set by the middleware

    def _parse(self):
        if self.content_type != "application/json":
            return super()._parse()
        if self.stream is None:
            return {}, MultiValueDict()
        try:
            data = self.json_parser.parse(io.BytesIO(self._request.body), "application/json", self.parser_context)
        except Exception:
            self._data = self._full_data = QueryDict("", encoding=self._request._encoding)
            self._files = MultiValueDict()
            raise
        return data, MultiValueDict()


class FastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.metrics = PrometheusAfterMiddleware(get_response)  # the per-view series of the skipped one
        self.renderer = api_settings.DEFAULT_RENDERER_CLASSES[0]()
        self.parsers = [parser() for parser in api_settings.DEFAULT_PARSER_CLASSES]
        self.json_parser = _json_parser(self.parsers)
        self.authenticators = [authenticator() for authenticator in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
        self.permissions = [permission() for permission in api_settings.DEFAULT_PERMISSION_CLASSES]
        self.throttle_classes = api_settings.DEFAULT_THROTTLE_CLASSES  # stateful: one of each per request, as in DRF
        self.negotiator = api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS()
        self._views: dict = {}  # view callback -> its Allow header (as DRF computes it), or None: not fast
        self._paths: dict = {}  # (urlconf, path) -> its ResolverMatch if a fast-path view's, else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = self._match(request)
        if match is None:
            return self.get_response(request)
        self._check_host(request)
        request.resolver_match = match
        self.metrics.process_request(request)
        response = self._dispatch(request, match)
        self.metrics.process_response(request, response)
        return response

    def _match(self, request: HttpRequest):
        """The resolved view of a plain call to a fast-path view, else None (the normal path takes it)."""
        meta = request.META
        if (
            not request.path_info.startswith(_PREFIX)
            or request.method not in _SIMPLE
            or meta.get("QUERY_STRING")
            or meta.get("HTTP_ACCEPT", "") not in ANY_OR_JSON
            or not settings.API_FAST_PATH
            or tracing.active()
            or getattr(request, "_force_auth_user", None) is not None  # DRF's test client: its forced credentials
            or getattr(request, "_force_auth_token", None) is not None
        ):
            return None
        parts = meta.get("HTTP_AUTHORIZATION", "").split()
        if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].isascii():
            return None
        if request.method == "POST" and (request.content_type != "application/json" or request.content_params):
            return None
        match = self._resolve(request.path_info)
        if match is None:
            return None
        callback = match.func
        actions = getattr(callback, "actions", None)
        handler = actions.get(request.method.lower()) if actions is not None else request.method.lower()
        return match if handler and hasattr(callback.cls, handler) else None

    def _check_host(self, request: HttpRequest) -> None:
        """`request.get_host()`, which raises DisallowedHost for a host outside ALLOWED_HOSTS (CommonMiddleware
        asks it on the normal path); the Host headers it accepted are remembered (at most _PATHS of them) until
        a setting it reads changes."""
        meta = request.META
        headers = (meta.get("HTTP_HOST"), meta.get("HTTP_X_FORWARDED_HOST"))
        if headers in _ACCEPTED_HOSTS:
            return
        request.get_host()
        if headers[0] is not None:  # without a Host header, get_host() builds the host from other variables
            if len(_ACCEPTED_HOSTS) >= _PATHS:
                _ACCEPTED_HOSTS.clear()
            _ACCEPTED_HOSTS.add(headers)

    def _resolve(self, path: str):
        """The URL's match if it is a fast-path view's, else None; remembered per path (at most _PATHS of them),
        as resolving walks the project's URL patterns, while the hot calls use a handful of paths."""
        key = (settings.ROOT_URLCONF, path)
        if key in self._paths:
            return self._paths[key]
        try:
            match = resolve(path)
        except Resolver404:
            match = None
        else:
            callback = match.func
            if callback not in self._views:
                self._views[callback] = _allow_header(callback) if _standard(getattr(callback, "cls", None)) else None
            if self._views[callback] is None:
                match = None
        if len(self._paths) >= _PATHS:
            self._paths.clear()
        self._paths[key] = match
        return match

    def _dispatch(self, request: HttpRequest, match) -> HttpResponse:
        """DRF's `APIView.dispatch` for this view, with the project's classes already built."""
        callback, method = match.func, request.method.lower()
        args, kwargs = match.args, dict(match.kwargs)  # the match is shared by every request of its path
        view = _view(callback, args, kwargs, method)
        view.started = time.monotonic()
        drf_request = _JSONRequest(
            request,
            parsers=self.parsers,
            authenticators=self.authenticators,
            negotiator=self.negotiator,
            parser_context={"view": view, "args": args, "kwargs": kwargs},
        )
        drf_request.json_parser = self.json_parser
        drf_request.accepted_renderer, drf_request.accepted_media_type = self.renderer, self.renderer.media_type
        drf_request.version = drf_request.versioning_scheme = None
        view.request = drf_request
        try:
            drf_request._authenticate()  # what DRF's `request.user` runs, without first missing `_user` twice
            for permission in self.permissions:
                if not permission.has_permission(drf_request, view):
                    view.permission_denied(drf_request)
            for throttle_class in self.throttle_classes:
                throttle = throttle_class()
                if not throttle.allow_request(drf_request, view):
                    view.throttled(drf_request, throttle.wait())
            response = getattr(view, method)(drf_request, *args, **kwargs)
        except Exception as exc:
            response = view.handle_exception(exc)
        charge_if_slow(drf_request, view, view.started)
        response["Allow"] = self._views[callback]
        if isinstance(response, Response):
            self._render(response)
        return response

    def _render(self, response: Response) -> None:
        """What `Response.render()` does with the JSON renderer, plus CommonMiddleware's Content-Length."""
        content = self.renderer.render(response.data)
        if content:
            response["Content-Type"] = response.content_type or self.renderer.media_type
        else:
            del response["Content-Type"]
        response.content = content
        response["Content-Length"] = str(len(content))


def _view(callback, args: tuple, kwargs: dict, method: str | None):
    """The view instance, set up as DRF's as_view() does for each request."""
    view = callback.cls(**callback.initkwargs)
    actions = getattr(callback, "actions", None)
    if actions is None:
        view.setup(None, *args, **kwargs)
    else:
        if "get" in actions and "head" not in actions:
            actions["head"] = actions["get"]
        view.action_map = actions
        for name, action in actions.items():
            setattr(view, name, getattr(view, action))
        view.args, view.kwargs = args, kwargs
        view.action = actions.get(method)
    view.format_kwarg = None
    return view


def _json_parser(parsers: list):
    """The parser DRF's negotiation picks for `application/json` (the first that takes it)."""
    return next(parser for parser in parsers if media_type_matches(parser.media_type, "application/json"))


def _allow_header(callback) -> str:
    return ", ".join(_view(callback, (), {}, None).allowed_methods)

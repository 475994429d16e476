"""Query parameters are checked against the OpenAPI document: the server accepts what the document says.

An API view's operation declares its query parameters (filters, pagination, `language`…). Anything else is
400 `validation_error` naming the parameter: an unknown one (a typo such as `?stauts=` would otherwise be an
unfiltered list), one given more than once (which value would count?), and a value outside a declared `enum`
(`?status=` is not "no filter"; an `ordering` takes the listed fields, comma separated, or nothing). Types, ranges and
patterns are the views' own serializers' business.

The declared parameters are read once per process from the generated document (well under a second, on the
first request that carries a query string).
"""

import threading

from promptconfig.common.errors import ValidationFailed

MAX_NAMED = 20
_LOCK = threading.Lock()
_DECLARED: dict[tuple[type, str], dict[str, dict]] | None = None


def _endpoint_key(view_class: type, actions: dict | None, method: str) -> tuple[type, str]:
    method = method.lower()
    return (view_class, f"{actions[method]}:{method}" if actions else method)


def _build() -> dict[tuple[type, str], dict[str, dict]]:
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    document = generator.get_schema(request=None, public=True)
    declared = {}
    for path, _regex, method, callback in generator.endpoints:
        item = document["paths"].get(path.rstrip("/") or "/", {})
        operation = item.get(method.lower())
        if operation is None:
            continue
        parameters = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p["in"] == "query"}
        declared[_endpoint_key(callback.cls, getattr(callback, "actions", None), method)] = parameters
    return declared


def declared_query_parameters(view, method: str) -> dict[str, dict] | None:
    """The query parameters (name -> JSON schema) the document declares for this view's operation, or None for
    a view the document does not describe."""
    global _DECLARED
    if _DECLARED is None:
        with _LOCK:
            if _DECLARED is None:
                _DECLARED = _build()
    method = "get" if method.lower() == "head" else method
    actions = {method.lower(): view.action} if getattr(view, "action", None) else None
    return _DECLARED.get(_endpoint_key(type(view), actions, method))


def _allowed(schema: dict) -> list[str] | None:
    return schema.get("enum") or (schema.get("items") or {}).get("enum")


def check_query(view, request) -> None:
    """400 naming every query parameter the operation does not declare, gives more than once or whose value is
    outside its enum."""
    if not request.META.get("QUERY_STRING"):  # most calls: nothing to check, so no lookup on the hot path
        return
    declared = declared_query_parameters(view, request.method)
    if declared is None:
        return
    errors = {}
    for name in request.query_params:
        values = request.query_params.getlist(name)
        schema = declared.get(name)
        if schema is None:
            errors[name] = [f"Unknown query parameter; known: {', '.join(sorted(declared)) or 'none'}."]
        elif len(values) > 1:
            errors[name] = ["Give this parameter once."]
        elif (allowed := _allowed(schema)) is not None:
            # An array is comma separated; an empty value is an empty list.
            items = (values[0].split(",") if values[0] else []) if schema.get("type") == "array" else values
            if any(item not in allowed for item in items):
                errors[name] = [f"Not one of: {', '.join(allowed)}."]
        if len(errors) >= MAX_NAMED:
            break
    if errors:
        raise ValidationFailed(f"Invalid query parameters: {', '.join(errors)}.", details=errors)

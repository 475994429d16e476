"""Project-wide drf-spectacular postprocessing hooks (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).

`strip_trailing_slashes` writes the paths as the contract does; `document_operations` gives every operation a
tag, a summary, a description for API users and a request example the server accepts, and documents the errors
a client can get (the shared `Error` component) on every operation that can return them.
"""

import copy
import re

from promptconfig.common.schema_operations import OPERATIONS, TAGS

METHODS = ("get", "post", "put", "patch", "delete")


def strip_trailing_slashes(result, generator, request, public):
    """The routers accept an optional trailing slash; the API contract's paths are written without."""
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    return result


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error answer: a stable machine-readable `code`, a message for humans and `details`.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "validation_error, authentication_failed, permission_denied, not_found, "
                    "method_not_allowed, not_acceptable, conflict, template_not_published, gone, "
                    "payload_too_large, unsupported_media_type, missing_variables, invalid_variables, "
                    "template_error, rate_limited, bad_gateway, service_unavailable, gateway_timeout…",
                    "example": "validation_error",
                },
                "message": {"type": "string", "example": "Invalid request."},
                "details": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Per field messages for validation_error, `missing` for missing_variables…",
                },
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}

ERROR_DESCRIPTIONS = {
    "400": "`validation_error`: the body, a query parameter or a path value is invalid (`details` names the field).",
    "401": "`authentication_failed`: no API key, an unknown one or a revoked one.",
    "403": "`permission_denied`: the key's scope does not allow this call.",
    "404": "`not_found`: nothing with this identifier in the caller's workspace.",
    "409": "`conflict` or `template_not_published`: the request conflicts with the current state.",
    "410": "`gone`: the template is archived.",
    "413": "`payload_too_large`: the body is larger than the server accepts (1 MiB by default).",
    "415": "`unsupported_media_type`: the body is not `application/json`.",
    "422": "`template_error`, `missing_variables` or `invalid_variables`: the template cannot be saved or rendered "
    "with these values.",
    "414": "`uri_too_long`: the URL is too long (over 4 KiB), answered by the HTTP server before any view.",
    "429": "`rate_limited`: too many calls for this key; retry after `Retry-After` seconds.",
    "502": "`bad_gateway`: the model provider answered with an error.",
    "503": "`service_unavailable`: a service the server needs (database, cache, the LLM endpoint of refinements) is "
    "unavailable.",
    "504": "`gateway_timeout`: the model provider did not answer in time.",
}

# Constraints of request bodies that span fields (JSON Schema keywords merged into the component).
RUNTIME_TARGET = {
    "anyOf": [{"required": ["template_id"]}, {"required": ["node_name"]}],
    "allOf": [{"not": {"required": ["template_id", "node_name"]}}, {"not": {"required": ["version", "label"]}}],
}
BODY_CONSTRAINTS = {
    "Feedback": {
        "anyOf": [
            {"required": ["rating"]},
            {"required": ["effectiveness_score"]},
            {"required": ["metrics"], "properties": {"metrics": {"minProperties": 1}}},
        ]
    },
    # Without a key, the key is derived from the name (its ASCII letters and digits).
    "TemplateWrite": {"anyOf": [{"required": ["key"]}, {"properties": {"name": {"pattern": "[A-Za-z0-9]"}}}]},
    "GenerateRequest": RUNTIME_TARGET,
    "PromptDataRequest": RUNTIME_TARGET,
}
# Operations that can answer 404 without a path parameter: a template named in the body or a query, a page past
# the last one.
NOT_FOUND_WITHOUT_PATH = {
    "v1_prompts_generate_create",
    "v1_generate_prompt_create",
    "v1_prompt_data_create",
    "analytics_usage",
}
# Integer query parameters that count versions (or pages) from 1.
FROM_ONE = {"version", "baseline", "from", "to", "page", "page_size"}


def base_name(operation: dict) -> str | None:
    """The request body's component name without drf-spectacular's `Patched` and `Request` affixes."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        return (
            media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1].removeprefix("Patched").removesuffix("Request")
        )
    return None


def _request_components(result) -> set[str]:
    names = set()
    for item in result["paths"].values():
        for method in METHODS:
            body = (item.get(method) or {}).get("requestBody")
            for media in (body or {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    names.add(ref.rsplit("/", 1)[1])
    return names


def _drop_internal_descriptions(schemas: dict) -> None:
    """Components inherit the docstrings of the project's serializer base classes (about fast paths and unknown
    fields): notes for the server's authors, not for API users."""
    import inspect

    from promptconfig.common.serializers import RequestSerializer, StrictBody

    internal = {inspect.cleandoc(base.__doc__ or "") for base in (StrictBody, RequestSerializer)}
    for schema in schemas.values():
        if inspect.cleandoc(schema.get("description", "")) in internal:
            schema.pop("description")


def _template_updates(result) -> None:
    """An update cannot change `key`, `language` or `status` (400): its body is the create body without them."""
    schemas = result["components"]["schemas"]
    item = result["paths"].get("/api/v1/templates/{key}", {})
    for method, name in (("put", "TemplateUpdateRequest"), ("patch", "PatchedTemplateUpdateRequest")):
        media = item.get(method, {}).get("requestBody", {}).get("content", {})
        for body in media.values():
            source = schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]
            update = copy.deepcopy(source)
            for field in ("key", "language", "status"):
                update["properties"].pop(field, None)
            update.pop("anyOf", None)
            schemas[name] = update
            body["schema"] = {"$ref": f"#/components/schemas/{name}"}


def _profile_updates(result) -> None:
    """`user_id` is the one in the URL; an update cannot change it (400): the update body does not have it."""
    schemas = result["components"]["schemas"]
    item = result["paths"].get("/api/v1/profiles/{user_id}", {})
    for method in ("put", "patch"):
        for body in item.get(method, {}).get("requestBody", {}).get("content", {}).values():
            update = copy.deepcopy(schemas[body["schema"]["$ref"].rsplit("/", 1)[1]])
            update["properties"].pop("user_id", None)
            update["required"] = [name for name in update.get("required", []) if name != "user_id"]
            if not update["required"]:
                update.pop("required")
            schemas["ProfileUpdateRequest"] = update
            body["schema"] = {"$ref": "#/components/schemas/ProfileUpdateRequest"}


def _reserved_keys(result) -> None:
    """`search` is not a template key (`/templates/search` is the search endpoint)."""
    for path, item in result["paths"].items():
        if not path.startswith("/api/v1/templates/{key}"):
            continue
        for method in METHODS:
            for parameter in (item.get(method) or {}).get("parameters", []):
                if parameter["name"] == "key" and parameter["in"] == "path":
                    parameter["schema"]["pattern"] = "^(?!search$)[a-z0-9][a-z0-9_-]{0,99}$"


def _reserved_labels(result) -> None:
    """`latest` always means the newest version: it cannot be set (400)."""
    operation = result["paths"].get("/api/v1/templates/{key}/labels/{label}", {}).get("put")
    for parameter in (operation or {}).get("parameters", []):
        if parameter["name"] == "label" and parameter["in"] == "path":
            parameter["schema"]["pattern"] = "^(?!latest$)[a-z0-9][a-z0-9_-]{0,63}$"


def _search_filters(result) -> None:
    """`filters` of POST /templates/search takes the list's filters (strings, or lists for tags and ordering)."""
    listing = result["paths"].get("/api/v1/templates", {}).get("get")
    search = result["components"]["schemas"].get("SearchRequest")
    if not listing or not search:
        return
    properties = {}
    for parameter in listing.get("parameters", []):
        name, schema = parameter["name"], copy.deepcopy(parameter["schema"])
        if name in ("page", "page_size", "search"):
            continue
        if name == "is_active":
            schema = {"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]}
        elif name == "tags":
            schema = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
        elif name == "ordering" and schema.get("items", {}).get("enum"):
            choice = "|".join(re.escape(value) for value in schema["items"]["enum"])
            comma_list = {"type": "string", "pattern": f"^({choice})(,({choice}))*$"}
            schema = {"oneOf": [schema, comma_list]}
        properties[name] = schema
    filters = search["properties"]["filters"]
    filters.update({"type": "object", "properties": properties, "additionalProperties": False})


def _any_value_or_null(node) -> None:
    """OpenAPI 3.1 writes a nullable field of any JSON value as `oneOf: [{}, {"type": "null"}]`, which null fails
    (it matches both): such a field is just any value."""
    if isinstance(node, list):
        for item in node:
            _any_value_or_null(item)
    elif isinstance(node, dict):
        if node.get("oneOf") == [{}, {"type": "null"}]:
            del node["oneOf"]
        for value in node.values():
            _any_value_or_null(value)


def _error_response(code: str) -> dict:
    return {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_operations(result, generator, request, public):
    """Tags, summaries, descriptions, request examples and error answers for every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = copy.deepcopy(ERROR_SCHEMA)
    result["tags"] = [{"name": name, "description": description} for name, description in TAGS]
    schemas = result["components"]["schemas"]
    for name in _request_components(result):
        # Every request body refuses fields it does not know (400 naming them).
        schemas[name]["additionalProperties"] = False
        base = name.removeprefix("Patched").removesuffix("Request")
        schemas[name].update(copy.deepcopy(BODY_CONSTRAINTS.get(base, {})))
    _search_filters(result)
    _any_value_or_null(schemas)
    _drop_internal_descriptions(schemas)
    if "BatchRequestRequest" in schemas:
        schemas["BatchRequestRequest"]["properties"]["requests"]["items"] = {
            "description": "a request body of the single call; an invalid item answers its own error in place",
        }
    _template_updates(result)
    _profile_updates(result)
    _reserved_labels(result)
    _reserved_keys(result)
    if "TemplateWriteRequest" in schemas:  # a template is created as a draft or published
        schemas["TemplateWriteRequest"]["properties"]["status"] = {"$ref": "#/components/schemas/ForkStatusEnum"}
    for item in result["paths"].values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            entry = OPERATIONS.get(operation.get("operationId"))
            if entry is not None:
                tag, summary, description, example, specific = entry
                operation["tags"] = [tag]
                operation["summary"] = summary
                operation["description"] = description
                if base_name(operation) in BODY_CONSTRAINTS:
                    operation["requestBody"]["required"] = True
                if example is not None and "requestBody" in operation:
                    for media in operation["requestBody"].get("content", {}).values():
                        media["examples"] = {"example": {"summary": summary, "value": example}}
            else:
                specific = ()
            errors = {"400", "401", "403", "429", "503", *specific}
            if "requestBody" in operation:
                errors |= {"413", "415"}
            parameters = operation.get("parameters", [])
            if (
                operation.get("operationId") in NOT_FOUND_WITHOUT_PATH
                or any(parameter.get("in") == "path" for parameter in parameters)
                or any(parameter.get("name") == "page" for parameter in parameters)
            ):
                errors.add("404")
            for parameter in parameters:
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and parameter["name"] in FROM_ONE and schema.get("type") == "integer":
                    schema.setdefault("minimum", 1)
            responses = operation.setdefault("responses", {})
            for code in sorted(errors):
                responses.setdefault(code, _error_response(code))
            # gunicorn answers a request line over 4094 bytes itself, before the application (in this shape too).
            responses.setdefault("414", _error_response("414"))
    return result

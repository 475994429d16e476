def strip_trailing_slashes(result, generator, request, public):
    """The routers accept an optional trailing slash; the API contract's paths are written without."""
    result["paths"] = {path.rstrip("/") or "/": item for path, item in result["paths"].items()}
    return result

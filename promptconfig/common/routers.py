from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    """The API contract's paths have no trailing slash; accept one too, so neither form redirects."""

    def __init__(self):
        super().__init__(trailing_slash=False)
        self.trailing_slash = "/?"

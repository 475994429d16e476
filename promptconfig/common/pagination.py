from rest_framework import pagination

from promptconfig.common.errors import ValidationFailed


class PageNumberPagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}` with `?page=` and `?page_size=` (at most 200; a larger one is
    capped); a `page` or `page_size` that is not a positive integer is 400, a page past the last 404."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw != "last" and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ValidationFailed("Invalid input: page.", details={"page": ["A positive integer is required."]})
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ValidationFailed(
                "Invalid input: page_size.", details={"page_size": ["A positive integer is required."]}
            )
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters

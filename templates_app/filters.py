import django_filters
from django import forms
from django.db.models import QuerySet

from templates_app.models import PromptTemplate
from templates_app.selectors import template_search

# What `ordering` may name (`-` in front for descending), comma separated.
ORDERING_FIELDS = ("priority", "name", "key", "updated_at", "created_at", "usage_count", "average_rating")
ORDERINGS = tuple(sorted((*ORDERING_FIELDS, *(f"-{field}" for field in ORDERING_FIELDS))))


class StrictBooleanField(forms.NullBooleanField):
    """`true` or `false`, as the schema says (a boolean); anything else, an empty value too, is an error, not
    "no filter"."""

    widget = forms.TextInput  # the select widget would read an unknown value as "unknown"

    def to_python(self, value):
        if value is None or str(value) in ("true", "false"):
            return super().to_python(value)
        raise forms.ValidationError("Must be true or false.")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class TemplateFilter(django_filters.FilterSet):
    """List filters of the API contract; also applied to the `filters` of POST /templates/search."""

    category = django_filters.CharFilter()
    language = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=PromptTemplate.Status.choices)
    is_active = StrictBooleanFilter()
    node_name = django_filters.CharFilter()
    tags = django_filters.CharFilter(method="filter_tags", help_text="Comma list; every tag must match.")
    search = django_filters.CharFilter(method="filter_search", help_text="Full text over name, description, body.")
    ordering = django_filters.OrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = PromptTemplate
        fields = ["category", "language", "status", "is_active", "node_name"]

    def filter_tags(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        for tag in {tag.strip() for tag in value.split(",") if tag.strip()}:
            queryset = queryset.filter(tags__name=tag)
        return queryset.distinct()

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return template_search(queryset, value)

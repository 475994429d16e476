import uuid

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

from promptconfig.workspaces.models import SLUG_VALIDATOR, Workspace


class Tag(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_per_workspace")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PromptTemplate(models.Model):
    """A prompt template: one per (workspace, key, language). Its content lives in immutable versions."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"
        DEPRECATED = "deprecated"
        ARCHIVED = "archived"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="templates")
    key = models.CharField(max_length=100, validators=[SLUG_VALIDATOR])
    language = models.CharField(max_length=16)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True, default="")
    description = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="templates")
    priority = models.IntegerField(default=0)
    node_name = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PUBLISHED)
    is_active = models.BooleanField(default=True)
    # Served version: the one the `production` label points at (kept here too, for one-query reads).
    served_version = models.ForeignKey(
        "TemplateVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    latest_version_number = models.PositiveIntegerField(default=0)
    usage_count = models.PositiveIntegerField(default=0)
    success_rate = models.FloatField(default=0.0)
    average_rating = models.FloatField(default=0.0)
    rating_count = models.PositiveIntegerField(default=0)
    feedback_count = models.PositiveIntegerField(default=0)
    search_vector = SearchVectorField(null=True, editable=False)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "key", "language"],
                condition=Q(deleted_at__isnull=True),
                name="template_key_language_unique",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "node_name"]),
            models.Index(fields=["workspace", "category"]),
        ]
        ordering = ["key", "language"]
        permissions = [("publish_template", "Can publish, roll back and move labels of templates")]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"


class TemplateVersion(models.Model):
    """One immutable version of a template's content. Never updated, never deleted."""

    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    variables = models.JSONField(default=list, blank=True)  # declared names, beyond what the body uses
    # Derived from the body's syntax tree once, at creation (the body never changes).
    used_variables = models.JSONField(default=list, blank=True)
    includes = models.JSONField(default=list, blank=True)
    variable_schema = models.JSONField(null=True, blank=True)
    model_config = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)  # the template's metadata when this was made
    change_note = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    first_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="version_number_unique")]
        ordering = ["template", "number"]

    def __str__(self) -> str:
        return f"{self.template.key} v{self.number}"

    @property
    def all_variables(self) -> list[str]:
        """What the body uses plus what the version declares: the API contract's `variables`."""
        return sorted({*self.used_variables, *self.variables})


class TemplateLabel(models.Model):
    """A named pointer at a version. `production` is the served one; `latest` is implicit."""

    PRODUCTION = "production"
    LATEST = "latest"

    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=64, validators=[SLUG_VALIDATOR])
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="labels")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "name"], name="label_unique_per_template")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} -> v{self.version.number}"


class TemplateRelationship(models.Model):
    class Kind(models.TextChoices):
        EXTENDS = "extends"
        REFERENCES = "references"
        ALTERNATIVE = "alternative"
        FORKED_FROM = "forked_from"

    source = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="outgoing_relationships")
    target = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="incoming_relationships")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="relationship_unique"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="relationship_not_self"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.target}"


class Refinement(models.Model):
    """An LLM's proposed revision of one version's body, checked like any body before it is stored."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="refinements")
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="refinements")
    goal = models.TextField()
    model = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    proposed_template = models.TextField(blank=True, default="")
    rationale = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    applied_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["template", "-created_at"])]

    def __str__(self) -> str:
        return f"refinement #{self.pk} of {self.template.key} v{self.version.number}"


class BulkJob(models.Model):
    """One bulk operation over many templates, run by a Celery task; its items record each outcome."""

    class Operation(models.TextChoices):
        CREATE = "create"
        UPDATE_TAGS = "update_tags"
        SET_LIFECYCLE = "set_lifecycle"
        PUBLISH = "publish"
        DELETE = "delete"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIALLY_FAILED = "partially_failed"
        FAILED = "failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="bulk_jobs")
    operation = models.CharField(max_length=16, choices=Operation.choices)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # The (key, language) pairs the job writes: a second job over any of them is refused while this one runs.
    targets = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)  # items processed, failed ones included
    failed = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "status"])]
        verbose_name = "bulk job"

    def __str__(self) -> str:
        return f"{self.operation} of {self.total} ({self.status})"

    @property
    def progress(self) -> float:
        return round(self.done / self.total, 4) if self.total else 1.0


class BulkItem(models.Model):
    """One item of a bulk job. `ok` is null until processed; it is written in the item's own transaction,
    together with the item's change, so a job resumed after a crash never applies an item twice."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()
    key = models.CharField(max_length=200, blank=True, default="")
    language = models.CharField(max_length=16, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(null=True)
    error = models.JSONField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="bulk_item_index_unique")]
        ordering = ["job", "index"]

    def __str__(self) -> str:
        return f"#{self.index} {self.key}"

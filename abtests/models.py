import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate, TemplateVersion


class ABTest(models.Model):
    """Two templates (optionally pinned versions) competing for the users of `template_a` (and its node)."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"
        COMPLETED = "completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="ab_tests")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    template_a = models.ForeignKey(PromptTemplate, on_delete=models.PROTECT, related_name="ab_tests_as_a")
    template_b = models.ForeignKey(PromptTemplate, on_delete=models.PROTECT, related_name="ab_tests_as_b")
    version_a = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    version_b = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    traffic_split = models.FloatField(help_text="Share of users who get A (between 0 and 1, exclusive).")
    target_metrics = models.JSONField(default=list, help_text="Metric names; the first is the primary metric.")
    confidence_level = models.FloatField(default=0.95)
    duration_days = models.PositiveIntegerField(default=14)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(null=True, blank=True, editable=False)
    computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template_a"],
                condition=Q(status="active"),
                name="abtest_one_active_per_template",
                violation_error_message="This template already has an active A/B test: pause or complete it first.",
            ),
            models.CheckConstraint(
                condition=Q(traffic_split__gt=0) & Q(traffic_split__lt=1),
                name="abtest_split_between_0_and_1",
                violation_error_message="The traffic split (the share of A) must be between 0 and 1, exclusive.",
            ),
        ]
        ordering = ["-created_at"]
        verbose_name = "A/B test"

    def __str__(self) -> str:
        return self.name

    def is_running(self) -> bool:
        """Active and not past its expiry: only then does it route users."""
        return self.status == self.Status.ACTIVE and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def primary_metric(self) -> str:
        return self.target_metrics[0] if self.target_metrics else ""


class Assignment(models.Model):
    """A user's variant, stored at first exposure; never changes afterwards."""

    test = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="assignments")
    user_id = models.CharField(max_length=200)
    variant = models.CharField(max_length=1, choices=[("A", "A"), ("B", "B")])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["test", "user_id"], name="assignment_unique_per_user")]
        indexes = [models.Index(fields=["test", "variant"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.variant}"


class MetricEvent(models.Model):
    """One observed value of a metric for an assigned user (feedback on a prompt is one per metric)."""

    test = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="events")
    user_id = models.CharField(max_length=200)
    variant = models.CharField(max_length=1)
    metric = models.CharField(max_length=100)
    value = models.FloatField()
    # The prompt whose feedback this value came from (a plain id: generation records live above this app).
    prompt_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Feedback sent again on a prompt replaces its values instead of counting twice.
            # (NULLs are distinct: events without a prompt never collide.)
            models.UniqueConstraint(fields=["prompt_id", "metric"], name="event_once_per_prompt")
        ]
        indexes = [models.Index(fields=["test", "metric", "variant"])]

    def __str__(self) -> str:
        return f"{self.metric}={self.value} ({self.variant})"

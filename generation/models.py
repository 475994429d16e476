"""Generation records: one per prompt rendered for a caller, with the feedback it got."""

from django.db import models

from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate, TemplateVersion


class Generation(models.Model):
    """One generated prompt: what was rendered, from what, for whom; feedback lands here too."""

    id = models.UUIDField(primary_key=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="generations")
    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="generations")
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="generations")
    template_key = models.CharField(max_length=100)
    language = models.CharField(max_length=16)
    user_id = models.CharField(max_length=200, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)
    variables = models.JSONField(default=dict, blank=True)  # the variables applied to the body
    text = models.TextField()
    cache_key = models.CharField(max_length=200)
    cache_hit = models.BooleanField(default=False)
    ab_test_id = models.CharField(max_length=64, blank=True, default="")
    ab_variant = models.CharField(max_length=1, blank=True, default="")
    latency_ms = models.FloatField(default=0.0)
    # The OpenTelemetry trace of the request that generated it ("" with tracing off).
    trace_id = models.CharField(max_length=32, blank=True, default="")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(db_index=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    effectiveness_score = models.FloatField(null=True, blank=True)
    feedback_metrics = models.JSONField(default=dict, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="generation_ws_created_idx"),
            models.Index(fields=["template", "created_at"], name="generation_tpl_created_idx"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template_key} v{self.version.number} for {self.user_id or 'anonymous'}"


class PlaygroundRun(models.Model):
    """One playground run in the admin: a rendered prompt sent to the configured LLM, and what came back."""

    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="playground_runs")
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    profile_user_id = models.CharField(max_length=200, blank=True, default="")
    model = models.CharField(max_length=200)
    params = models.JSONField(default=dict, blank=True)
    prompt_excerpt = models.TextField(blank=True, default="")
    output_excerpt = models.TextField(blank=True, default="")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["template", "-created_at"], name="playground_tpl_created_idx")]

    def __str__(self) -> str:
        source = f"v{self.version.number}" if self.version_id else "unsaved body"
        return f"{self.template.key} {source} on {self.model}"

from django.db import models

from promptconfig.workspaces.models import Organization, Workspace
from templates_app.models import PromptTemplate


class ProviderVersion(models.Model):
    """One exact model version a provider answered with for a template's (provider, model).

    A new key for a (template, provider, model) that had another is drift: the provider changed the
    model under the same name (recorded as a `model_drift` event of the template).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="provider_versions")
    template = models.ForeignKey(PromptTemplate, on_delete=models.CASCADE, related_name="provider_versions")
    provider = models.CharField(max_length=32)
    model_id = models.CharField(max_length=200)
    provider_version_key = models.CharField(max_length=200)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    fingerprint_captured_at = models.DateTimeField(null=True, blank=True)
    seen_count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "workspace", "template", "provider", "model_id", "provider_version_key"],
                name="provider_version_unique",
            )
        ]
        indexes = [models.Index(fields=["template", "provider", "model_id", "-last_seen_at"])]
        ordering = ["provider", "model_id", "-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model_id}: {self.provider_version_key}"

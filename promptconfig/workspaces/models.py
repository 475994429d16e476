from django.core.validators import RegexValidator
from django.db import models

SLUG_VALIDATOR = RegexValidator(r"^[a-z0-9][a-z0-9_-]{0,99}$", "Lowercase letters, digits, '-' and '_'.")


class Organization(models.Model):
    """The tenant that owns workspaces (a company or team)."""

    slug = models.CharField(max_length=100, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    """The unit of isolation: every template, profile and test belongs to exactly one workspace."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="workspaces")
    slug = models.CharField(max_length=100, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=200)
    default_language = models.CharField(max_length=16, default="en")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ApiKey(models.Model):
    """A bearer key for one workspace. Only a SHA-256 of the key is stored; the key is shown once."""

    class Scope(models.TextChoices):
        READ = "read", "read"
        WRITE = "write", "write"
        ADMIN = "admin", "admin"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

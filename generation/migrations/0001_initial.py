"""Takes over the generation table that templates_app/migrations/0005 renamed: state only, then the indexes
get this app's names. A database made before the move keeps all its generation history."""

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    """Permissions and admin log entries of the old model follow it (they hang off its content type)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="generation", model="generation").exists():
        ContentType.objects.filter(app_label="templates_app", model="generation").update(app_label="generation")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="templates_app", model="generation").exists():
        ContentType.objects.filter(app_label="generation", model="generation").update(app_label="templates_app")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("templates_app", "0005_move_generation_out"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Generation",
                    fields=[
                        ("id", models.UUIDField(editable=False, primary_key=True, serialize=False)),
                        ("template_key", models.CharField(max_length=100)),
                        ("language", models.CharField(max_length=16)),
                        ("user_id", models.CharField(blank=True, default="", max_length=200)),
                        ("context", models.JSONField(blank=True, default=dict)),
                        ("variables", models.JSONField(blank=True, default=dict)),
                        ("text", models.TextField()),
                        ("cache_key", models.CharField(max_length=200)),
                        ("cache_hit", models.BooleanField(default=False)),
                        ("ab_test_id", models.CharField(blank=True, default="", max_length=64)),
                        ("ab_variant", models.CharField(blank=True, default="", max_length=1)),
                        ("latency_ms", models.FloatField(default=0.0)),
                        ("expires_at", models.DateTimeField()),
                        ("created_at", models.DateTimeField(db_index=True)),
                        ("rating", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("effectiveness_score", models.FloatField(blank=True, null=True)),
                        ("feedback_metrics", models.JSONField(blank=True, default=dict)),
                        ("feedback_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "template",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="generations",
                                to="templates_app.prompttemplate",
                            ),
                        ),
                        (
                            "version",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="generations",
                                to="templates_app.templateversion",
                            ),
                        ),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="generations",
                                to="workspaces.workspace",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-created_at"],
                        "indexes": [
                            models.Index(fields=["workspace", "created_at"], name="templates_a_workspa_ca05c0_idx"),
                            models.Index(fields=["template", "created_at"], name="templates_a_templat_0afd71_idx"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RenameIndex(
            model_name="generation", new_name="generation_ws_created_idx", old_name="templates_a_workspa_ca05c0_idx"
        ),
        migrations.RenameIndex(
            model_name="generation", new_name="generation_tpl_created_idx", old_name="templates_a_templat_0afd71_idx"
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]

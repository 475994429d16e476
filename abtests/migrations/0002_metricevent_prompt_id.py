"""MetricEvent keeps the prompt's id instead of a foreign key to the generation record, so that abtests never
needs the generation app (which sits above it). Every existing event keeps its prompt."""

from django.db import migrations, models
from django.db.models import F, Q


def copy_generation_to_prompt_id(apps, schema_editor):
    MetricEvent = apps.get_model("abtests", "MetricEvent")
    MetricEvent.objects.filter(generation__isnull=False).update(prompt_id=F("generation_id"))


def copy_prompt_id_to_generation(apps, schema_editor):
    MetricEvent = apps.get_model("abtests", "MetricEvent")
    Generation = apps.get_model("templates_app", "Generation")
    MetricEvent.objects.filter(prompt_id__in=Generation.objects.values("pk")).update(generation_id=F("prompt_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("abtests", "0001_initial"),
        ("templates_app", "0004_alter_templateevent_kind"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="metricevent", name="event_once_per_prompt"),
        migrations.AddField(model_name="metricevent", name="prompt_id", field=models.UUIDField(blank=True, null=True)),
        migrations.RunPython(copy_generation_to_prompt_id, copy_prompt_id_to_generation),
        migrations.RemoveField(model_name="metricevent", name="generation"),
        migrations.AddConstraint(
            model_name="metricevent",
            constraint=models.UniqueConstraint(
                condition=Q(prompt_id__isnull=False), fields=("prompt_id", "metric"), name="event_once_per_prompt"
            ),
        ),
    ]

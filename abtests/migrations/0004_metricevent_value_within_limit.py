"""Metric values beyond ±1e12 (accepted before the API refused them) are brought to the limit: the analysis sums
values and their squares, and one value of 1e308 made every analysis of its test fail."""

from django.db import migrations

LIMIT = 1e12


def clamp(apps, schema_editor):
    events = apps.get_model("abtests", "MetricEvent").objects
    events.filter(value__gt=LIMIT).update(value=LIMIT)
    events.filter(value__lt=-LIMIT).update(value=-LIMIT)


class Migration(migrations.Migration):
    dependencies = [("abtests", "0003_metricevent_unique_prompt_metric")]

    operations = [migrations.RunPython(clamp, migrations.RunPython.noop)]

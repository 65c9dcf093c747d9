"""Every five minutes, fail inbound attachments stuck "fetching" (a killed or lost fetch job)."""

from django.db import migrations

NAME = "relay.media_sweep_stale"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "channels_app.tasks.sweep_attachments",
            "schedule_type": "I",
            "minutes": 5,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0003_sender_pace"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]

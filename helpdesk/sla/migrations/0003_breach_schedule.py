"""The breach job runs every minute (django-q2's finest interval). A minute is small against the
shortest sensible target (a 15-minute first response warns at 12), and the job only touches rows
whose warning or deadline has passed, through the two partial indexes, so a run is cheap."""

from django.db import migrations

NAME = "relay.sla_check_deadlines"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "helpdesk.sla.tasks.check_deadlines",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0002_policies_calendars_events"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]

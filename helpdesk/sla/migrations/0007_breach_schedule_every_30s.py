"""A second breach-check schedule, half a minute after the first.

django-q2's scheduler looks for due schedules every 30 s and a schedule's finest interval is a
minute, so with one schedule a deadline could wait up to 90 s to be recorded. Two one-minute
schedules offset by 30 s give a check on every scheduler pass: a breach is recorded about
30 s after its deadline at worst. The job is safe to run twice or concurrently."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

FIRST = "relay.sla_check_deadlines"
SECOND = "relay.sla_check_deadlines_half"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    first = Schedule.objects.filter(name=FIRST).first()
    base = first.next_run if first is not None and first.next_run else timezone.now()
    Schedule.objects.update_or_create(
        name=SECOND,
        defaults={
            "func": "helpdesk.sla.tasks.check_deadlines",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": base + timedelta(seconds=30),
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SECOND).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0006_warn_percent_label"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]

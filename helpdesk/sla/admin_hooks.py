"""Admin hooks other apps' admins use so SLA policies stay right when their rows go away."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from helpdesk.sla.recompute import sla_rule_inputs_deleting


class DeletionReevaluatesSLAMixin:
    """Deleting teams or labels deletes the SLA rules that named them: queue the policy
    re-evaluation of open conversations (after commit) when any did."""

    sla_rule_field = ""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        sla_rule_inputs_deleting(**{self.sla_rule_field: [obj.pk]})
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        sla_rule_inputs_deleting(
            **{self.sla_rule_field: list(queryset.values_list("pk", flat=True))}
        )
        super().delete_queryset(request, queryset)  # type: ignore[misc]

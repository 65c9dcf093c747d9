"""Sign-in and sign-out for agents."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from helpdesk.console.services import agent_set_availability
from helpdesk.core.signin_throttle import ThrottledAuthenticationForm


class AgentAuthenticationForm(ThrottledAuthenticationForm):
    """Only people with an agent profile may use the console (managers use it as agents)."""

    error_messages = {
        **ThrottledAuthenticationForm.error_messages,
        "not_an_agent": _("This account is not an agent account."),
        # Said to someone who knows the password only: a `createsuperuser` account lands here.
        "not_an_agent_hint": _(
            "An administrator can make it one: add an agent profile to the user in admin, "
            "or run: manage.py create_agent --existing %(username)s"
        ),
    }

    def confirm_login_allowed(self, user: object) -> None:
        super().confirm_login_allowed(user)  # type: ignore[arg-type]
        if not hasattr(user, "agent_profile"):
            raise ValidationError(
                [
                    ValidationError(self.error_messages["not_an_agent"], code="not_an_agent"),
                    ValidationError(
                        self.error_messages["not_an_agent_hint"],
                        code="not_an_agent",
                        params={"username": user.get_username()},  # type: ignore[attr-defined]
                    ),
                ]
            )


class ConsoleLoginView(LoginView):
    template_name = "console/login.html"
    authentication_form = AgentAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        agent_set_availability(user=form.get_user(), availability="online")
        return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and hasattr(request.user, "agent_profile"):
        agent_set_availability(user=request.user, availability="offline")
    logout(request)
    return redirect("console:login")

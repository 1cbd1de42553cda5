"""The page where a user creates and revokes personal REST API tokens (/<lang>/accounts/tokens/)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from .models import ApiToken

MAX_ACTIVE_TOKENS = 10


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict:
        data = super().clean()
        if ApiToken.objects.active().filter(user=self.user).count() >= MAX_ACTIVE_TOKENS:
            raise forms.ValidationError(
                _("You already have %(max)d active tokens: revoke one you no longer use first.")
                % {"max": MAX_ACTIVE_TOKENS}
            )
        return data


def _page(request: HttpRequest, form: ApiTokenForm, secret: str = "", status: int = 200) -> HttpResponse:
    context = {"form": form, "tokens": ApiToken.objects.filter(user=request.user), "secret": secret}
    return render(request, "partners/tokens.html", context, status=status)


@login_required
@require_safe
def token_list(request: HttpRequest) -> HttpResponse:
    return _page(request, ApiTokenForm(user=request.user))


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, form, status=400)
    token, secret = ApiToken.create_for(request.user, form.cleaned_data["name"])
    messages.success(
        request, _("Token “%(name)s” created. Copy it now: it will not be shown again.") % {"name": token.name}
    )
    # Rendered, not redirected: the secret exists only in this response, never in a session or a URL.
    return _page(request, ApiTokenForm(user=request.user), secret=secret, status=201)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("tokens:list")


app_name = "tokens"
urlpatterns = [
    path("", token_list, name="list"),
    path("new/", token_create, name="create"),
    path("<int:pk>/revoke/", token_revoke, name="revoke"),
]

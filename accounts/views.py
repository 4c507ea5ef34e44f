from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.forms import LoginForm, PreferencesForm


def _safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(
        request, request.POST.get("next") or request.GET.get("next"), reverse("home")
    )
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.login_attempt(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except services.LoginRefused as refused:
            form.add_error(None, refused.message)
            status = refused.status
        else:
            return HttpResponseRedirect(next_url)
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@login_not_required
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.logout_perform(request=request)
    messages.info(request, _("You have been logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_not_required
@require_POST
def preferences_view(request: HttpRequest) -> HttpResponse:
    """Header menus post here. Logged-in users keep the choice on their account;
    anonymous visitors (login page) keep it in a cookie."""
    form = PreferencesForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    language = data.get("language") or None
    theme = data.get("theme") or None
    response = redirect(_safe_next(request, data.get("next"), reverse("home")))
    try:
        if request.user.is_authenticated:
            services.preferences_update(user=request.user, language=language, theme=theme)
        else:
            services.preferences_validate(language=language, theme=theme)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return response
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", max_age=31536000
        )
    if theme:
        response.set_cookie(settings.THEME_COOKIE_NAME, theme, samesite="Lax", max_age=31536000)
    return response


@require_GET
def profile_view(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.audit_record(
            action=services.AuditEvent.Action.PASSWORD_CHANGED,
            actor=self.request.user,
            request=self.request,
        )
        messages.success(self.request, _("Your password has been changed."))
        return response

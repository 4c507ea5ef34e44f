from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.utils import translation


class UserPreferencesMiddleware:
    """Speak the logged-in user's stored language, whatever the browser says.

    Runs after LocaleMiddleware (which covers anonymous visitors through the
    language cookie and Accept-Language) and after authentication.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = None
        if user is not None and user.is_authenticated:
            language = user.preferred_language
        # An API client may ask for one response in another language.
        asked = request.GET.get("lang")
        if asked and request.path_info.startswith("/api/") and asked in dict(settings.LANGUAGES):
            language = asked
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Every page needs a login unless its view is marked `login_not_required`.

    The JSON API is left to its own session authentication, which answers 401
    instead of redirecting to the login page.
    """

    api_prefix = "/api/"

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(self.api_prefix):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

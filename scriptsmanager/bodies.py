"""How large a request body may be, decided from its headers alone.

Used by the protocol layer (scriptsmanager.daphne_server) before the body is
read: a script's interface under /interfaces/<token>/app/ takes up to
INTERFACE_BODY_MAX_BYTES, every other route REQUEST_BODY_MAX_BYTES, and a
sender who is neither signed in nor a script interface's own frame
ANONYMOUS_BODY_MAX_BYTES.
"""

import re
from dataclasses import dataclass, replace
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext as _

_INTERFACE_APP = re.compile(rb"/interfaces/(?P<segment>[^/?]+)/app(?:[/?]|$)")


@dataclass(frozen=True)
class BodyLimit:
    """`most` is the route's limit for a known sender, `anonymous` for anyone
    else; `applied` the one that holds for this request (bytes)."""

    anonymous: int
    most: int
    applied: int

    def as_anonymous(self) -> "BodyLimit":
        return replace(self, applied=self.anonymous)


def body_limit_for_route(target: bytes) -> BodyLimit:
    """The limits of the route of `target` (the request line's path and query)."""
    path = target.split(b"?", 1)[0]
    most = (
        settings.INTERFACE_BODY_MAX_BYTES
        if _INTERFACE_APP.match(path)
        else settings.REQUEST_BODY_MAX_BYTES
    )
    return BodyLimit(
        anonymous=min(settings.ANONYMOUS_BODY_MAX_BYTES, most), most=most, applied=most
    )


def session_is_signed_in(session_key: str) -> bool:
    """True when `session_key` names a live session with a signed-in user."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    return store.get(SESSION_KEY) is not None


def body_limit_for_sender(
    limit: BodyLimit, *, target: bytes, cookies: dict[bytes, bytes]
) -> BodyLimit:
    """`limit` applied to this sender: signed in (by the session cookie), or a
    script interface's frame carrying its owner's proof, get `most`."""
    session_key = cookies.get(settings.SESSION_COOKIE_NAME.encode(), b"").decode("latin-1")
    if session_is_signed_in(session_key):
        return replace(limit, applied=limit.most)
    match = _INTERFACE_APP.match(target.split(b"?", 1)[0])
    if match is not None:
        from execution.selectors import interface_frame_proof_holds

        if interface_frame_proof_holds(match["segment"].decode("latin-1")):
            return replace(limit, applied=limit.most)
    return limit.as_anonymous()


def body_refusal_message(limit: int, *, language: str) -> str:
    """The 413 answer's message in the sender's language (a language code or
    an Accept-Language header)."""
    from django.utils.translation.trans_real import parse_accept_lang_header

    chosen = settings.LANGUAGE_CODE
    supported = {code for code, _name in settings.LANGUAGES}
    for candidate in [language, *(code for code, _q in parse_accept_lang_header(language))]:
        code = candidate.strip().lower().split("-")[0]
        if code in supported:
            chosen = code
            break
    with translation.override(chosen):
        return _("The request body is larger than the %(size)s allowed here.") % {
            "size": filesizeformat(limit)
        }

"""Proofs that let a script interface's sandboxed frame in (DESIGN §5).

The frame has an opaque origin, so its own requests (fetch, forms, WebSockets)
carry no cookies: the URL is all they carry. The per-launch token alone would
let anyone holding a copy of the URL in; so the frame is served under
`/interfaces/<token>.<proof>/app/`, where the proof is issued to one signed-in
session of the owner (or of an admin) when that session opens the frame, and
holds only while that session lives. The token seen in exports, logs or the
page's address is useless without a live session of the owner.
"""

import base64
import hashlib
import hmac
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

from accounts.levels import Level, user_has_level
from execution.models import InterfaceProof, ScriptProcess

PROOF_SEPARATOR = "."


def _digest(proof: str) -> str:
    return hashlib.sha256(proof.encode()).hexdigest()


def interface_proof_issue(*, process: ScriptProcess, user, session_key: str) -> str:
    """The proof of `user`'s session `session_key` for this interface (the same
    one every time for the same session), recorded so it can be checked."""
    mac = hmac.new(
        settings.SECRET_KEY.encode(),
        f"interface-proof:{process.tab_session_id}:{session_key}".encode(),
        hashlib.sha256,
    ).digest()
    proof = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    InterfaceProof.objects.get_or_create(
        digest=_digest(proof),
        defaults={"process": process, "user": user, "session_key": session_key},
    )
    return proof


def interface_segment_split(segment: str) -> tuple[str, str | None]:
    """("<token>", "<proof>") from the URL segment "<token>.<proof>"; the proof
    is None when the segment is the token alone."""
    token, _, proof = segment.partition(PROOF_SEPARATOR)
    return token, proof or None


def _session_holds(session_key: str, user) -> bool:
    """As django.contrib.auth.get_user decides: the session is live, is `user`'s,
    and was opened with their current password."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    if session.get(SESSION_KEY) != str(user.pk) or not user.is_active:
        return False
    return constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())


def interface_proof_user_id(*, process: ScriptProcess, proof: str) -> int | None:
    """The user whose live session `proof` was issued to for `process`, when they
    may still use it (its owner or an admin); None otherwise."""
    row = (
        InterfaceProof.objects.select_related("user")
        .filter(digest=_digest(proof), process=process)
        .first()
    )
    if row is None or not _session_holds(row.session_key, row.user):
        return None
    if row.user_id != process.user_id and not user_has_level(row.user, Level.ADMIN):
        return None
    return row.user_id


def interface_proof_for_token(*, token: str, user, session_key: str) -> str | None:
    """The proof for `user`'s session on the live interface `token`; None when
    there is no such interface."""
    process = (
        ScriptProcess.objects.filter(tab_session_id=token, has_interface=True)
        .exclude(status=ScriptProcess.Status.ENDED)
        .first()
    )
    if process is None or not session_key:
        return None
    return interface_proof_issue(process=process, user=user, session_key=session_key)


async def interface_proof_for_session(token: str, user, session_key: str) -> str | None:
    """The proxy's `proof_issue`: interface_proof_for_token from async code."""
    return await database_sync_to_async(interface_proof_for_token)(
        token=token, user=user, session_key=session_key
    )

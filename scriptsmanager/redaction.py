"""Interface tokens out of logs.

`/interfaces/<token>/...` carries the per-launch secret of a script's
interface. Logs keep a short, non-reversible id instead (the first 8 hex
digits of the token's SHA-256), enough to tell one interface's lines from
another's. An id already in place (a "~" first) is left as it is: a record
passes the filter of every handler in turn.
"""

import hashlib
import logging
import re

_INTERFACE_SEGMENT = re.compile(r"(/interfaces/)(?!~)([^/?#\s\"']+)")


def _short_id(match: re.Match) -> str:
    token = match[2].split(".", 1)[0]
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{match[1]}~{digest}"


def interface_tokens_redact(text: str) -> str:
    """`text` with every /interfaces/<token> replaced by /interfaces/~<id>."""
    if "/interfaces/" not in text:
        return text
    return _INTERFACE_SEGMENT.sub(_short_id, text)


class RedactInterfaceTokens(logging.Filter):
    """A logging filter: the record's message with its interface tokens redacted
    (Django logs "Not Found: /interfaces/<token>/" and the like)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = interface_tokens_redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True

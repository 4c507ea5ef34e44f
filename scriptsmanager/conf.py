"""Strict reading of settings from the environment (or `.env`).

Every value goes through django-environ; a value that cannot be parsed stops
start-up with a message naming the variable, instead of surfacing later as a
confusing runtime error.
"""

import ipaddress
import os
import re
import secrets
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def _fail(name: str, raw: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Setting {name}={raw!r} is invalid: expected {expected}.")


def env_str(name: str, default: str) -> str:
    return env.str(name, default=default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off", ""}:
        raise _fail(name, raw, "true or false")
    return env.bool(name, default=default)


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        value = default
    else:
        try:
            value = env.int(name)
        except ValueError:
            raise _fail(name, raw, "a whole number") from None
    if minimum is not None and value < minimum:
        raise _fail(name, str(value), f"a number of at least {minimum}")
    if maximum is not None and value > maximum:
        raise _fail(name, str(value), f"a number of at most {maximum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _fail(name, raw, "a number") from None
    if minimum is not None and value < minimum:
        raise _fail(name, raw, f"a number of at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[str]:
    """Comma-separated IP addresses or CIDR networks, normalised ("10.0.0.0/8")."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise _fail(name, item, "IP addresses or networks such as 10.0.0.0/8") from None
    return networks


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.str(name, default=default).strip().lower()
    if value not in choices:
        raise _fail(name, value, "one of " + ", ".join(choices))
    return value


def env_clock(name: str, default: str) -> str:
    value = env.str(name, default=default).strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise _fail(name, value, "a time of day as HH:MM (24-hour clock)")
    return f"{int(match[1]):02d}:{match[2]}"


def env_path(name: str, default: Path, *, base: Path) -> Path:
    raw = os.environ.get(name)
    path = Path(raw).expanduser() if raw else default
    if not path.is_absolute():
        path = base / path
    return path.resolve()


def secret_key_load(data_dir: Path) -> str:
    """Return SECRET_KEY from the environment, or from `data_dir/secret_key`.

    The file is created on first use with a fresh random key, readable by the
    owner only. Several processes may start at once (web workers, the q2
    cluster): O_EXCL makes exactly one of them write the key, and the others
    read what it wrote.
    """
    configured = os.environ.get("SECRET_KEY", "").strip()
    if configured:
        return configured
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        # mkstemp: a name of its own per caller (threads included), mode 600 from the start.
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.", suffix=".tmp")
        try:
            os.write(fd, secrets.token_urlsafe(64).encode())
            os.close(fd)
            os.link(tmp, key_file)
        except FileExistsError:
            pass  # another process got there first; its key wins
        finally:
            os.unlink(tmp)
    key = key_file.read_text().strip()
    if len(key) < 32:
        raise ImproperlyConfigured(
            f"{key_file} holds a key that is too short; delete it to regenerate."
        )
    return key

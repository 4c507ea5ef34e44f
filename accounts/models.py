from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts.levels import Level, level_at_least


class Theme(models.TextChoices):
    LIGHT = "light", _("Light")
    DARK = "dark", _("Dark")


class Language(models.TextChoices):
    EN = "en", "English"
    ES = "es", "Español"
    IT = "it", "Italiano"
    FR = "fr", "Français"


class ScriptsManagerUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> "User":
        # Usernames are unique regardless of case, so "Admin" logs in as "admin".
        return self.get(username__iexact=username)

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("user_level", Level.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person using the manager. `is_staff`/`is_superuser` follow `user_level`."""

    email = models.EmailField(_("email address"), unique=True)
    user_level = models.CharField(
        _("user level"), max_length=20, choices=Level.choices, default=Level.VIEWER
    )
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=5,
        choices=Language.choices,
        default=settings.LANGUAGE_CODE,
    )
    preferred_theme = models.CharField(
        _("preferred theme"), max_length=10, choices=Theme.choices, default=Theme.LIGHT
    )

    objects = ScriptsManagerUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message=_("A user with that username already exists."),
            ),
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message=_("A user with that email address already exists."),
            ),
            models.CheckConstraint(
                condition=models.Q(user_level__in=Level.values),
                name="accounts_user_level_known",
                violation_error_message=_("Unknown user level."),
            ),
        ]

    def save(self, *args, **kwargs):
        # Admin-level users manage users in the Django admin, so the level is
        # the single source of truth for staff rights.
        is_admin = self.user_level == Level.ADMIN
        self.is_staff = is_admin
        self.is_superuser = is_admin
        self.email = (self.email or "").strip().lower()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "user_level" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff", "is_superuser"}
        super().save(*args, **kwargs)

    def has_level(self, required: str) -> bool:
        return self.is_active and level_at_least(self.user_level, required)


class AuditEvent(models.Model):
    """One security-relevant action. Also appended to `data/logs/audit/`."""

    class Action(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGIN_THROTTLED = "login_throttled", _("Login refused (too many failures)")
        LOGOUT = "logout", _("Logout")
        USER_CREATED = "user_created", _("User created")
        USER_UPDATED = "user_updated", _("User updated")
        USER_LEVEL_CHANGED = "user_level_changed", _("User level changed")
        USER_DEACTIVATED = "user_deactivated", _("User deactivated")
        USER_ACTIVATED = "user_activated", _("User activated")
        USER_DELETED = "user_deleted", _("User deleted")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password reset by an administrator")
        METADATA_EDITED = "metadata_edited", _("Script metadata edited")
        DOCS_EDITED = "docs_edited", _("Script documentation edited")
        ENVIRONMENT_CHANGED = "environment_changed", _("Group environment changed")
        EXECUTION_STARTED = "execution_started", _("Script started")
        EXECUTION_STOPPED = "execution_stopped", _("Script stopped")
        LOG_ACCESS_REFUSED = "log_access_refused", _("Access to another user's log refused")
        LOGS_DELETED = "logs_deleted", _("A user's logs deleted by an administrator")
        DATA_ACCESS_REFUSED = "data_access_refused", _("Access to another user's data refused")
        PROJECT_CREATED = "project_created", _("Project created")
        PROJECT_DELETED = "project_deleted", _("Project deleted")
        USER_DATA_RESET = "user_data_reset", _("A user's data reset by an administrator")
        BACKUP_CREATED = "backup_created", _("System backup created")
        BACKUP_FAILED = "backup_failed", _("System backup failed")
        BACKUP_DELETED = "backup_deleted", _("System backup deleted")
        BACKUP_RESTORED = "backup_restored", _("System backup restored")

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text: the account may not exist (failed login) or be deleted later.
    actor_username = models.CharField(_("username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    target_type = models.CharField(_("target type"), max_length=40, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["action", "actor_username", "created_at"]),
            models.Index(fields=["action", "ip_address", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"


class LoginThrottle(models.Model):
    """Password checks counted for one key, reserved before the check.

    A key is an (account, address) pair, an address, or an account (any
    address); `accounts.throttle` reads and writes these rows under a row lock.
    """

    class Scope(models.TextChoices):
        PAIR = "pair", _("Account from one address")
        ADDRESS = "address", _("Address")
        ACCOUNT = "account", _("Account")

    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    # Empty when the scope does not use it; never NULL, so the unique key holds.
    address = models.CharField(_("address"), max_length=64, blank=True)
    username = models.CharField(_("username"), max_length=150, blank=True)
    failures = models.PositiveIntegerField(_("checks in the window"), default=0)
    window_started_at = models.DateTimeField(_("window start"))
    # Account scope: no check before this time (the back-off), except from a known pair.
    blocked_until = models.DateTimeField(_("slowed until"), null=True, blank=True)
    # Pair scope: the last successful login of this account from this address.
    succeeded_at = models.DateTimeField(_("last success"), null=True, blank=True)
    # The audit event counting the refusals of the current burst.
    burst = models.ForeignKey(
        AuditEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("login throttle")
        verbose_name_plural = _("login throttles")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "address", "username"], name="accounts_login_throttle_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.address} {self.username}".strip()

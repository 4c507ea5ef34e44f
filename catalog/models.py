from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.levels import Level, level_at_least

PARAMETER_TYPES = ("string", "text", "int", "float", "bool", "select", "path", "file", "password")


class ScriptGroup(models.Model):
    """A folder under SCRIPT_GROUPS_DIR. `name` and `description` are translated
    (modeltranslation adds `_en`, `_es`, `_it`, `_fr` columns)."""

    directory_name = models.CharField(_("folder"), max_length=255, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    icon = models.CharField(_("icon"), max_length=50, default="folder")
    category = models.CharField(_("category"), max_length=100, blank=True)
    required_level = models.CharField(
        _("required level"), max_length=20, choices=Level.choices, default=Level.VIEWER
    )
    # A conda environment name, or the path of a virtualenv; blank: the manager's Python.
    conda_environment = models.CharField(_("environment"), max_length=255, blank=True)
    execution_timeout = models.PositiveIntegerField(
        _("execution timeout (s)"), null=True, blank=True
    )
    auto_discovery = models.BooleanField(_("auto discovery"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    # [{"file": "metadata.json", "line": 3, "message": "...", "severity": "error"|"warning"}]
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # Fields a person changed in the UI: re-parsing never overwrites them.
    edited_fields = models.JSONField(_("edited fields"), default=list, blank=True)
    source_signature = models.CharField(max_length=64, blank=True)
    discovered_at = models.DateTimeField(_("discovered"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("script group")
        verbose_name_plural = _("script groups")
        ordering = ["directory_name"]

    def __str__(self) -> str:
        return self.name or self.directory_name

    @property
    def path(self):
        return settings.SCRIPT_GROUPS_DIR / self.directory_name

    def visible_to(self, user) -> bool:
        return (
            self.is_active
            and user.is_active
            and level_at_least(user.user_level, self.required_level)
        )


class Script(models.Model):
    """One `*.py` file of a group. `display_name` and `description` are translated."""

    group = models.ForeignKey(ScriptGroup, on_delete=models.CASCADE, related_name="scripts")
    filename = models.CharField(_("file"), max_length=255)
    display_name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # {"en": "docs/x.md", "es": "docs/x_es.md"} from metadata; missing languages follow
    # the docs/<stem>_<lang>.md convention.
    doc_paths = models.JSONField(_("documentation files"), default=dict, blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    required_level = models.CharField(
        _("required level"), max_length=20, choices=Level.choices, default=Level.VIEWER
    )
    parameters = models.JSONField(_("parameters"), default=list, blank=True)
    execution_timeout = models.PositiveIntegerField(
        _("execution timeout (s)"), null=True, blank=True
    )
    flask_port = models.PositiveIntegerField(_("preferred port"), null=True, blank=True)
    interface = models.BooleanField(_("has a web interface"), default=True)
    auto_open_interface = models.BooleanField(_("open the interface on start"), default=True)
    conda_environment = models.CharField(
        _("environment"), max_length=255, blank=True, help_text=_("Blank: the group's environment.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    edited_fields = models.JSONField(_("edited fields"), default=list, blank=True)
    source_signature = models.CharField(max_length=64, blank=True)
    last_modified = models.DateTimeField(_("file modified"), null=True, blank=True)
    discovered_at = models.DateTimeField(_("discovered"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("script")
        verbose_name_plural = _("scripts")
        ordering = ["group__directory_name", "filename"]
        constraints = [
            models.UniqueConstraint(fields=["group", "filename"], name="catalog_script_unique_file")
        ]

    def __str__(self) -> str:
        return self.display_name or self.filename

    @property
    def stem(self) -> str:
        return self.filename.removesuffix(".py")

    @property
    def path(self):
        return self.group.path / self.filename

    @property
    def blocking_errors(self) -> list[dict]:
        return [e for e in self.errors if e.get("severity", "error") == "error"]

    @property
    def effective_environment(self) -> str:
        return self.conda_environment or self.group.conda_environment

    @property
    def effective_timeout(self) -> int | None:
        return self.execution_timeout or self.group.execution_timeout

    def visible_to(self, user) -> bool:
        return (
            self.is_active
            and self.group.visible_to(user)
            and level_at_least(user.user_level, self.required_level)
        )

    def is_runnable_by(self, user) -> bool:
        """Visible, free of blocking errors, and the user is an operator or above."""
        return (
            self.visible_to(user)
            and not self.blocking_errors
            and level_at_least(user.user_level, Level.OPERATOR)
        )


class UserScriptTags(models.Model):
    """A user's personal tags on one script."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="user_tags")
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("personal tags")
        verbose_name_plural = _("personal tags")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "script"], name="catalog_user_script_tags_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.script_id}: {', '.join(self.tags)}"


class CondaEnvironment(models.Model):
    """A Python environment scripts can run in, found by conda detection."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    path = models.CharField(_("path"), max_length=1024)
    python_path = models.CharField(_("interpreter"), max_length=1024, blank=True)
    python_version = models.CharField(_("Python version"), max_length=20, blank=True)
    is_available = models.BooleanField(_("available"), default=True)
    detected_at = models.DateTimeField(_("detected"), auto_now_add=True)
    last_verified = models.DateTimeField(_("last verified"), null=True, blank=True)

    class Meta:
        verbose_name = _("conda environment")
        verbose_name_plural = _("conda environments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

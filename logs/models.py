import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExecutionLog(models.Model):
    """One run of one script: the specification's `execution_logs` row.

    Names are kept as text next to the foreign keys so history stays readable
    when a user, project or script is deleted.
    """

    class Status(models.TextChoices):
        STARTING = "starting", _("Starting")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        TERMINATED = "terminated", _("Terminated")
        LOST = "lost", _("Lost")

    FINAL = (Status.COMPLETED, Status.FAILED, Status.TERMINATED, Status.LOST)

    execution_uuid = models.UUIDField(
        _("execution"), default=uuid.uuid4, unique=True, editable=False
    )
    script = models.ForeignKey(
        "catalog.Script", on_delete=models.SET_NULL, null=True, related_name="executions"
    )
    script_name = models.CharField(_("script"), max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="executions"
    )
    username = models.CharField(_("user"), max_length=150)
    project = models.ForeignKey(
        "projects.UserProject", on_delete=models.SET_NULL, null=True, related_name="executions"
    )
    project_name = models.CharField(_("project"), max_length=100)
    session_id = models.CharField(_("interface session"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.STARTING
    )
    stop_reason = models.CharField(_("stop reason"), max_length=20, blank=True)
    start_time = models.DateTimeField(_("start"), auto_now_add=True, db_index=True)
    end_time = models.DateTimeField(_("end"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duration (s)"), null=True, blank=True)
    output = models.TextField(_("output"), blank=True)
    error_output = models.TextField(_("errors"), blank=True)
    debug_output = models.TextField(_("debug"), blank=True)
    exit_code = models.IntegerField(_("exit code"), null=True, blank=True)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    conda_environment = models.CharField(_("environment"), max_length=255, blank=True)
    python_executable = models.CharField(_("interpreter"), max_length=1024, blank=True)
    flask_port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    log_level = models.CharField(max_length=10, default="INFO")
    tags = models.CharField(max_length=500, blank=True)
    # Where the child's own output went (relative to LOGS_DIR).
    stdout_path = models.CharField(max_length=500, blank=True)
    stderr_path = models.CharField(max_length=500, blank=True)
    output_truncated = models.BooleanField(default=False)
    # The owner's own bookmark and note on this run.
    bookmarked = models.BooleanField(_("bookmarked"), default=False)
    note = models.TextField(_("note"), blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("execution log")
        verbose_name_plural = _("execution logs")
        ordering = ["-start_time", "-id"]
        indexes = [models.Index(fields=["user", "-start_time"]), models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.script_name} {self.execution_uuid}"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class LogFilterPreset(models.Model):
    """A named set of log-list filters a user saved for reuse."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    filters = models.JSONField(_("filters"), default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("log filter preset")
        verbose_name_plural = _("log filter presets")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="logs_unique_preset_name")
        ]

    def __str__(self) -> str:
        return self.name

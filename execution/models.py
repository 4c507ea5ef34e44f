from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PortAllocation(models.Model):
    """A port of PORT_RANGE held for one execution. At most one live row per port
    (a partial unique index), so two launches can never hold the same port."""

    class Status(models.TextChoices):
        ALLOCATED = "allocated", _("Allocated")
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")

    port_number = models.PositiveIntegerField(_("port"))
    script = models.ForeignKey(
        "catalog.Script", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    project = models.ForeignKey(
        "projects.UserProject", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    execution = models.ForeignKey(
        "logs.ExecutionLog", on_delete=models.SET_NULL, null=True, related_name="ports"
    )
    process_id = models.PositiveIntegerField(_("process"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ALLOCATED
    )
    allocated_at = models.DateTimeField(_("allocated"), auto_now_add=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        verbose_name = _("port allocation")
        verbose_name_plural = _("port allocations")
        ordering = ["-allocated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["port_number"],
                condition=~Q(status="released"),
                name="execution_one_live_allocation_per_port",
            )
        ]

    def __str__(self) -> str:
        return f"{self.port_number} ({self.status})"


class ScriptProcess(models.Model):
    """The live side of an execution: the runner process, its interface session
    and heartbeats. `runner_pid` + `runner_started` identify the runner even
    after a manager restart (a reused PID has another start time)."""

    class Status(models.TextChoices):
        STARTING = "starting", _("Starting")
        RUNNING = "running", _("Running")
        STOPPING = "stopping", _("Stopping")
        ENDED = "ended", _("Ended")

    class StopReason(models.TextChoices):
        TAB_CLOSED = "tab_closed", _("Tab closed")
        IDLE = "idle", _("Idle")
        TIMEOUT = "timeout", _("Timeout")
        USER = "user", _("Stopped by the user")
        ADMIN = "admin", _("Stopped by an administrator")
        LOST = "lost", _("Lost")
        EXITED = "exited", _("Exited")
        FAILED_START = "failed_start", _("Failed to start")
        # The runner stopped the run when its output passed SCRIPT_OUTPUT_LIMIT_MB.
        OUTPUT_LIMIT = "output_limit", _("Output limit")

    execution = models.OneToOneField(
        "logs.ExecutionLog", on_delete=models.CASCADE, related_name="process"
    )
    script = models.ForeignKey(
        "catalog.Script", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    runner_pid = models.PositiveIntegerField(null=True, blank=True)
    runner_started = models.FloatField(null=True, blank=True)
    script_pid = models.PositiveIntegerField(null=True, blank=True)
    flask_port = models.PositiveIntegerField(null=True, blank=True)
    has_interface = models.BooleanField(default=True)
    # The unguessable per-launch token in the interface URL; it dies with the interface.
    tab_session_id = models.CharField(max_length=64, unique=True)
    exit_file = models.CharField(max_length=1024)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTING)
    stop_reason = models.CharField(max_length=20, choices=StopReason.choices, blank=True)
    stop_requested_by = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    # Any heartbeat from an open tab, and the last one sent while a person was active.
    last_ping = models.DateTimeField(null=True, blank=True)
    last_activity = models.DateTimeField(null=True, blank=True)
    tab_closed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("script process")
        verbose_name_plural = _("script processes")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.execution_id} pid={self.runner_pid} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in (self.Status.STARTING, self.Status.RUNNING, self.Status.STOPPING)


class LaunchLock(models.Model):
    """One row, locked (SELECT ... FOR UPDATE) by every launch while it counts
    the live runs and creates its own: launches in any worker process then
    check and take the run limits one at a time."""

    class Meta:
        verbose_name = _("launch lock")
        verbose_name_plural = _("launch locks")

    def __str__(self) -> str:
        return f"launch lock {self.pk}"


class InterfaceProof(models.Model):
    """What lets a script interface's sandboxed frame in: its requests carry no
    cookies, so the frame's URL carries a proof issued to one signed-in session
    of the owner (or of an admin). It holds only while that session lives."""

    process = models.ForeignKey(ScriptProcess, on_delete=models.CASCADE, related_name="proofs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the proof: the proof itself is not stored.
    digest = models.CharField(max_length=64, unique=True)
    session_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("interface proof")
        verbose_name_plural = _("interface proofs")

    def __str__(self) -> str:
        return f"{self.process_id} for user {self.user_id}"


class OpenWebSocket(models.Model):
    """One open WebSocket (live logs or a proxied interface) of one user, held by
    the web worker `pid` on `host` (started at `pid_started`, so a reused pid of
    a crashed worker does not keep its sockets counted)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    pid_started = models.FloatField()
    opened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("open WebSocket")
        verbose_name_plural = _("open WebSockets")
        indexes = [models.Index(fields=["user", "id"])]

    def __str__(self) -> str:
        return f"user {self.user_id} on {self.host}:{self.pid}"

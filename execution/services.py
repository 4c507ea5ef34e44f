"""Starting, stopping and finishing script executions.

Every script runs under `execution/runner.py`, a small supervisor that owns the
script's whole process tree (it is a child subreaper), enforces the timeout and
resource limits, and writes an exit file when everything has ended. The
manager keeps only the runner's PID and start time, so any worker (or a
restarted manager) can stop it or pick up its result.
"""

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psutil
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import AuditEvent
from accounts.services import audit_record
from catalog.conda import EnvironmentUnavailable, environment_resolve
from catalog.models import Script
from execution.models import LaunchLock, PortAllocation, ScriptProcess
from execution.parameters import parameters_argv, parameters_masked, parameters_validate
from execution.ports import PortsExhausted, port_allocate, port_release
from logs.models import ExecutionLog
from logs.services import log_record_write, storage_used
from projects.models import UserProject
from projects.services import project_data_dir_ensure, project_ensure_default, user_logs_dir

logger = logging.getLogger(__name__)

RUNNER = Path(__file__).resolve().parent / "runner.py"
# Never handed to scripts: they must not reach the manager's database or secrets.
PRIVATE_ENVIRONMENT = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "ADMIN_PASSWORD",
    "DJANGO_SETTINGS_MODULE",
)
LIVE = (ScriptProcess.Status.STARTING, ScriptProcess.Status.RUNNING, ScriptProcess.Status.STOPPING)
# A launch needs far less than this between creating its rows and starting its
# runner (or taking a port and starting it): older rows without a runner, and
# ports without a live run, were left by a worker that died meanwhile.
ORPHAN_AGE = timedelta(seconds=60)


class LaunchRefused(Exception):
    """A launch that cannot happen; `status` is the HTTP answer (429, 503...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Launch:
    execution: ExecutionLog
    process: ScriptProcess


def interface_page_url(process: ScriptProcess) -> str:
    return f"/interfaces/{process.tab_session_id}/"


def interface_app_url(process: ScriptProcess) -> str:
    if settings.INTERFACE_ACCESS == "direct":
        return f"http://127.0.0.1:{process.flask_port}/"
    return f"/interfaces/{process.tab_session_id}/app/"


def _log_paths(execution: ExecutionLog, user) -> tuple[Path, Path, Path]:
    day = timezone.localdate().isoformat()
    folder = user_logs_dir(user) / day
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"execution_{execution.execution_uuid}"
    return Path(f"{stem}.stdout.log"), Path(f"{stem}.stderr.log"), Path(f"{stem}.exit.json")


def _script_environment(*, execution: ExecutionLog, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PRIVATE_ENVIRONMENT}
    prefix = "/" if settings.INTERFACE_ACCESS == "direct" else f"/interfaces/{token}/app/"
    env.update(
        {
            "SCRIPTSMANAGER_BASE_URL": prefix,
            "SCRIPTSMANAGER_LOGO": str(settings.BRANDING_LOGO),
            "SCRIPTSMANAGER_EXECUTION_ID": str(execution.execution_uuid),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _reap_in_background(process: subprocess.Popen) -> None:
    # The runner is our child: wait for it so it never lingers as a zombie.
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()


def _launch_limits_take(*, user, interface: bool) -> None:
    """Raise LaunchRefused (429) when the run would pass a limit on live runs.

    Call it inside the transaction that creates the run's ScriptProcess: the
    launch lock it takes is held until that transaction ends, so concurrent
    launches (in any worker process) count one after the other and each sees
    the runs created before it. (On SQLite the IMMEDIATE transaction already
    serialises them; the row lock does it on PostgreSQL.)
    """
    LaunchLock.objects.select_for_update().get_or_create(pk=1)
    live = ScriptProcess.objects.filter(status__in=LIVE)
    if interface:
        interfaces = live.filter(has_interface=True)
        if interfaces.count() >= settings.MAX_CONCURRENT_INTERFACES:
            raise LaunchRefused(
                _("The server already runs %(n)d interfaces, its limit. Close one and try again.")
                % {"n": settings.MAX_CONCURRENT_INTERFACES},
                429,
            )
        if interfaces.filter(user=user).count() >= settings.MAX_INTERFACES_PER_USER:
            raise LaunchRefused(
                _("You already have %(n)d interfaces open, your limit. Close one and try again.")
                % {"n": settings.MAX_INTERFACES_PER_USER},
                429,
            )
    limit = settings.MAX_CONCURRENT_RUNS
    if live.count() >= limit:
        raise LaunchRefused(
            ngettext(
                "The server already runs %(n)d script, its limit. "
                "Wait for it to end or stop it, then try again.",
                "The server already runs %(n)d scripts, its limit. "
                "Wait for one to end or stop one, then try again.",
                limit,
            )
            % {"n": limit},
            429,
        )
    limit = settings.MAX_RUNS_PER_USER
    if live.filter(user=user).count() >= limit:
        raise LaunchRefused(
            ngettext(
                "You already have %(n)d script running, your limit. "
                "Wait for it to end or stop it, then try again.",
                "You already have %(n)d scripts running, your limit. "
                "Wait for one to end or stop one, then try again.",
                limit,
            )
            % {"n": limit},
            429,
        )


def _log_quota_check(user) -> None:
    """Raise LaunchRefused (507) when the user's logs fill their quota: a new
    run would only add to them. 507 Insufficient Storage rather than 429: the
    refusal lasts until logs are deleted, retrying later does not help."""
    used = storage_used(user=user)
    quota = settings.LOG_STORAGE_QUOTA_MB * 1024 * 1024
    if used >= quota:
        raise LaunchRefused(
            _(
                "Your logs use %(used)s of your %(quota)s quota. "
                "Delete old logs on the Logs page to run scripts again."
            )
            % {"used": filesizeformat(used), "quota": filesizeformat(quota)},
            507,
        )


def execution_start(
    *, script: Script, user, params: dict, project: UserProject | None = None
) -> Launch:
    """Validate, start the script under its runner and, for a script with an
    interface, wait until it accepts connections.

    Raises PermissionDenied, ValidationError (bad parameters or environment,
    naming each field) or LaunchRefused (limits, log quota, ports). A script
    that cannot be started, exits or never listens comes back as a launch
    whose execution has status failed, with the reason, and holds no port.
    """
    if not script.is_runnable_by(user):
        raise PermissionDenied(_("You cannot run this script."))
    values = parameters_validate(script.parameters, params)
    try:
        python = environment_resolve(script.effective_environment)
    except EnvironmentUnavailable as error:
        raise ValidationError({"environment": str(error)}) from None
    if project is None:
        project = project_ensure_default(user=user, group=script.group)
    elif project.user_id != user.pk or project.group_id != script.group_id:
        raise ValidationError({"project_id": _("No such project for this script's group.")})
    _log_quota_check(user)

    data_dir = project_data_dir_ensure(project)
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        _launch_limits_take(user=user, interface=script.interface)
        execution = ExecutionLog.objects.create(
            script=script,
            script_name=script.filename,
            user=user,
            username=user.username,
            project=project,
            project_name=project.name,
            session_id=token if script.interface else "",
            parameters=parameters_masked(script.parameters, values),
            conda_environment=script.effective_environment,
            python_executable=str(python),
            tags=",".join(script.tags),
        )
        # Created now, before its runner exists, so that it counts against the
        # limits from the moment they are checked; runner_pid stays empty until
        # the runner has started (executions_reconcile leaves it be meanwhile).
        process = ScriptProcess.objects.create(
            execution=execution,
            script=script,
            user=user,
            has_interface=script.interface,
            tab_session_id=token,
            status=ScriptProcess.Status.STARTING,
        )
    try:
        allocation = _port_take(script=script, user=user, project=project, execution=execution)
        port = allocation.port_number if allocation else None
        runner, exit_path = _runner_start(
            script=script,
            user=user,
            project=project,
            execution=execution,
            python=python,
            data_dir=data_dir,
            values=values,
            port=port,
            token=token,
        )
    except LaunchRefused:
        raise
    except Exception as error:
        # Whatever went wrong (E2BIG, a vanished folder, a full disk...), the
        # run must not stay "starting" holding a port and a place in the limits.
        logger.exception("Could not start execution %s", execution.execution_uuid)
        _start_failed(process=process, error=error)
        return Launch(
            execution=ExecutionLog.objects.get(pk=execution.pk),
            process=ScriptProcess.objects.get(pk=process.pk),
        )
    _reap_in_background(runner)
    try:
        runner_started = psutil.Process(runner.pid).create_time()
    except psutil.Error:
        runner_started = None
    execution.status = ExecutionLog.Status.RUNNING
    execution.save()
    adopted = ScriptProcess.objects.filter(
        pk=process.pk, status=ScriptProcess.Status.STARTING
    ).update(
        runner_pid=runner.pid,
        runner_started=runner_started,
        flask_port=port,
        exit_file=str(exit_path),
        status=ScriptProcess.Status.STARTING if script.interface else ScriptProcess.Status.RUNNING,
    )
    if not adopted:
        # Stopped before its runner existed: nobody else can stop this runner.
        with contextlib.suppress(ProcessLookupError):
            os.kill(runner.pid, signal.SIGTERM)
    if allocation is not None:
        PortAllocation.objects.filter(
            pk=allocation.pk, status=PortAllocation.Status.ALLOCATED
        ).update(status=PortAllocation.Status.ACTIVE, process_id=runner.pid)
    project.last_accessed = timezone.now()
    project.save(update_fields=["last_accessed"])
    audit_record(
        action=AuditEvent.Action.EXECUTION_STARTED,
        actor=user,
        target=script,
        details={"execution": str(execution.execution_uuid), "port": port},
    )
    process.refresh_from_db()
    if script.interface and adopted:
        _readiness_wait(process, runner)
    process.refresh_from_db()
    execution.refresh_from_db()
    return Launch(execution=execution, process=process)


def _port_take(
    *, script: Script, user, project: UserProject, execution: ExecutionLog
) -> PortAllocation | None:
    """The port of an interface run (None for a run without an interface).
    Raises LaunchRefused (503), the run deleted, when none is free."""
    if not script.interface:
        return None
    try:
        return port_allocate(
            script=script,
            user=user,
            project=project,
            execution=execution,
            preferred=script.flask_port,
        )
    except PortsExhausted:
        execution.delete()
        raise LaunchRefused(
            _(
                "No free port is left for script interfaces (range %(start)d–%(end)d). "
                "Try again later."
            )
            % {"start": settings.PORT_RANGE_START, "end": settings.PORT_RANGE_END},
            503,
        ) from None


def _runner_start(
    *,
    script: Script,
    user,
    project: UserProject,
    execution: ExecutionLog,
    python: Path,
    data_dir: Path,
    values: dict,
    port: int | None,
    token: str,
) -> tuple[subprocess.Popen, Path]:
    """Start the runner with the script's command line: the runner and the
    exit file it will write. Raises whatever creating the log files or the
    process raises (OSError mostly)."""
    stdout_path, stderr_path, exit_path = _log_paths(execution, user)
    argv = [
        str(python),
        str(script.path),
        "--data-dir",
        str(data_dir),
        "--user-level",
        user.user_level,
        # The contract always passes --port; 0 says "no interface, no port".
        "--port",
        str(port or 0),
        "--project-id",
        str(project.pk),
        "--project-name",
        project.name,
        "--theme",
        user.preferred_theme,
        "--language",
        user.preferred_language,
        *parameters_argv(script.parameters, values),
    ]
    timeout = script.effective_timeout or settings.DEFAULT_EXECUTION_TIMEOUT
    runner_argv = [
        sys.executable,
        "-I",
        "-S",
        str(RUNNER),
        "--exit-file",
        str(exit_path),
        "--timeout",
        str(timeout or 0),
        "--grace",
        str(settings.STOP_GRACE_SECONDS),
        "--memory-mb",
        str(settings.SCRIPT_MEMORY_LIMIT_MB),
        "--cpu-seconds",
        str(settings.SCRIPT_CPU_LIMIT_SECONDS),
        "--output-limit-mb",
        str(settings.SCRIPT_OUTPUT_LIMIT_MB),
        "--cwd",
        str(script.group.path),
        "--",
        *argv,
    ]
    logs_root = Path(settings.LOGS_DIR)
    execution.stdout_path = str(stdout_path.relative_to(logs_root))
    execution.stderr_path = str(stderr_path.relative_to(logs_root))
    execution.flask_port = port
    execution.save(update_fields=["stdout_path", "stderr_path", "flask_port", "last_updated"])
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        runner = subprocess.Popen(
            runner_argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=script.group.path,
            env=_script_environment(execution=execution, token=token),
            start_new_session=True,
        )
    return runner, exit_path


def _start_failed(*, process: ScriptProcess, error: Exception) -> None:
    """Record a run whose runner could not be started: failed, with the reason,
    its port released."""
    now = timezone.now()
    with transaction.atomic():
        ScriptProcess.objects.filter(pk=process.pk).update(
            status=ScriptProcess.Status.ENDED,
            stop_reason=ScriptProcess.StopReason.FAILED_START,
            ended_at=now,
        )
        execution = ExecutionLog.objects.select_for_update().get(pk=process.execution_id)
        execution.status = ExecutionLog.Status.FAILED
        execution.stop_reason = ScriptProcess.StopReason.FAILED_START
        execution.debug_output = _("The script could not be started: %(error)s") % {"error": error}
        execution.end_time = now
        execution.duration_seconds = (now - execution.start_time).total_seconds()
        execution.save()
        port_release(execution=execution)
    try:
        log_record_write(execution)
    except OSError:
        logger.exception("Could not write the log of execution %s", execution.execution_uuid)


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _readiness_wait(process: ScriptProcess, runner: subprocess.Popen) -> None:
    deadline = time.monotonic() + settings.INTERFACE_READY_TIMEOUT
    while time.monotonic() < deadline:
        if _port_accepts(process.flask_port):
            ScriptProcess.objects.filter(
                pk=process.pk, status=ScriptProcess.Status.STARTING
            ).update(status=ScriptProcess.Status.RUNNING, last_ping=None)
            return
        if runner.poll() is not None or Path(process.exit_file).exists():
            runner.wait(timeout=10)
            execution_finalize(process=ScriptProcess.objects.get(pk=process.pk))
            return
        time.sleep(0.01)
    # Never listened: stop it and say why.
    process = ScriptProcess.objects.get(pk=process.pk)
    execution_stop(process=process, reason=ScriptProcess.StopReason.FAILED_START, wait=True)
    ExecutionLog.objects.filter(pk=process.execution_id).update(
        status=ExecutionLog.Status.FAILED,
        debug_output=_(
            "The script did not accept connections on port %(port)d within %(seconds)d seconds."
        )
        % {"port": process.flask_port, "seconds": settings.INTERFACE_READY_TIMEOUT},
    )


def runner_alive(process: ScriptProcess) -> bool:
    """True while the runner with the recorded PID *and* start time is running."""
    if not process.runner_pid:
        return False
    try:
        candidate = psutil.Process(process.runner_pid)
        if (
            process.runner_started is not None
            and abs(candidate.create_time() - process.runner_started) > 0.01
        ):
            return False  # the PID was reused by another program
        return candidate.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def execution_stop(
    *, process: ScriptProcess, reason: str, by=None, wait: bool = True
) -> ScriptProcess:
    """Ask the runner to stop the script's whole tree (SIGTERM, then SIGKILL
    after the grace period) and record why. With `wait`, return once it ended."""
    with transaction.atomic():
        updated = ScriptProcess.objects.filter(pk=process.pk, status__in=LIVE).update(
            status=ScriptProcess.Status.STOPPING,
            stop_reason=reason,
            stop_requested_by=getattr(by, "username", "") or "",
        )
    if updated and runner_alive(process):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.runner_pid, signal.SIGTERM)
    if updated:
        audit_record(
            action=AuditEvent.Action.EXECUTION_STOPPED,
            actor=by,
            target=process.script,
            details={"execution": str(process.execution.execution_uuid), "reason": reason},
        )
    if wait:
        deadline = time.monotonic() + settings.STOP_GRACE_SECONDS + 5
        while time.monotonic() < deadline and runner_alive(process):
            time.sleep(0.05)
        process = ScriptProcess.objects.get(pk=process.pk)
        execution_finalize(process=process)
    return ScriptProcess.objects.get(pk=process.pk)


def _tail(path: Path, limit: int) -> tuple[str, bool]:
    """The file's text, or its last `limit` bytes when longer (True: truncated).
    NUL characters become U+FFFD: PostgreSQL text cannot hold them (the log
    files keep the raw bytes)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            if size > limit:
                handle.seek(size - limit)
            data = handle.read()
    except OSError:
        return "", False
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd"), size > limit


def execution_finalize(*, process: ScriptProcess) -> ExecutionLog | None:
    """Record the result of an execution whose runner has ended; idempotent.

    Returns the execution when this call finalized it, None when the runner is
    still alive or another worker finalized it first.
    """
    if runner_alive(process):
        return None
    exit_info: dict = {}
    try:
        if process.exit_file:  # empty: the runner never started
            exit_info = json.loads(Path(process.exit_file).read_text())
    except (OSError, ValueError):
        exit_info = {}
    with transaction.atomic():
        claimed = ScriptProcess.objects.filter(pk=process.pk, status__in=LIVE).update(
            status=ScriptProcess.Status.ENDED, ended_at=timezone.now()
        )
        if not claimed:
            return None  # another worker got there first
        execution = ExecutionLog.objects.select_for_update().get(pk=process.execution_id)
        logs_root = Path(settings.LOGS_DIR)
        limit = settings.OUTPUT_DB_LIMIT_BYTES
        execution.output, cut_out = _tail(logs_root / execution.stdout_path, limit)
        execution.error_output, cut_err = _tail(logs_root / execution.stderr_path, limit)
        execution.output_truncated = cut_out or cut_err
        reason = exit_info.get("reason")
        stop_reason = process.stop_reason
        if not exit_info:
            execution.status = ExecutionLog.Status.LOST
            stop_reason = stop_reason or ScriptProcess.StopReason.LOST
            _orphans_kill(process)
        elif reason == "timeout":
            execution.status = ExecutionLog.Status.TERMINATED
            stop_reason = ScriptProcess.StopReason.TIMEOUT
        elif reason == "output_limit":
            execution.status = ExecutionLog.Status.TERMINATED
            stop_reason = ScriptProcess.StopReason.OUTPUT_LIMIT
            execution.debug_output = _(
                "The output reached the limit of %(mib)d MiB: the rest was discarded "
                "and the run was stopped."
            ) % {"mib": settings.SCRIPT_OUTPUT_LIMIT_MB}
        elif reason == "terminated":
            execution.status = (
                ExecutionLog.Status.FAILED
                if stop_reason == ScriptProcess.StopReason.FAILED_START
                else ExecutionLog.Status.TERMINATED
            )
        elif reason == "start_failed":
            execution.status = ExecutionLog.Status.FAILED
            stop_reason = ScriptProcess.StopReason.FAILED_START
            execution.debug_output = exit_info.get("error", "")
        else:
            code = exit_info.get("exit_code")
            execution.status = (
                ExecutionLog.Status.COMPLETED if code == 0 else ExecutionLog.Status.FAILED
            )
            stop_reason = stop_reason or ScriptProcess.StopReason.EXITED
        execution.exit_code = exit_info.get("exit_code")
        if exit_info.get("signal"):
            execution.debug_output = (
                execution.debug_output + f"\nEnded by signal {exit_info['signal']}."
            ).strip()
        execution.stop_reason = stop_reason
        ended = exit_info.get("ended_at")
        execution.end_time = (
            datetime.fromtimestamp(ended, tz=timezone.get_current_timezone())
            if ended
            else timezone.now()
        )
        started = exit_info.get("started_at")
        execution.duration_seconds = (
            round(ended - started, 3)
            if ended and started
            else (execution.end_time - execution.start_time).total_seconds()
        )
        execution.save()
        ScriptProcess.objects.filter(pk=process.pk).update(stop_reason=stop_reason)
        port_release(execution=execution)
    log_record_write(execution)
    return execution


def _script_state(process: ScriptProcess) -> dict:
    """The runner's state file: the script's own pid and start time."""
    if not process.exit_file:
        return {}
    try:
        return json.loads(Path(f"{process.exit_file}.state").read_text())
    except (OSError, ValueError):
        return {}


def _orphans_kill(process: ScriptProcess) -> None:
    """Kill what is left of a script whose runner died without cleaning up
    (for example killed with SIGKILL): its process and all descendants."""
    state = _script_state(process)
    pid = state.get("script_pid")
    if not pid:
        return
    try:
        script = psutil.Process(pid)
        if state.get("started_at") and script.create_time() + 1 < state["started_at"]:
            return  # created before the launch: a reused pid, not our script
        victims = [script, *script.children(recursive=True)]
    except psutil.Error:
        return
    for victim in victims:
        with contextlib.suppress(psutil.Error):
            victim.kill()
    psutil.wait_procs(victims, timeout=5)


def executions_reconcile(*, now=None) -> dict[str, int]:
    """One pass of the supervisor: finish ended runs (re-adopting live ones
    after a restart simply means leaving them be), stop abandoned interfaces,
    release orphaned ports. Safe to run from several processes at once."""
    now = now or timezone.now()
    counts = {"finalized": 0, "stopped": 0, "ports_released": 0}
    for process in ScriptProcess.objects.filter(status__in=LIVE).select_related(
        "execution", "script"
    ):
        if process.runner_pid is None and process.started_at > now - ORPHAN_AGE:
            continue  # its launch has not started the runner yet
        if not runner_alive(process):
            if execution_finalize(process=process):
                counts["finalized"] += 1
            continue
        reason = interface_idle_reason(process, now=now)
        if reason:
            execution_stop(process=process, reason=reason, wait=False)
            counts["stopped"] += 1
    orphans = PortAllocation.objects.exclude(status=PortAllocation.Status.RELEASED).exclude(
        execution__process__status__in=LIVE
    )
    orphans = orphans.filter(allocated_at__lt=now - ORPHAN_AGE)
    counts["ports_released"] = orphans.update(
        status=PortAllocation.Status.RELEASED, released_at=now
    )
    return counts


def interface_idle_reason(process: ScriptProcess, *, now) -> str | None:
    """Why a running interface should be stopped now, or None.

    A tab that closed and did not come back within TAB_CLOSE_GRACE; no user
    activity for SESSION_TIMEOUT (counted from the start when no tab ever
    pinged) unless the script is busy on the CPU.
    """
    if not process.has_interface or process.status != ScriptProcess.Status.RUNNING:
        return None
    if (
        process.tab_closed_at
        and (now - process.tab_closed_at).total_seconds() > settings.TAB_CLOSE_GRACE
    ):
        return ScriptProcess.StopReason.TAB_CLOSED
    last = process.last_activity or process.started_at
    if (now - last).total_seconds() > settings.SESSION_TIMEOUT and not script_busy(process):
        return ScriptProcess.StopReason.IDLE
    return None


def script_busy(process: ScriptProcess, threshold: float = 5.0) -> bool:
    """True when the script's processes used more than `threshold` % of a CPU
    over a short sample: such a script is working, not idle."""
    try:
        runner = psutil.Process(process.runner_pid)
        tree = runner.children(recursive=True)
        before = sum(p.cpu_times().user + p.cpu_times().system for p in tree)
        time.sleep(0.2)
        after = sum(p.cpu_times().user + p.cpu_times().system for p in tree if p.is_running())
    except psutil.Error:
        return False
    return (after - before) / 0.2 * 100 > threshold


def interface_ping(*, process: ScriptProcess, active: bool) -> ScriptProcess:
    now = timezone.now()
    fields = {"last_ping": now, "tab_closed_at": None}
    if active:
        fields["last_activity"] = now
    ScriptProcess.objects.filter(pk=process.pk).update(**fields)
    return ScriptProcess.objects.get(pk=process.pk)


def interface_tab_closed(*, process: ScriptProcess) -> None:
    ScriptProcess.objects.filter(pk=process.pk, status__in=LIVE).update(
        tab_closed_at=timezone.now()
    )


def seconds_until_idle(process: ScriptProcess, *, now=None) -> int | None:
    if not process.has_interface or not process.is_live:
        return None
    now = now or timezone.now()
    last = process.last_activity or process.started_at
    return max(0, int(settings.SESSION_TIMEOUT - (now - last).total_seconds()))

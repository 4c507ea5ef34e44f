"""Supervisor for one user script: starts it, owns its whole process tree and
reports how it ended.

The manager starts it as

    python -I -S runner.py --exit-file PATH [--timeout S] [--grace S]
        [--memory-mb MB] [--cpu-seconds S] [--output-limit-mb MB] [--cwd DIR]
        -- PYTHON SCRIPT ARGS...

in a new session, with stdout and stderr already pointing at the execution's
log files and the script's environment already prepared. Without an output
limit the script inherits all three unchanged. With one, the script writes to
two pipes that the runner copies into those files (splice, no copy through
user space) until stdout and stderr together reach the limit; past it the
runner discards what comes (so a script shutting down never blocks on a full
pipe), says so on stderr and stops the tree ("output_limit"). The files thus
never exceed the limit, whatever the script's speed; watching the files'
sizes instead would let a fast writer overshoot by its speed times the
polling interval, and RLIMIT_FSIZE would also cap the data files the script
writes and kill it with SIGXFSZ without saying why.

The runner makes itself a child subreaper (Linux), so descendants that
double-fork or call setsid are re-parented to it: it reaps them, and stops
them when the script ends, when the runner gets SIGTERM, SIGINT or SIGHUP
("terminated"), when the timeout passes ("timeout") or when the output passes
its limit ("output_limit"): SIGTERM to the whole tree, SIGKILL to whatever is
left after the grace period.

Files (both written atomically; PATH is --exit-file):
- PATH.state, as soon as the script runs: {"runner_pid", "script_pid", "started_at"}.
- PATH, once every process of the tree is gone: {"runner_pid", "script_pid",
  "started_at", "ended_at", "exit_code" (null when killed by a signal), "signal",
  "reason" ("exited" | "timeout" | "terminated" | "output_limit" | "start_failed"),
  "subreaper", "killed_after_grace"} plus "error" when something went wrong.

Exit status: 0 once the exit file is written, 127 when the script could not be
started (exit file written too), 1 when the exit file could not be written,
2 for bad arguments.

Standard library only, and only what is needed: it runs with -I -S before
every script, so its start-up time is every script's.
"""

import errno
import os
import select
import signal
import subprocess
import sys
import time

try:
    import resource
except ImportError:  # Windows: no resource limits, but importing must not fail
    resource = None

PREFIX = "[scriptsmanager runner] "
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")
POLL_SECONDS = 0.05
# While idle the runner sleeps until a signal (SIGCHLD included) wakes it; the
# cap only bounds the damage of a wake-up that never comes.
IDLE_WAKE_SECONDS = 5.0
RESCAN_SECONDS = 0.25
# After SIGKILL only processes stuck in the kernel (uninterruptible sleep)
# survive; the exit file must not wait for them forever.
KILL_WAIT_SECONDS = 10.0
# Bytes moved from an output pipe per system call.
PUMP_CHUNK = 1 << 16


def diagnose(message: str) -> None:
    try:
        sys.stderr.write(f"{PREFIX}{message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class Options:
    """The runner's options, with the defaults used when one is not given."""

    exit_file: str = ""
    timeout: float = 0.0
    grace: float = 5.0
    memory_mb: int = 0
    cpu_seconds: int = 0
    output_limit_mb: int = 0
    cwd: str | None = None


# Parsed by hand: argparse or getopt would import gettext and re, several
# milliseconds of start-up paid before every script.
_OPTION_TYPES = {
    "--exit-file": str,
    "--timeout": float,
    "--grace": float,
    "--memory-mb": int,
    "--cpu-seconds": int,
    "--output-limit-mb": int,
    "--cwd": str,
}


class UsageError(Exception):
    pass


def arguments_parse(argv: list[str]) -> tuple[Options, list[str]]:
    """The options (`--name value` or `--name=value`) and the command after
    "--", which is the script's even where it looks like our options.
    Raises UsageError."""
    options = Options()
    words = iter(argv)
    for word in words:
        if word == "--":
            break
        flag, equals, text = word.partition("=")
        kind = _OPTION_TYPES.get(flag)
        if kind is None:
            raise UsageError(f"unknown option {word!r}")
        if not equals:
            text = next(words, None)
            if text is None:
                raise UsageError(f"{flag} needs a value")
        try:
            value = kind(text)
        except ValueError:
            raise UsageError(f"{flag}: not a valid {kind.__name__}: {text!r}") from None
        if kind is not str and not value >= 0:  # also refuses NaN
            raise UsageError(f"{flag}: must not be negative: {text!r}")
        setattr(options, flag[2:].replace("-", "_"), value)
    else:
        raise UsageError("no -- before the command")
    if not options.exit_file:
        raise UsageError("--exit-file is required")
    return options, list(words)


def _libc():
    """libc through ctypes on Linux, for prctl; None elsewhere or when unavailable."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
        libc.prctl.restype = ctypes.c_int
        return libc
    except (ImportError, OSError, AttributeError):
        return None


def subreaper_become(libc) -> bool:
    if libc is None:
        return False
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _limit(kind: int, soft: int, hard: int) -> tuple[int, int]:
    # An unprivileged process cannot raise its hard limit: clamp to it here, in
    # the runner, so that applying the limits in the child cannot fail.
    _, current_hard = resource.getrlimit(kind)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    return min(soft, hard), hard


def limits_preexec(*, memory_mb: int, cpu_seconds: int, libc):
    """The function run in the child between fork and exec: resource limits,
    and SIGKILL for the script should the runner itself be SIGKILLed.
    None where there is nothing to apply."""
    if resource is None:
        return None
    limits = []
    if memory_mb > 0:
        size = memory_mb * 1024 * 1024
        limits.append((resource.RLIMIT_AS, _limit(resource.RLIMIT_AS, size, size)))
    if cpu_seconds > 0:
        # SIGXCPU at the soft limit; SIGKILL one second later if it is ignored.
        limits.append(
            (resource.RLIMIT_CPU, _limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1))
        )

    def apply():
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        for kind, values in limits:
            resource.setrlimit(kind, values)

    return apply


def json_write_atomic(path: str, data: dict, *, durable: bool = True) -> None:
    """Write JSON to `path` so that readers see the old file or the whole new
    one, never a part: a temporary file in the same folder, then a rename.
    `durable` adds the fsyncs that make it survive a machine crash."""
    # Imported here, after the script has started: json (with re) is the
    # runner's costliest import, and nothing before the start needs it.
    import json

    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        content = json.dumps(data).encode()
        while content:
            content = content[os.write(fd, content) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(temporary, path)
    except OSError:
        os.unlink(temporary)
        raise
    if not durable:
        return
    try:
        folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


def process_table() -> dict[int, tuple[int, int, bytes]] | None:
    """{pid: (ppid, process group, state)} from /proc, or None without /proc."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    table = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # ended while we looked
        # The command name is in parentheses and may itself contain ") ".
        fields = stat[stat.rfind(b")") + 2 :].split()
        try:
            table[int(name)] = (int(fields[1]), int(fields[2]), fields[0])
        except (IndexError, ValueError):
            continue
    return table


def _process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def descendants(root: int) -> tuple[set[int], set[int]] | None:
    """(living descendants of `root`, their process groups), or None without /proc.

    Follows parent links, so it finds processes that left the script's process
    group or session (setsid), which killpg would miss."""
    table = process_table()
    if table is None:
        return None
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, groups = set(), set()
    pending = list(children.get(root, ()))
    while pending:
        pid = pending.pop()
        if pid in found:
            continue
        ppid, group, state = table[pid]
        if state not in (b"Z", b"X"):
            found.add(pid)
            groups.add(group)
        pending.extend(children.get(pid, ()))
    return found, groups


class Runner:
    def __init__(self, options: Options, command: list[str]) -> None:
        self.options = options
        self.command = command
        self.pid = os.getpid()
        self.libc = _libc()
        self.subreaper = False
        self.script: subprocess.Popen | None = None
        self.script_pid: int | None = None
        self.script_status: int | None = None
        self.started_at: float | None = None
        self.stop_requested = False
        self.killed_after_grace = False
        self.errors: list[str] = []
        self._wake_read, self._wake_write = os.pipe()
        # With an output limit: {pipe read end: the runner's fd it is copied to}.
        self.streams: dict[int, int] = {}
        self.output_left = options.output_limit_mb * 1024 * 1024
        self.output_exceeded = False
        self.output_broken = False
        self._splice = hasattr(os, "splice")

    # Signals --------------------------------------------------------------

    def _stop_requested(self, signum, frame) -> None:
        self.stop_requested = True

    def signals_install(self) -> None:
        """Handlers only set a flag; the C-level handler also writes a byte to
        the wake-up pipe, so a signal that lands just before select() still
        ends the wait (no lost wake-ups, no polling while idle)."""
        for fd in (self._wake_read, self._wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        for name in STOP_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is not None:
                signal.signal(signum, self._stop_requested)
        if hasattr(signal, "SIGCHLD"):
            # A Python-level handler, even an empty one, is what makes SIGCHLD
            # reach the wake-up pipe.
            signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def sleep(self, seconds: float) -> None:
        """Wait up to `seconds`, returning early when any handled signal
        arrives or the script writes output (which is then copied)."""
        try:
            ready, _, _ = select.select([self._wake_read, *self.streams], [], [], max(0.0, seconds))
        except InterruptedError:
            return
        for fd in ready:
            if fd != self._wake_read:
                self.stream_pump(fd)
                continue
            try:
                while os.read(self._wake_read, 512):
                    pass
            except (BlockingIOError, InterruptedError):
                pass

    # Output (only with an output limit) -------------------------------------

    def _move(self, source: int, target: int, count: int) -> int:
        """Up to `count` bytes from the pipe `source` to `target`; 0 at end of file."""
        if self._splice:
            try:
                return os.splice(source, target, count, flags=os.SPLICE_F_NONBLOCK)
            except OSError as error:
                # A target splice cannot write to (opened with O_APPEND, a
                # terminal): copy through user space from now on.
                if error.errno not in (errno.EINVAL, errno.ENOSYS):
                    raise
                self._splice = False
        data = memoryview(os.read(source, count))
        size = len(data)
        while data:
            data = data[os.write(target, data) :]
        return size

    def stream_pump(self, source: int) -> None:
        """Copy what the pipe holds to its file while the output limit allows,
        discard it past the limit; close the pipe at end of file. A bounded
        number of rounds, so that signals and the deadline are still seen."""
        target = self.streams[source]
        for _ in range(16):
            try:
                if self.output_left > 0 and not self.output_broken:
                    moved = self._move(source, target, min(PUMP_CHUNK, self.output_left))
                    self.output_left -= moved
                else:
                    moved = len(os.read(source, PUMP_CHUNK))
                    if moved and not self.output_broken and not self.output_exceeded:
                        self.output_exceeded = True
                        diagnose(
                            f"output limit of {self.options.output_limit_mb} MiB reached: "
                            "the rest of the output is discarded and the script is stopped"
                        )
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # The file takes no more (disk full...): keep reading, so the
                # script never blocks on a full pipe, and say why output is missing.
                self.output_broken = True
                self.errors.append(f"cannot write the output: {error}")
                diagnose(self.errors[-1])
                continue
            if moved == 0:
                os.close(source)
                del self.streams[source]
                return

    def streams_drain(self) -> None:
        """Copy what is left in the pipes once the tree is gone, without
        waiting for a process that survived SIGKILL and still holds one."""
        while self.streams:
            ready, _, _ = select.select(list(self.streams), [], [], 0)
            if not ready:
                break
            for fd in ready:
                self.stream_pump(fd)
        for fd in self.streams:
            os.close(fd)
        self.streams.clear()

    # Children -------------------------------------------------------------

    def reap(self) -> bool:
        """Reap every child that has ended (the script and any re-parented
        orphan alike); True while the runner still has children."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if pid == self.script_pid:
                self.script_status = status
                # Tell Popen its child is gone, or it would think it still runs.
                self.script.returncode = os.waitstatus_to_exitcode(status)

    def tree_signal(self, signum: int, already: set[int] | None = None) -> None:
        """Send `signum` to the script's process group and every descendant,
        once each; with `already` (a rescan when not empty), only to
        descendants not in it (which it then includes)."""
        tree = descendants(self.pid)
        pids, groups = tree if tree is not None else (set(), set())
        rescan = bool(already)
        if already is not None:
            pids -= already
            already |= pids
        # Once the script is reaped its PID (the group's id) may be reused by an
        # unrelated new group: signal the group only while it provably exists,
        # or without /proc, where it is the only way to reach the script's children.
        # A rescan leaves the group alone when it can: a second SIGTERM would cut
        # short the graceful shutdown the first one started.
        if tree is None or (
            not rescan and (self.script_status is None or self.script_pid in groups)
        ):
            self._kill(os.killpg, self.script_pid, signum)
            pids = {pid for pid in pids if _process_group(pid) != self.script_pid}
        for pid in pids:
            self._kill(os.kill, pid, signum)

    @staticmethod
    def _kill(function, target: int, signum: int) -> None:
        try:
            function(target, signum)
            if signum == signal.SIGTERM:
                # A stopped process would only act on SIGTERM once continued.
                function(target, signal.SIGCONT)
        except (ProcessLookupError, PermissionError):
            pass

    def tree_stop(self) -> None:
        """SIGTERM the whole tree, wait up to the grace period for it to end,
        then SIGKILL what is left; return once every child is reaped."""
        if not self.reap():
            return
        signalled: set[int] = set()
        self.tree_signal(signal.SIGTERM, signalled)
        now = time.monotonic()
        grace_ends = now + self.options.grace
        next_scan = now + RESCAN_SECONDS
        while self.reap():
            now = time.monotonic()
            if now >= grace_ends:
                self.killed_after_grace = True
                self.tree_kill()
                return
            if now >= next_scan:
                # Processes forked after the first round get their SIGTERM too.
                self.tree_signal(signal.SIGTERM, signalled)
                next_scan = now + RESCAN_SECONDS
            self.sleep(min(POLL_SECONDS, grace_ends - now))

    def tree_kill(self) -> None:
        """SIGKILL the tree until every child is reaped, or give up after
        KILL_WAIT_SECONDS and say who is left."""
        give_up = time.monotonic() + KILL_WAIT_SECONDS
        while True:
            # Again on every round: a process may have forked before it died.
            self.tree_signal(signal.SIGKILL)
            if not self.reap():
                return
            if time.monotonic() >= give_up:
                tree = descendants(self.pid)
                left = sorted(tree[0]) if tree else []
                self.errors.append(f"still alive {KILL_WAIT_SECONDS:g} s after SIGKILL: {left}")
                diagnose(self.errors[-1])
                return
            self.sleep(POLL_SECONDS)

    # Files ----------------------------------------------------------------

    def exit_file_write(self, reason: str) -> bool:
        status = self.script_status
        exit_code = signum = None
        if status is not None:
            if os.WIFSIGNALED(status):
                signum = os.WTERMSIG(status)
            else:
                exit_code = os.waitstatus_to_exitcode(status)
        data = {
            "runner_pid": self.pid,
            "script_pid": self.script_pid,
            "started_at": self.started_at,
            "ended_at": time.time(),
            "exit_code": exit_code,
            "signal": signum,
            "reason": reason,
            "subreaper": self.subreaper,
            "killed_after_grace": self.killed_after_grace,
        }
        if self.errors:
            data["error"] = "; ".join(self.errors)
        try:
            json_write_atomic(self.options.exit_file, data)
        except OSError as error:
            diagnose(f"cannot write the exit file {self.options.exit_file}: {error}")
            return False
        return True

    def state_file_write(self) -> None:
        path = self.options.exit_file + ".state"
        data = {
            "runner_pid": self.pid,
            "script_pid": self.script_pid,
            "started_at": self.started_at,
        }
        try:
            # Only meaningful while this process lives: no need to survive a crash.
            json_write_atomic(path, data, durable=False)
        except OSError as error:
            diagnose(f"cannot write the state file {path}: {error}")

    # Main -----------------------------------------------------------------

    def start(self) -> bool:
        self.started_at = time.time()
        if not self.command:
            self.errors.append("no command to run (nothing after --)")
            diagnose(self.errors[-1])
            return False
        preexec = limits_preexec(
            memory_mb=self.options.memory_mb,
            cpu_seconds=self.options.cpu_seconds,
            libc=self.libc,
        )
        stdout = stderr = None
        if self.options.output_limit_mb > 0:
            out_read, stdout = os.pipe()
            err_read, stderr = os.pipe()
            os.set_blocking(out_read, False)
            os.set_blocking(err_read, False)
            self.streams = {out_read: 1, err_read: 2}
        try:
            # Its own process group: killpg reaches it and its plain children
            # without touching the runner.
            self.script = subprocess.Popen(
                self.command,
                cwd=self.options.cwd,
                process_group=0,
                preexec_fn=preexec,
                stdout=stdout,
                stderr=stderr,
            )
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            self.errors.append(f"cannot start {self.command[0]}: {error}")
            diagnose(self.errors[-1])
            return False
        finally:
            # Only the script's tree may hold the write ends: end of file then
            # means that all of it is gone.
            for fd in (stdout, stderr):
                if fd is not None:
                    os.close(fd)
        self.script_pid = self.script.pid
        return True

    def supervise(self) -> str:
        """Reap children until the script ends, a stop is requested, the
        timeout passes or the output passes its limit; why it ended
        ("exited", "terminated", "timeout" or "output_limit")."""
        deadline = None
        if self.options.timeout > 0:
            deadline = time.monotonic() + self.options.timeout
        while True:
            self.reap()
            if self.output_exceeded:
                return "output_limit"
            if self.script_status is not None:
                return "exited"
            if self.stop_requested:
                return "terminated"
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return "timeout"
            wait = IDLE_WAKE_SECONDS if deadline is None else min(IDLE_WAKE_SECONDS, deadline - now)
            self.sleep(wait)

    def run(self) -> int:
        """Start, supervise and clean up; the runner's exit status."""
        self.signals_install()
        self.subreaper = subreaper_become(self.libc)
        if self.stop_requested:
            # Stopped before anything started: there is nothing to clean up.
            return 0 if self.exit_file_write("terminated") else 1
        if not self.start():
            self.streams_drain()
            self.exit_file_write("start_failed")
            return 127
        self.state_file_write()
        try:
            reason = self.supervise()
        except Exception as error:
            # A bug in the runner must not leave the script running unwatched.
            reason = "terminated"
            self.errors.append(f"runner failure while supervising: {error!r}")
            diagnose(self.errors[-1])
        # Whatever ended the run, nothing of the script may outlive it.
        try:
            self.tree_stop()
        except Exception as error:
            self.errors.append(f"runner failure while stopping the tree: {error!r}")
            diagnose(self.errors[-1])
        try:
            self.streams_drain()
        except OSError as error:
            self.errors.append(f"runner failure while copying the output: {error!r}")
            diagnose(self.errors[-1])
        if reason == "exited" and self.output_exceeded:
            # Its last output came after the script itself had ended.
            reason = "output_limit"
        return 0 if self.exit_file_write(reason) else 1


def main(argv: list[str] | None = None) -> int:
    try:
        options, command = arguments_parse(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        diagnose(f"bad arguments: {error}")
        return 2
    # What the script writes into its project folder is its user's alone (and
    # so are the runner's state and exit files), whatever umask the manager had.
    os.umask(0o077)
    return Runner(options, command).run()


if __name__ == "__main__":
    status = main()
    # Skip the interpreter's teardown, a few milliseconds on every run: the
    # files were written with os.write and diagnostics are flushed as written.
    os._exit(status)

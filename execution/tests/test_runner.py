"""The script runner (execution/runner.py), driven with real processes.

Every test starts the runner the way the manager does (a new session, stdin
from /dev/null, stdout and stderr to files) and, through the `runner` fixture,
checks at the end that no process it learnt about is still alive.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[1] / "runner.py"
SCRIPTS = Path(__file__).resolve().parent / "scripts"
PYTHON = sys.executable
GRACE = 1.0
# Generous: the suite may share the machine with other work.
DEADLINE = 20.0
# As the manager's default: the runner copies the output through pipes.
OUTPUT_LIMIT_MB = 100
MIB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the runner's process tree handling is Linux's"
)


def proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, process group, session) from /proc, or None once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3])


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie has ended and counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def children_of(pid: int) -> dict[int, str]:
    """{child pid: the State line of its /proc/<pid>/status}."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = proc_stat(int(entry.name))
        if stat is None or stat[1] != pid:
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        state = next(line for line in status.splitlines() if line.startswith("State:"))
        children[int(entry.name)] = state.split(":", 1)[1].strip()
    return children


def wait_until(predicate, what: str, timeout: float = DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.02)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def read_pids(path: Path) -> list[int]:
    text = wait_until(lambda: path.exists() and path.read_text(), f"{path.name} written")
    return [int(word) for word in text.split()]


@dataclass
class RunnerRun:
    """One runner started by a test, with the files the manager would give it."""

    process: subprocess.Popen
    exit_file: Path
    stdout: Path
    stderr: Path
    watched: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def state_file(self) -> Path:
        return Path(f"{self.exit_file}.state")

    def state(self) -> dict:
        state = wait_until(lambda: read_json(self.state_file), "the state file appears")
        self.watched.add(state["script_pid"])
        return state

    def result(self, timeout: float = DEADLINE) -> dict:
        """Wait for the runner to exit; its exit file."""
        self.process.wait(timeout=timeout)
        result = read_json(self.exit_file)
        assert result is not None, "no exit file"
        return result

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def output(self) -> bytes:
        return self.stdout.read_bytes()

    def errors(self) -> bytes:
        return self.stderr.read_bytes()


class Launcher:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs: list[RunnerRun] = []
        self.pids: set[int] = set()

    def runner_argv(
        self,
        exit_file: Path,
        command: list[str],
        *,
        timeout: float = 0,
        grace: float = GRACE,
        memory_mb: int = 0,
        cpu_seconds: int = 0,
        output_limit_mb: int = OUTPUT_LIMIT_MB,
        cwd: Path | None = None,
    ) -> list[str]:
        return [
            PYTHON,
            "-I",
            "-S",
            str(RUNNER),
            "--exit-file",
            str(exit_file),
            "--timeout",
            str(timeout),
            "--grace",
            str(grace),
            "--memory-mb",
            str(memory_mb),
            "--cpu-seconds",
            str(cpu_seconds),
            "--output-limit-mb",
            str(output_limit_mb),
            "--cwd",
            str(cwd or self.folder),
            "--",
            *command,
        ]

    def start(
        self, script: str, *args: str, python: str = PYTHON, env: dict | None = None, **options
    ) -> RunnerRun:
        """Start the runner on scripts/<script> as the manager does."""
        name = f"run{len(self.runs)}"
        exit_file = self.folder / f"{name}.exit.json"
        stdout, stderr = self.folder / f"{name}.stdout", self.folder / f"{name}.stderr"
        command = [python, str(SCRIPTS / script), *args]
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                self.runner_argv(exit_file, command, **options),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
            )
        run = RunnerRun(process, exit_file, stdout, stderr)
        self.runs.append(run)
        return run

    def watch(self, *pids: int) -> None:
        """Processes that must be gone by the end of the test."""
        self.pids.update(pids)

    def cleanup(self) -> list[int]:
        """Stop what is left; the pids that were still alive."""
        for run in self.runs:
            if run.process.poll() is None:
                run.process.send_signal(signal.SIGTERM)
                try:
                    run.process.wait(timeout=DEADLINE)
                except subprocess.TimeoutExpired:
                    run.process.kill()
                    run.process.wait()
            self.pids.add(run.pid)
            self.pids.update(run.watched)
            state = read_json(run.state_file)
            if state:
                self.pids.add(state["script_pid"])
        survivors = []
        for pid in sorted(self.pids):
            try:
                wait_until(lambda pid=pid: not alive(pid), f"{pid} gone", timeout=10)
            except AssertionError:
                survivors.append(pid)
                os.kill(pid, signal.SIGKILL)
        return survivors


@pytest.fixture
def runner(tmp_path):
    launcher = Launcher(tmp_path)
    yield launcher
    survivors = launcher.cleanup()
    assert not survivors, f"processes left alive: {survivors}"


# Exit codes, output, start -------------------------------------------------


def test_it_passes_the_output_through_byte_for_byte(runner, tmp_path):
    run = runner.start("echoes.py", "one", "--grace", "two words", env={**os.environ})

    result = run.result()

    assert run.process.returncode == 0
    assert run.output() == (
        f"argv={['one', '--grace', 'two words']}\n".encode()
        + f"cwd={tmp_path}\n".encode()
        + b"env=<unset>\n"
        + b"\x00\xff\xfe raw\r\nno newline"
    )
    assert run.errors() == b"to stderr\n"
    assert result["reason"] == "exited"
    assert result["exit_code"] == 0
    assert result["signal"] is None
    assert result["runner_pid"] == run.pid
    assert result["script_pid"] == read_json(run.state_file)["script_pid"]
    assert result["subreaper"] is True
    assert result["killed_after_grace"] is False
    assert "error" not in result
    assert result["started_at"] <= result["ended_at"]


def test_it_runs_the_script_in_its_folder_with_the_environment_unchanged(runner, tmp_path):
    folder = tmp_path / "group folder"
    folder.mkdir()
    env = {**os.environ, "SM_RUNNER_TEST": "kept as is: é ü $HOME"}

    run = runner.start("echoes.py", env=env, cwd=folder)
    run.result()

    lines = run.output().splitlines()
    assert lines[1] == f"cwd={folder}".encode()
    assert lines[2] == "env=kept as is: é ü $HOME".encode()


def test_it_records_a_non_zero_exit_code(runner):
    run = runner.start("exits_with.py", "3")

    result = run.result()

    assert run.process.returncode == 0
    assert (result["reason"], result["exit_code"], result["signal"]) == ("exited", 3, None)
    assert run.output() == b"exiting with 3\n"
    assert run.errors() == b"about to exit\n"


def test_it_records_the_signal_that_killed_the_script(runner):
    run = runner.start("kills_itself.py")

    result = run.result()

    assert run.process.returncode == 0
    assert result["reason"] == "exited"
    assert result["exit_code"] is None
    assert result["signal"] == signal.SIGKILL
    assert run.output() == b"bye\n"


def test_it_reports_a_script_that_cannot_start(runner, tmp_path):
    missing = str(tmp_path / "no-such-env" / "bin" / "python")
    run = runner.start("sleeper.py", python=missing)

    result = run.result()

    assert run.process.returncode == 127
    assert result["reason"] == "start_failed"
    assert result["exit_code"] is None
    assert result["script_pid"] is None
    assert missing in result["error"]
    errors = run.errors().decode()
    assert errors.startswith("[scriptsmanager runner] ")
    assert missing in errors
    assert run.output() == b""
    assert not run.state_file.exists()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--timeout", "5", "--", PYTHON, "-c", "pass"],
        ["--exit-file", "X", "--timeout", "-1", "--", PYTHON, "-c", "pass"],
        ["--exit-file", "X", "--memory-mb", "lots", "--", PYTHON, "-c", "pass"],
        ["--exit-file", "X", "--verbose", "--", PYTHON, "-c", "pass"],
        ["--exit-file", "X", PYTHON, "-c", "pass"],
    ],
    ids=["no-exit-file", "negative", "not-a-number", "unknown", "no-separator"],
)
def test_it_refuses_bad_arguments(tmp_path, arguments):
    arguments = [str(tmp_path / "exit.json") if a == "X" else a for a in arguments]

    done = subprocess.run(
        [PYTHON, "-I", "-S", str(RUNNER), *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=DEADLINE,
    )

    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.startswith(b"[scriptsmanager runner] bad arguments: ")
    assert not (tmp_path / "exit.json").exists()


def test_the_state_file_names_the_script_soon_after_start(runner):
    run = runner.start("sleeper.py")

    state = run.state()

    assert state["runner_pid"] == run.pid
    script = state["script_pid"]
    assert proc_stat(script)[1] == run.pid
    # Its own process group, so that killpg reaches it and not the runner.
    assert proc_stat(script)[2] == script
    assert str(SCRIPTS / "sleeper.py") in Path(f"/proc/{script}/cmdline").read_text()
    assert isinstance(state["started_at"], float)
    wait_until(lambda: run.output() == b"sleeping\n", "the script printed")
    run.signal()
    assert run.result()["script_pid"] == script


def test_a_million_lines_arrive_intact(runner):
    lines = 1_000_000
    expected = "".join(f"line {i}\n" for i in range(lines)).encode()

    run = runner.start("chatty.py", str(lines))
    result = run.result(timeout=60)

    assert result["exit_code"] == 0
    output = run.output()
    assert len(output) == len(expected)
    assert hashlib.sha256(output).hexdigest() == hashlib.sha256(expected).hexdigest()
    assert run.errors() == b""


# Stopping ------------------------------------------------------------------


def test_sigterm_stops_a_cooperative_script_without_sigkill(runner):
    run = runner.start("sleeper.py")
    run.state()
    wait_until(lambda: run.output() == b"sleeping\n", "the script is asleep")

    run.signal(signal.SIGTERM)
    result = run.result()

    assert run.process.returncode == 0
    assert result["reason"] == "terminated"
    assert result["signal"] == signal.SIGTERM
    assert result["killed_after_grace"] is False
    assert run.errors() == b""


def test_sigint_also_terminates(runner):
    run = runner.start("sleeper.py")
    run.state()

    run.signal(signal.SIGINT)
    result = run.result()

    assert result["reason"] == "terminated"
    assert result["signal"] == signal.SIGTERM


def test_sigterm_kills_a_script_that_ignores_it_after_the_grace_period(runner, tmp_path):
    ready = tmp_path / "ready"
    run = runner.start("ignores_sigterm.py", str(ready), grace=GRACE)
    script = read_pids(ready)[0]
    runner.watch(script)

    run.signal(signal.SIGTERM)
    result = run.result(timeout=GRACE + DEADLINE)

    assert run.process.returncode == 0
    assert result["reason"] == "terminated"
    assert result["exit_code"] is None
    assert result["signal"] == signal.SIGKILL
    assert result["killed_after_grace"] is True
    assert not alive(script)


def test_the_timeout_stops_the_script(runner):
    run = runner.start("sleeper.py", "600", timeout=1)

    result = run.result()

    assert run.process.returncode == 0
    assert result["reason"] == "timeout"
    assert result["signal"] == signal.SIGTERM
    assert result["killed_after_grace"] is False


def test_children_the_script_leaves_behind_are_stopped_when_it_exits(runner, tmp_path):
    pidfile = tmp_path / "children"
    run = runner.start("spawns_children.py", "3", str(pidfile))
    children = read_pids(pidfile)
    runner.watch(*children)

    result = run.result()

    assert (result["reason"], result["exit_code"]) == ("exited", 0)
    for child in children:
        assert not alive(child)


def _double_fork(runner, tmp_path, *, linger: float = 600) -> tuple[RunnerRun, int, int, Path]:
    """A running double_fork.py whose grandchild was adopted by the runner:
    (run, script pid, grandchild pid, file that lets the script exit)."""
    pidfile, go = tmp_path / "grandchild", tmp_path / "go"
    run = runner.start(
        "double_fork.py", str(pidfile), "--linger", str(linger), "--wait-for", str(go)
    )
    script = run.state()["script_pid"]
    grandchild, adopted_by = read_pids(pidfile)
    runner.watch(script, grandchild)
    assert adopted_by == run.pid, "the orphan was re-parented to the runner (child subreaper)"
    return run, script, grandchild, go


def test_a_setsid_grandchild_is_adopted_and_stopped_when_the_script_exits(runner, tmp_path):
    run, script, grandchild, go = _double_fork(runner, tmp_path)

    _, ppid, group, session = proc_stat(grandchild)
    assert ppid == run.pid
    assert session == grandchild and group != script, "it left the script's group and session"
    children = children_of(run.pid)
    assert set(children) == {script, grandchild}
    assert not [s for s in children.values() if s.startswith("Z")], children

    go.touch()
    result = run.result()

    assert (result["reason"], result["exit_code"]) == ("exited", 0)
    assert result["killed_after_grace"] is False
    assert not alive(grandchild)
    assert not alive(script)


def test_a_setsid_grandchild_is_stopped_when_the_runner_is_terminated(runner, tmp_path):
    run, script, grandchild, _ = _double_fork(runner, tmp_path)

    run.signal(signal.SIGTERM)
    result = run.result()

    assert result["reason"] == "terminated"
    assert result["signal"] == signal.SIGTERM
    assert not alive(grandchild)
    assert not alive(script)


def test_orphans_that_end_are_reaped_so_no_zombie_remains(runner, tmp_path):
    run, script, grandchild, go = _double_fork(runner, tmp_path, linger=0)

    # Not even a zombie: the runner waited for it while the script still runs.
    wait_until(lambda: proc_stat(grandchild) is None, "the ended orphan is reaped")
    children = children_of(run.pid)
    assert set(children) == {script}
    assert not children[script].startswith("Z")

    go.touch()
    assert run.result()["exit_code"] == 0


# Limits --------------------------------------------------------------------


def test_the_memory_limit_makes_a_big_allocation_fail(runner):
    run = runner.start("eats_memory.py", "1024", memory_mb=200)

    result = run.result()

    assert run.process.returncode == 0
    assert result["reason"] == "exited"
    assert result["exit_code"] not in (0, None)
    assert b"MemoryError" in run.errors()
    assert run.output() == b""


def test_the_memory_limit_leaves_room_for_a_modest_script(runner):
    run = runner.start("eats_memory.py", "20", memory_mb=200)

    result = run.result()

    assert result["exit_code"] == 0
    assert run.output() == f"allocated {20 * 1024 * 1024} bytes\n".encode()


def test_the_cpu_limit_stops_a_spinning_script(runner):
    run = runner.start("burns_cpu.py", cpu_seconds=1)

    result = run.result()

    assert result["reason"] == "exited"
    assert result["signal"] in (signal.SIGXCPU, signal.SIGKILL)
    assert run.output() == b"spinning\n"


# The manager going away ----------------------------------------------------


def test_it_outlives_a_killed_manager_and_still_cleans_up_when_terminated(runner, tmp_path):
    pidfile = tmp_path / "grandchild"
    exit_file = tmp_path / "orphaned.exit.json"
    never = tmp_path / "never"
    script_argv = [PYTHON, str(SCRIPTS / "double_fork.py"), str(pidfile), "--wait-for", str(never)]
    argv = runner.runner_argv(exit_file, script_argv)
    manager_code = (
        "import subprocess, sys, time\n"
        "subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, start_new_session=True)\n"
        "time.sleep(600)\n"
    )
    with (tmp_path / "orphaned.stdout").open("wb") as out:
        manager = subprocess.Popen(
            [PYTHON, "-c", manager_code, *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    runner.watch(manager.pid)
    state_file = Path(f"{exit_file}.state")
    state = wait_until(lambda: read_json(state_file), "the state file appears")
    runner_pid, script = state["runner_pid"], state["script_pid"]
    grandchild = read_pids(pidfile)[0]
    runner.watch(runner_pid, script, grandchild)
    try:
        manager.kill()
        manager.wait(timeout=DEADLINE)

        wait_until(lambda: proc_stat(runner_pid)[1] != manager.pid, "the runner is re-parented")
        assert alive(runner_pid)
        assert alive(script)
        assert alive(grandchild)
        assert not exit_file.exists()

        os.kill(runner_pid, signal.SIGTERM)
        result = wait_until(lambda: read_json(exit_file), "the exit file is written")
        wait_until(lambda: not alive(runner_pid), "the runner exits")
    finally:
        for pid in (runner_pid, script, grandchild):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    assert result["reason"] == "terminated"
    assert result["runner_pid"] == runner_pid
    assert result["script_pid"] == script
    assert not alive(script)
    assert not alive(grandchild)


def test_a_sigkilled_runner_takes_the_script_with_it(runner):
    run = runner.start("sleeper.py")
    script = run.state()["script_pid"]

    run.signal(signal.SIGKILL)
    run.process.wait(timeout=DEADLINE)

    wait_until(lambda: not alive(script), "the script dies with its runner")
    assert not run.exit_file.exists()


# Output limit ---------------------------------------------------------------

LIMIT_NOTICE = b"[scriptsmanager runner] output limit of 1 MiB reached"


def test_the_output_limit_stops_the_script_and_the_files_stay_within_it(runner):
    run = runner.start("floods.py", "2000", output_limit_mb=1)

    result = run.result()

    assert run.process.returncode == 0
    assert result["reason"] == "output_limit"
    assert result["signal"] == signal.SIGTERM
    assert run.stdout.stat().st_size == MIB  # to the byte: the runner copies no more
    errors = run.errors()
    assert errors.startswith(LIMIT_NOTICE)
    assert b"finished" not in errors


def test_a_script_ignoring_sigterm_past_the_output_limit_is_killed_and_writes_no_more(runner):
    run = runner.start("floods.py", "100000", "--ignore-sigterm", output_limit_mb=1)

    result = run.result(timeout=GRACE + DEADLINE)

    assert result["reason"] == "output_limit"
    assert result["killed_after_grace"] is True
    assert result["signal"] == signal.SIGKILL
    assert run.stdout.stat().st_size == MIB
    assert run.errors().startswith(LIMIT_NOTICE)


def test_output_within_the_limit_is_copied_whole_even_after_the_script_ends(runner):
    run = runner.start("floods.py", "3", output_limit_mb=4)

    result = run.result()

    assert result["reason"] == "exited" and result["exit_code"] == 0
    assert run.output() == (b"x" * 65535 + b"\n") * 48
    assert run.errors() == b"finished\n"


def test_without_an_output_limit_the_script_writes_the_files_itself(runner):
    run = runner.start(
        "echoes.py", output_limit_mb=0, env={**os.environ, "SM_RUNNER_TEST": "direct"}
    )

    assert run.result()["reason"] == "exited"
    assert b"env=direct\n" in run.output()

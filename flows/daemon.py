"""The resident process of `logcast ingest` against a Prefect server.

A fresh `logcast ingest` spends most of its seconds importing Prefect, pandas, Pandera and
Great Expectations before it reads a line. With PREFECT_API_URL set, the command instead hands
its arguments to a resident process that has imported them already, the way a build tool's
daemon does: the process runs the command exactly as the command would (same code, same
directory, same environment, the same flow run on the same server), sends back every line it
prints and the exit status, and waits for the next one.

- One resident process per user, directory, Python, Prefect settings and version of this code:
  anything that changes how the command would run starts another one (and the old one idles out).
- The first command starts it and is served by it (the imports take what they took before);
  the ones after skip them. It stops after LOGCAST_DAEMON_IDLE_MINUTES without a command (30),
  after a command leaves it larger than LOGCAST_DAEMON_MAX_MB (2048), or on
  `logcast daemon stop`. `logcast daemon status` lists the running ones.
- LOGCAST_DAEMON=off runs every command in its own process, as without a server.
- Ctrl-C on the command cancels the run in the resident process, as it would in its own.

The socket lives in a directory only its user can open ($XDG_RUNTIME_DIR/logcast, else
~/.cache/logcast/daemons), and a connection must also prove it knows the user's key."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

PACKAGES = ("flows", "warehouse", "transforms", "schemas", "deployments")
"""This code: a change to any of its files starts a new resident process."""
KEYED_ENVIRONMENT = ("PREFECT_", "GX_", "DO_NOT_TRACK", "PYTHON")
"""Variables read when the libraries load (not per command): a process serves only commands
with the same values."""
IDLE_MINUTES = 30.0
MAX_MB = 2048.0
START_SECONDS = 180.0
"""How long a command waits for the resident process it started to listen (the first start
on a cold machine imports for a while; a start that fails is noticed at once)."""


class DaemonError(RuntimeError):
    """The resident process could not be used; the command runs in its own process."""


# where -----------------------------------------------------------------------------------------
def state_dir() -> Path:
    """The user's directory of sockets, keys and logs (mode 0700)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = (
        Path(runtime) / "logcast"
        if runtime and Path(runtime).is_dir()
        else Path.home() / ".cache" / "logcast" / "daemons"
    )
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    base.chmod(0o700)
    return base


def _code_fingerprint() -> list[Any]:
    root = Path(__file__).resolve().parent.parent
    files = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            stat = path.stat()
            files.append([str(path.relative_to(root)), stat.st_mtime_ns, stat.st_size])
    return files


def daemon_key(cwd: str | None = None, environ: dict[str, str] | None = None) -> str:
    """What a resident process must share with a command to run it: directory, interpreter,
    import path, the library settings of the environment, Prefect's profiles and this code."""
    environ = dict(os.environ if environ is None else environ)
    keyed = {k: v for k, v in environ.items() if k.startswith(KEYED_ENVIRONMENT)}
    prefect_home = Path(environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    profiles = prefect_home / "profiles.toml"
    identity = {
        "uid": os.getuid(),
        "cwd": cwd or os.getcwd(),
        "python": sys.executable,
        "path": sys.path[1:],  # [0] is the script's own folder
        "environment": sorted(keyed.items()),
        "profiles": profiles.stat().st_mtime_ns if profiles.exists() else None,
        "code": _code_fingerprint(),
    }
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


def _authkey() -> bytes:
    """The user's key, made by whoever needs it first: written whole to a file of its own,
    then linked into place, so that no one reads it half written."""
    path = state_dir() / "authkey"
    if not path.exists():
        draft = path.with_name(f"authkey.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
        try:
            os.link(draft, path)  # fails when another made it meanwhile: theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()


class Paths:
    def __init__(self, key: str) -> None:
        base = state_dir()
        self.key = key
        self.socket = base / f"{key}.sock"
        self.lock = base / f"{key}.lock"
        self.info = base / f"{key}.json"
        self.log = base / f"{key}.log"


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Commands go to a resident process: a Prefect server is named and LOGCAST_DAEMON is not
    off."""
    environ = os.environ if environ is None else environ
    setting = environ.get("LOGCAST_DAEMON", "on").strip().lower()
    if setting not in ("on", "off", "1", "0", "true", "false", "yes", "no", ""):
        raise ValueError(f"LOGCAST_DAEMON={setting!r}: expected on or off")
    return bool(environ.get("PREFECT_API_URL")) and setting not in ("off", "0", "false", "no")


def _alive(pid: int) -> bool:
    """The process runs (an exited one its parent has not reaped yet does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _lock_held(path: Path) -> bool:
    """A resident process holds its lock for as long as it lives."""
    import fcntl

    if not path.exists():
        return False
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def read_info(paths: Paths) -> dict[str, Any] | None:
    try:
        return json.loads(paths.info.read_text())
    except (OSError, ValueError):
        return None


# the command's side ----------------------------------------------------------------------------
SOCKET_PATH_MAX = 100
"""A Unix socket's path must fit in 108 bytes."""


def _connect(paths: Paths) -> Connection | None:
    if len(os.fsencode(paths.socket)) > SOCKET_PATH_MAX:
        raise DaemonError(
            f"{paths.socket} is too long a path for a socket; set XDG_RUNTIME_DIR to a shorter "
            "directory"
        )
    if not paths.socket.exists():
        return None
    try:
        return Client(str(paths.socket), family="AF_UNIX", authkey=_authkey())
    except (OSError, EOFError):
        return None


def _start(paths: Paths) -> subprocess.Popen:
    """Starts the resident process of `paths.key`, detached from this command's terminal."""
    if paths.log.exists() and paths.log.stat().st_size > 10_000_000:
        paths.log.unlink()
    with open(paths.log, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-P", "-m", "flows.daemon", paths.key],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of this command is not its
            close_fds=True,
        )


def connect(paths: Paths, *, start: bool = True) -> Connection:
    """A connection to the resident process of `paths.key`: the running one, else one started
    now (waiting while it imports)."""
    info = read_info(paths)
    if info and info.get("busy") and _alive(int(info.get("pid", 0))):
        print(
            f"logcast: the resident process (pid {info['pid']}) is running another command; "
            "this one starts when it ends",
            file=sys.stderr,
            flush=True,
        )
    conn = _connect(paths)
    if conn is not None:
        return conn
    process = None
    if not _lock_held(paths.lock):
        if not start:
            raise DaemonError("no resident process is running")
        _retire_older(paths)
        process = _start(paths)
        print(
            f"logcast: started a resident process (pid {process.pid}) that keeps the flows "
            "loaded for the next commands in this directory; `logcast daemon stop` stops it, "
            "LOGCAST_DAEMON=off does without",
            file=sys.stderr,
            flush=True,
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        conn = _connect(paths)
        if conn is not None:
            return conn
        if process is not None and process.poll() is not None:
            if _lock_held(paths.lock):  # another command's start won the race: use that one
                process = None
                continue
            raise DaemonError(
                f"the resident process exited with status {process.returncode} before it "
                f"listened (its log: {paths.log})"
            )
        if process is None and not _lock_held(paths.lock):
            raise DaemonError(f"the resident process stopped while starting (its log: {paths.log})")
    raise DaemonError(
        f"the resident process did not listen within {START_SECONDS:.0f} s (its log: {paths.log})"
    )


def _retire_older(paths: Paths) -> None:
    """Asks the resident processes of this directory, server and Python that run another
    version of the code (or other settings) to stop once idle: this command starts the one it
    needs, and theirs would only wait out their idle time."""
    here = {"cwd": os.getcwd(), "prefect_api_url": os.environ.get("PREFECT_API_URL", "")}
    for info in running():
        same = all(info.get(k) == v for k, v in here.items()) and info.get("python") == (
            sys.executable
        )
        if same and info["key"] != paths.key:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(info["pid"]), signal.SIGTERM)


def run_command(argv: list[str]) -> int | None:
    """Runs `logcast ARGV` in the resident process and returns its exit status, printing what
    it prints; None when there is none to use (LOGCAST_DAEMON=off, no PREFECT_API_URL, or it
    could not start: then the caller runs the command itself)."""
    if not enabled():
        return None
    try:
        paths = Paths(daemon_key())
        conn = connect(paths)
    except (DaemonError, OSError, RuntimeError) as exc:  # RuntimeError: no home directory
        print(f"logcast: {exc}; running the command in this process", file=sys.stderr)
        return None
    with conn:
        conn.send({"argv": list(argv), "cwd": os.getcwd(), "environ": dict(os.environ)})
        cancelled = False
        while True:
            try:
                message = conn.recv()
            except KeyboardInterrupt:
                if cancelled:
                    return 130
                cancelled = True
                print("logcast: cancelling the run (Ctrl-C again to leave it)", file=sys.stderr)
                with contextlib.suppress(OSError):
                    conn.send("cancel")
                continue
            except (EOFError, OSError):
                info = read_info(paths) or {}
                print(
                    f"logcast: error: the resident process (pid {info.get('pid', '?')}) ended "
                    f"before the command finished; its log: {paths.log}",
                    file=sys.stderr,
                )
                return 1
            kind, payload = message
            if kind == "exit":
                return int(payload)
            stream = sys.stdout if kind == "out" else sys.stderr
            stream.write(payload)
            stream.flush()


def running() -> list[dict[str, Any]]:
    """The user's resident processes: what their info files say, for those alive."""
    found = []
    for info_path in sorted(state_dir().glob("*.json")):
        paths = Paths(info_path.stem)
        info = read_info(paths)
        if info and _alive(int(info.get("pid", 0))) and _lock_held(paths.lock):
            found.append({**info, "key": paths.key, "log": str(paths.log)})
    return found


def stop(info: dict[str, Any], timeout: float = 30.0) -> bool:
    """Asks a resident process to stop (after the command it runs, if any); True once gone."""
    pid = int(info["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    paths = Paths(info["key"])
    while time.monotonic() < deadline:
        if not _alive(pid) or not _lock_held(paths.lock):
            return True
        time.sleep(0.05)
    return False


# the resident side ----------------------------------------------------------------------------
class _Channel(io.TextIOBase):
    """sys.stdout or sys.stderr of the resident process: while a command runs, what is written
    goes to it; otherwise to the process's log. Logging handlers made at import keep this
    object, so they follow the command too."""

    def __init__(self, kind: str, fallback: Any) -> None:
        self.kind = kind
        self.fallback = fallback
        self.conn: Connection | None = None
        self.lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def write(self, text: str) -> int:
        with self.lock:
            conn = self.conn
            if conn is not None:
                try:
                    conn.send((self.kind, text))
                    return len(text)
                except (OSError, ValueError):
                    self.conn = None  # the command went away; the rest goes to the log
            self.fallback.write(text)
            return len(text)

    def flush(self) -> None:
        if self.conn is None:
            self.fallback.flush()


class Resident:
    def __init__(self, key: str) -> None:
        self.paths = Paths(key)
        self.idle_seconds = 60 * _number("LOGCAST_DAEMON_IDLE_MINUTES", IDLE_MINUTES)
        self.max_mb = _number("LOGCAST_DAEMON_MAX_MB", MAX_MB)
        self.busy = False
        self.stopping = False
        self.last = time.monotonic()
        self.served = 0
        self.state = threading.Lock()
        self.running_command = False

    # life
    def serve(self) -> int:
        import fcntl

        lock = open(self.paths.lock, "a")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another one serves this key
        self.out = _Channel("out", sys.__stdout__)
        self.err = _Channel("err", sys.__stderr__)
        sys.stdout, sys.stderr = self.out, self.err  # before any library keeps a stream
        self._log(f"starting for {os.getcwd()} (pid {os.getpid()})")
        self._load()
        with contextlib.suppress(FileNotFoundError):
            self.paths.socket.unlink()  # a crashed predecessor's
        listener = Listener(str(self.paths.socket), family="AF_UNIX", authkey=_authkey())
        self.paths.socket.chmod(0o600)
        self._write_info()
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_interrupt)  # only a command's cancel
        threading.Thread(target=self._watch_idle, daemon=True, name="idle").start()
        self._log("listening")
        try:
            while not self.stopping:
                try:
                    conn = listener.accept()
                except (OSError, EOFError, AuthenticationError) as exc:
                    # a failed handshake (a wrong key, a client gone) ends only that one
                    self._log(f"refused a connection: {exc!r}")
                    continue
                self.last = time.monotonic()
                try:
                    self._handle(conn)
                except (KeyboardInterrupt, EOFError, OSError):
                    pass
                finally:
                    with contextlib.suppress(OSError):
                        conn.close()
                self.served += 1
                self.last = time.monotonic()
                self._write_info()
                size = _rss_mb()
                if size > self.max_mb:
                    self._log(f"stopping: {size:.0f} MB after the command, above {self.max_mb:g}")
                    break
        finally:
            self._cleanup()
        return 0

    def _load(self) -> None:
        """What an ingest runs, imported once for every command to come."""
        import flows.cli
        import flows.pipeline  # noqa: F401
        from warehouse.quality import load_great_expectations

        load_great_expectations()

    def _write_info(self) -> None:
        info = {
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "prefect_api_url": os.environ.get("PREFECT_API_URL", ""),
            "python": sys.executable,
            "started": _started(),
            "commands": self.served,
            "rss_mb": round(_rss_mb()),
            "busy": self.busy,
        }
        temporary = self.paths.info.with_suffix(".tmp")
        temporary.write_text(json.dumps(info))
        temporary.replace(self.paths.info)

    def _cleanup(self) -> None:
        for path in (self.paths.socket, self.paths.info):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._log("stopped")

    def _on_term(self, *_: Any) -> None:
        self.stopping = True
        if not self.busy:
            self._cleanup()
            os._exit(0)

    def _on_interrupt(self, *_: Any) -> None:
        if self.running_command:
            raise KeyboardInterrupt

    def _watch_idle(self) -> None:
        while True:
            time.sleep(min(5.0, self.idle_seconds))
            if not self.busy and time.monotonic() - self.last > self.idle_seconds:
                self._log(f"stopping: idle for {self.idle_seconds / 60:g} min")
                self.stopping = True
                self._cleanup()
                os._exit(0)

    def _log(self, text: str) -> None:
        sys.__stderr__.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} logcast daemon: {text}\n")
        sys.__stderr__.flush()

    # one command
    def _handle(self, conn: Connection) -> None:
        request = conn.recv()
        self.busy = True
        self._write_info()
        saved = dict(os.environ)
        here = os.getcwd()
        self.out.conn = self.err.conn = conn
        with self.state:
            self.running_command = True
        watcher = threading.Thread(target=self._watch_cancel, args=(conn,), daemon=True)
        watcher.start()
        code = 1
        try:
            os.environ.clear()
            os.environ.update(request["environ"])
            os.chdir(request["cwd"])
            code = self._run(list(request["argv"]))
        finally:
            with self.state:
                self.running_command = False
            sys.stdout.flush()
            sys.stderr.flush()
            self.out.conn = self.err.conn = None
            os.environ.clear()
            os.environ.update(saved)
            os.chdir(here)
            self.busy = False
            with contextlib.suppress(OSError, ValueError):
                conn.send(("exit", code))

    def _run(self, argv: list[str]) -> int:
        from flows.cli import main

        try:
            with _run_settings():
                return main(argv)
        except KeyboardInterrupt:
            print("logcast: cancelled", file=sys.stderr)
            return 130
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # the command failed: say so, keep serving
            self._log("".join(traceback.format_exception(exc)))
            print(
                f"logcast: error: {type(exc).__name__}: {exc} (the details are in "
                f"{self.paths.log})",
                file=sys.stderr,
            )
            return 1

    def _watch_cancel(self, conn: Connection) -> None:
        """Turns the command's Ctrl-C (a "cancel", or its end of the connection closing) into
        a SIGINT of the thread that runs it, as a Ctrl-C in its own process would be."""
        while True:
            with self.state:
                if not self.running_command:
                    return
            try:
                if not conn.poll(0.2):
                    continue
                conn.recv()
            except (EOFError, OSError):
                pass
            with self.state:
                if self.running_command:
                    self._log("the command was cancelled")
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            return


@contextlib.contextmanager
def _run_settings():
    """Prefect's settings for the runs of commands here. Flow-run heartbeats are off unless
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY asks for them: they let a server's automation mark a run
    crashed when the process running it dies unseen, and here the command waits on the run and
    says when this process ended under it; stopping their thread costs up to a second of every
    run (it sleeps in one-second steps)."""
    if os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY") or os.environ.get(
        "PREFECT_RUNNER_HEARTBEAT_FREQUENCY"
    ):
        yield
        return
    import prefect.settings

    with prefect.settings.temporary_settings(
        {prefect.settings.PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    ):
        yield


def _number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        value = default
    return value if value > 0 else default


def _rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


_STARTED = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _started() -> str:
    return _STARTED


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m flows.daemon KEY (started by `logcast ingest`)", file=sys.stderr)
        return 2
    return Resident(args[0]).serve()


if __name__ == "__main__":
    sys.exit(main())

"""flows.daemon without a server: which commands share a resident process, when it is used,
and where what a command prints goes."""

import io
from multiprocessing import Pipe

import pytest

from flows import daemon


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    return tmp_path


BASE = {"PREFECT_API_URL": "http://127.0.0.1:4200/api", "PREFECT_HOME": "/p", "PATH": "/bin"}


def test_a_process_is_shared_by_commands_that_differ_only_in_logcast_settings(home):
    key = daemon.daemon_key("/work", BASE)
    assert daemon.daemon_key("/work", {**BASE, "LOGCAST_HOME": "/elsewhere"}) == key
    assert daemon.daemon_key("/work", {**BASE, "TERM": "dumb"}) == key
    assert daemon.daemon_key("/other", BASE) != key
    assert daemon.daemon_key("/work", {**BASE, "PREFECT_API_URL": "http://h:1/api"}) != key
    assert daemon.daemon_key("/work", {**BASE, "PREFECT_HOME": "/q"}) != key
    assert daemon.daemon_key("/work", {**BASE, "PYTHONPATH": "/x"}) != key
    assert daemon.daemon_key("/work", {**BASE, "GX_ANALYTICS_ENABLED": "false"}) != key


def test_it_is_used_only_with_a_server_named_and_not_turned_off():
    assert daemon.enabled(BASE)
    assert daemon.enabled({**BASE, "LOGCAST_DAEMON": "on"})
    assert not daemon.enabled({**BASE, "LOGCAST_DAEMON": "off"})
    assert not daemon.enabled({**BASE, "LOGCAST_DAEMON": "0"})
    assert not daemon.enabled({"LOGCAST_DAEMON": "on"})  # no server: its own temporary one
    with pytest.raises(ValueError, match="LOGCAST_DAEMON='sometimes': expected on or off"):
        daemon.enabled({**BASE, "LOGCAST_DAEMON": "sometimes"})


def test_the_state_directory_is_the_users_alone(home):
    folder = daemon.state_dir()
    assert folder == home / "logcast"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_what_a_command_prints_goes_to_it_and_otherwise_to_the_log():
    log = io.StringIO()
    channel = daemon._Channel("err", log)
    ours, theirs = Pipe()
    channel.write("before\n")
    channel.conn = ours
    channel.write("during\n")
    assert theirs.recv() == ("err", "during\n")
    theirs.close()  # the command went away: the rest goes to the log, nothing raises
    channel.write("after\n")
    assert channel.conn is None
    assert log.getvalue() == "before\nafter\n"
    assert not channel.isatty()


def test_a_socket_path_too_long_is_said_not_raised(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    with pytest.raises(daemon.DaemonError, match="too long a path for a socket"):
        daemon.connect(daemon.Paths("0123456789abcdef"))

"""Review 78: an adversarial read of newcomer15 (values quoted or commented in a file of
variables, the short-numeric caller's key warning, Django's ASGI lifespan) and review77
(docs_url's header-safe base, har_file's fork handling).

Each test is one case found there, with the library's real parts; none passed before its
fix.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from readme_metrics import MetricsApiConfig
from tests.test_newcomer_findings import _project

# -- a key list whose item starts with "#" ----------------------------------------------------
#
# newcomer15 took a blank then "#" anywhere in a variable's value for a comment that
# `docker run --env-file` kept, and refused the value. In a key list, "#" right after a
# comma (and blanks) begins a key: README_DENYLIST="password, #pin" (a JSON body's "#pin"
# field) was refused, and the refusal told to write 'password,' instead, which would have
# sent "#pin" unredacted.


@pytest.mark.parametrize(("variable", "text", "keys"), [
    pytest.param("README_DENYLIST", "password, #pin", ["password", "#pin"], id="denylist"),
    pytest.param("README_ALLOWLIST", "id,  #tag,name", ["id", "#tag", "name"],
                 id="allowlist-two-blanks"),
])
def test_a_key_starting_with_a_hash_after_a_comma_is_a_key_not_a_comment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, text: str,
        keys: list[str]) -> None:
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv(variable, text)
    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    assert getattr(config, variable[len("README_"):].lower()) == keys


@pytest.mark.parametrize("text", ["password,token # secrets", "password,token, # secrets",
                                  "password,token,  #"])
def test_a_comment_after_a_key_list_is_still_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    _project(tmp_path, monkeypatch)
    monkeypatch.setenv("README_DENYLIST", text)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    assert "ends with a comment" in str(caught.value), str(caught.value)


# -- a comment inside the quotes of a .env file -------------------------------------------------
#
# The library reads .env itself (python-dotenv), which removes quotes and a comment after
# them, but keeps a comment written inside the quotes. Refused since newcomer15, the value
# was said to be "part of the value where nothing removes it (`docker run --env-file`
# keeps lines as written)", while the refusal named the .env file it came from, where
# docker had no part: the cause is the quotes around the comment.


@pytest.mark.parametrize(("line", "meant"), [
    pytest.param('README_FLUSH_INTERVAL="2 # seconds"', "'2'", id="number"),
    pytest.param('README_DENYLIST="password,token # secrets"', "'password,token'",
                 id="key-list"),
    pytest.param("README_METRICS_SERVER='http://127.0.0.1:9 # local'", "", id="url"),
])
def test_a_comment_inside_the_quotes_of_a_dotenv_line_blames_the_quotes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, meant: str) -> None:
    _project(tmp_path, monkeypatch)
    variable = line.split("=", 1)[0]
    monkeypatch.delenv(variable, raising=False)
    (tmp_path / ".env").write_text(line + "\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    message = str(caught.value)
    assert str(tmp_path / ".env") in message, message  # (where it was read)
    assert "ends with a comment" in message, message
    assert "a .env file keeps what stands inside its quotes" in message, message
    assert "docker" not in message, message
    assert message.count("ends with a comment") == 1, message
    if meant:
        assert f"write it without the comment, {meant}" in message, message


def test_the_same_comment_from_the_environment_still_names_docker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)  # (no .env file)
    monkeypatch.setenv("README_FLUSH_INTERVAL", "2 # seconds")
    with pytest.raises(ValueError) as caught:
        MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    assert "`docker run --env-file` keeps lines as written" in str(caught.value)


# -- a child forked between the lock's open and its record, or its removal and close ---------
#
# review77 had a child forked while the collector's HAR write holds the folder's flock
# close its copy of the lock's descriptor: the descriptors are recorded in a set, and the
# child closes what the set holds. A fork from another thread between os.open and the
# record missed it: the child kept the descriptor, the parent then took the lock through
# the same open file, and the lock stayed held by the child until it exited, every later
# write waiting for it (the window is a few instructions wide, but a multiprocessing
# "fork" worker started from a thread can land there).
#
# flake23: the same at the block's end. The descriptor left the set, then was closed; a
# fork between the two (os.close lets other threads run) left the child a descriptor the
# set no longer held, and the lock held after the block: the "open" case's BlockingIOError
# on a fresh CI once, when its fork landed there (2 and 96 of 3,000 in a stress of forks
# from a thread around a write, with and without waiting for the child's hooks).


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
@pytest.mark.parametrize("window", ["open", "close"])
def test_a_child_forked_at_the_locks_open_or_close_does_not_keep_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: str) -> None:
    import fcntl
    import threading

    from readme_metrics.cli.collector import har_file

    real_open, real_close = os.open, os.close
    opened, forked = threading.Event(), threading.Event()
    lock_fds: list[int] = []
    parent, writer = os.getpid(), threading.get_ident()

    def open_then_let_a_fork_in(path: object, flags: int, *args: int) -> int:
        fd = real_open(path, flags, *args)  # type: ignore[arg-type]
        if path == tmp_path:
            lock_fds.append(fd)
            if window == "open":
                opened.set()
                forked.wait(2)  # the fork lands here, unless the open is closed to it
        return fd

    def let_a_fork_in_then_close(fd: int) -> None:
        if window == "close" and fd in lock_fds and os.getpid() == parent \
                and threading.get_ident() == writer:
            opened.set()
            forked.wait(2)  # the fork lands here, unless the close is closed to it
        real_close(fd)

    go_on, told = os.pipe()
    ready, running = os.pipe()
    pids: list[int] = []

    def fork_when_opened() -> None:
        opened.wait(10)
        pid = os.fork()
        if pid == 0:  # the child: says it runs, waits, writes nothing
            try:
                os.write(running, b"r")
                os.read(go_on, 1)
            finally:
                os._exit(0)
        pids.append(pid)
        forked.set()

    monkeypatch.setattr(har_file.os, "open", open_then_let_a_fork_in)
    monkeypatch.setattr(har_file.os, "close", let_a_fork_in_then_close)
    monkeypatch.setattr(har_file, "_FORK_WAIT", 10.0)  # longer than the open's own wait
    forker = threading.Thread(target=fork_when_opened)
    forker.start()
    try:
        with har_file._writers_one_at_a_time(tmp_path):
            monkeypatch.setattr(har_file.os, "open", real_open)
        monkeypatch.setattr(har_file.os, "close", real_close)
        forker.join(10)
        assert lock_fds, "the block took no lock"
        assert os.read(ready, 1) == b"r"
        other = os.open(tmp_path, os.O_RDONLY)  # as another writer's lock would
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError before
        finally:
            os.close(other)
    finally:
        monkeypatch.setattr(har_file.os, "close", real_close)
        os.write(told, b"x")
        for pid in pids:
            os.waitpid(pid, 0)
        for fd in (go_on, told, ready, running):
            os.close(fd)

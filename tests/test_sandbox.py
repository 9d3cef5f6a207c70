import os
import socket
import tempfile
from pathlib import Path

import pytest

from judgeflow import sandbox
from judgeflow.sandbox import Limits

ADD = "def add(a, b):\n    return a + b\n"
ADD_TESTS = ["assert add(1, 2) == 3", "assert add(-4, 4) == 0"]
FAST = Limits(wall_seconds=5, cpu_seconds=1, memory_mb=256)


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """Sandbox roots go under a directory of this test, so the test can check they are removed."""
    root = tmp_path / "sandbox-roots"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root
    assert list(root.iterdir()) == []


def snapshot(directory) -> dict:
    """Every path under a directory with its content (None for directories) and mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            content = None if os.path.isdir(path) else Path(path).read_bytes()
            out[os.path.relpath(path, directory)] = (content, os.lstat(path).st_mode)
    return out


@pytest.fixture
def watched(tmp_path):
    directory = tmp_path / "watched"
    (directory / "sub").mkdir(parents=True)
    (directory / "keep.txt").write_text("original")
    (directory / "sub" / "inner.txt").write_text("inner")
    return directory


def test_correct_candidate_passes():
    result = sandbox.run_tests(ADD, ADD_TESTS, FAST)
    assert result["status"] == "passed" and result["passed"] is True
    assert (result["tests_passed"], result["tests_total"]) == (2, 2)
    assert result["isolation"]["audit_hook"] is True
    assert set(result) >= {"passed", "status", "tests_passed", "tests_total", "stderr_tail", "seconds"}


def test_wrong_candidate_fails_and_counts_tests():
    wrong = "def add(a, b):\n    return a - b if a < 0 else a + b\n"  # right for (1, 2), wrong for (-4, 4)
    result = sandbox.run_tests(wrong, ADD_TESTS, FAST)
    assert (result["status"], result["passed"], result["tests_passed"], result["tests_total"]) == \
        ("failed", False, 1, 2)
    assert result["detail"].startswith("test 1: AssertionError")
    assert "AssertionError" in result["stderr_tail"]


def test_exception_in_a_test_is_a_failure_not_a_crash():
    code = "def add(a, b):\n    raise ValueError('nope')\n"
    result = sandbox.run_tests(code, ADD_TESTS, FAST)
    assert (result["status"], result["tests_passed"]) == ("failed", 0)
    assert "ValueError: nope" in result["detail"]


def test_syntax_error_and_early_exit_are_errors():
    assert sandbox.run_tests("def add(a, b) return a", ADD_TESTS, FAST)["status"] == "error"
    result = sandbox.run_tests("import os\nos._exit(0)\n" + ADD, ADD_TESTS, FAST)
    assert (result["status"], result["passed"], result["tests_passed"]) == ("error", False, 0)
    result = sandbox.run_tests("import sys\nsys.exit(0)\n", ADD_TESTS, FAST)
    assert result["status"] == "error" and "SystemExit" in result["detail"]


def test_busy_loop_is_stopped_by_the_cpu_limit():
    # a generous wall clock, so that on a busy machine it is still the CPU limit that stops the loop
    result = sandbox.run_tests(ADD + "while True:\n    pass\n", ADD_TESTS, Limits(wall_seconds=30, cpu_seconds=1))
    assert (result["status"], result["passed"], result["tests_passed"]) == ("timeout", False, 0)
    assert result["detail"] == "CPU limit of 1s" and 0.9 <= result["cpu_seconds"] < 2.5


def test_loop_inside_a_test_keeps_the_tests_passed_before_it():
    code = ADD + "def spin():\n    while True:\n        pass\n"
    result = sandbox.run_tests(code, ADD_TESTS + ["spin()"], FAST)
    assert (result["status"], result["tests_passed"], result["tests_total"]) == ("timeout", 2, 3)


def test_sleeping_candidate_is_stopped_by_the_wall_clock():
    result = sandbox.run_tests("import time\ntime.sleep(60)\n" + ADD, ADD_TESTS, Limits(wall_seconds=1))
    assert (result["status"], result["passed"]) == ("timeout", False)
    assert "wall-clock" in result["detail"] and 1 <= result["seconds"] < 3


@pytest.mark.parametrize("code", [
    "blob = bytearray(4 * 1024 ** 3)\n",
    "chunks = []\nwhile True:\n    chunks.append(bytearray(10 ** 7))\n",
])
def test_memory_hog_is_stopped(code):
    result = sandbox.run_tests(code + ADD, ADD_TESTS, FAST)
    assert (result["status"], result["passed"], result["tests_passed"]) == ("memory", False, 0)


def test_memory_hog_inside_a_test():
    code = ADD + "def hog():\n    return [0] * (10 ** 9)\n"
    result = sandbox.run_tests(code, ["assert add(1, 2) == 3", "hog()"], FAST)
    assert (result["status"], result["tests_passed"]) == ("memory", 1)


@pytest.mark.parametrize("attack", [
    "open({keep!r}, 'a').write('changed')",
    "open({new!r}, 'w').write('new file')",
    "import pathlib; pathlib.Path({new!r}).write_text('new file')",
    "import os; os.remove({keep!r})",
    "import os; os.rename({keep!r}, {new!r})",
    "import os; os.chmod({keep!r}, 0o777)",
    "import os; os.mkdir({new!r})",
    "import shutil; shutil.rmtree({sub!r})",
    "import os; os.symlink({watched!r}, 'link'); open('link/new.txt', 'w')",
    "import os; fd = os.open({watched!r}, os.O_RDONLY); os.open('new.txt', os.O_WRONLY | os.O_CREAT, dir_fd=fd)",
    "import os; os.link({keep!r}, 'hard'); open('hard', 'a').write('changed')",
    "import os; os.system('touch ' + {new!r})",
    "import subprocess; subprocess.run(['touch', {new!r}])",
    "import os\nif os.fork() == 0:\n    open({new!r}, 'w')",
])
def test_writes_outside_the_sandbox_are_blocked(watched, attack):
    before = snapshot(watched)
    paths = {"keep": str(watched / "keep.txt"), "new": str(watched / "new.txt"), "sub": str(watched / "sub"),
             "watched": str(watched)}
    code = ADD + "try:\n" + "".join(f"    {line}\n" for line in attack.format(**paths).splitlines()) + \
        "except Exception:\n    pass\n"  # a caught exception must not let it go on
    result = sandbox.run_tests(code, ADD_TESTS, FAST)
    assert (result["status"], result["passed"], result["tests_passed"]) == ("blocked", False, 0)
    assert snapshot(watched) == before


def test_writes_inside_the_sandbox_work_and_the_environment_is_minimal(monkeypatch):
    monkeypatch.setenv("JUDGEFLOW_SECRET_PROBE", "do-not-leak")
    code = ("import os, tempfile\n"
            "with open('notes.txt', 'w') as f:\n    f.write('hello')\n"
            "with tempfile.NamedTemporaryFile('w') as f:\n    f.write('x')\n"
            "os.makedirs('a/b')\nos.rename('notes.txt', 'a/b/notes.txt')\n"
            "def probe():\n    return open('a/b/notes.txt').read()\n")
    tests = ["assert probe() == 'hello'",
             "import os\nassert os.environ['HOME'] == os.getcwd() == os.environ['TMPDIR']",
             "import os\nassert 'JUDGEFLOW_SECRET_PROBE' not in os.environ",
             "import os\nassert sorted(os.environ) == ['HOME', 'LANG', 'LC_ALL', 'PATH', 'TMPDIR']"]
    result = sandbox.run_tests(code, tests, FAST)
    assert (result["status"], result["tests_passed"]) == ("passed", 4), result["stderr_tail"]


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    yield server
    server.close()


def assert_no_connection(server):
    with pytest.raises(BlockingIOError):
        server.accept()


@pytest.mark.parametrize("where", ["module", "test"])
def test_socket_is_blocked_and_nothing_connects(listener, where):
    port = listener.getsockname()[1]
    connect = (f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
               "s.sendall(b'leak')\n")
    if where == "module":
        result = sandbox.run_tests(connect + ADD, ADD_TESTS, FAST)
        assert result["tests_passed"] == 0
    else:
        result = sandbox.run_tests(ADD, ADD_TESTS + [connect], FAST)
        assert result["tests_passed"] == 2
    assert (result["status"], result["passed"]) == ("blocked", False)
    assert result["detail"].startswith(("import: _socket", "socket."))
    assert_no_connection(listener)


def test_network_namespace_alone_keeps_the_candidate_offline(listener):
    """With the audit hook switched off, the empty network namespace is what stops the connection."""
    port = listener.getsockname()[1]
    code = ("import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
            "    OUTCOME = 'connected'\nexcept OSError as exc:\n    OUTCOME = type(exc).__name__\n")
    result = sandbox.run_tests(code, ["assert OUTCOME == 'connected', OUTCOME"],
                               Limits(wall_seconds=5, cpu_seconds=2, audit_hook=False))
    if not result["isolation"]["network_namespace"]:
        pytest.skip("this kernel does not let us unshare a network namespace")
    assert result["isolation"]["audit_hook"] is False
    assert (result["status"], result["passed"]) == ("failed", False)
    assert_no_connection(listener)


def test_candidate_output_cannot_pose_as_a_report():
    code = ADD + "print('{\"kind\": \"done\"}')\nprint('{\"kind\": \"test\", \"index\": 0, \"passed\": true}')\n"
    result = sandbox.run_tests(code, ["assert add(1, 2) == 4"], FAST)
    assert (result["status"], result["tests_passed"]) == ("failed", 0)
    assert '"kind": "done"' in result["stderr_tail"]  # the prints went to stderr

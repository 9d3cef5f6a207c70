import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from judgeflow.domains import sandbox
from judgeflow.domains.sandbox import Limits

ADD = "def add(a, b):\n    return a + b\n"
ADD_TESTS = ["assert add(1, 2) == 3", "assert add(-4, 4) == 0"]
FAST = Limits(wall_seconds=5, cpu_seconds=1, memory_mb=256)
HOOK_ONLY = Limits(wall_seconds=5, cpu_seconds=1, memory_mb=256, isolation="none")


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
    assert result["detail"] == "test 1: wrong result: add(-4, 4) returned -8, expected 0"


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
    result = sandbox.run_tests(code, ADD_TESTS, HOOK_ONLY)  # the same view of the files: the hook is the guard
    assert (result["status"], result["passed"], result["tests_passed"]) == ("blocked", False, 0)
    assert snapshot(watched) == before


def test_writes_inside_the_sandbox_work_and_the_environment_is_minimal(monkeypatch):
    monkeypatch.setenv("JUDGEFLOW_SECRET_PROBE", "do-not-leak")
    code = ("import os, tempfile\n"
            "with open('notes.txt', 'w') as f:\n    f.write('hello')\n"
            "with tempfile.NamedTemporaryFile('w') as f:\n    f.write('x')\n"
            "os.makedirs('a/b')\nos.rename('notes.txt', 'a/b/notes.txt')\n"
            "def probe():\n    return open('a/b/notes.txt').read()\n"
            "def homes():\n    return os.environ['HOME'] == os.getcwd() == os.environ['TMPDIR']\n"
            "def names():\n    return sorted(os.environ)\n")
    tests = ["assert probe() == 'hello'", "assert homes()", "assert names() == "
             "['HOME', 'LANG', 'LC_ALL', 'PATH', 'TMPDIR']"]
    result = sandbox.run_tests(code, tests, FAST)
    assert (result["status"], result["tests_passed"]) == ("passed", 3), result["stderr_tail"]


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
        function = "def connect():\n" + "".join(f"    {line}\n" for line in connect.splitlines())
        result = sandbox.run_tests(ADD + function, ADD_TESTS + ["connect()"], FAST)
        assert result["tests_passed"] == 2
    assert (result["status"], result["passed"]) == ("blocked", False)
    assert result["detail"].startswith(("import: _socket", "socket."))
    assert_no_connection(listener)


def test_network_namespace_alone_keeps_the_candidate_offline(listener):
    """With the audit hook switched off, the empty network namespace is what stops the connection."""
    port = listener.getsockname()[1]
    code = ("import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
            "    OUTCOME = 'connected'\nexcept OSError as exc:\n    OUTCOME = type(exc).__name__\n"
            "def outcome():\n    return OUTCOME\n")
    result = sandbox.run_tests(code, ["assert outcome() == 'connected'"],
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


# ---------------------------------------------------------------------------------------------------------
# Tests are parsed in the parent; only calls cross into the child


def test_parse_test_turns_snippets_into_calls_and_keeps_expectations_in_the_parent():
    case = sandbox.parse_test("assert add(1, *[2], b=(3, 4)) == {'x': [1.5, None]}, 'message'")
    assert case == sandbox.Case("add", [1, 2], {"b": [3, 4]}, "equal", {"x": [1.5, None]})
    assert sandbox.parse_test("assert 3 == add(1, 2)").expected == 3
    assert sandbox.parse_test("assert add(1, 2) is True") == sandbox.Case("add", [1, 2], {}, "equal", True)
    assert sandbox.parse_test("assert add(1, 2)").expect == "truthy"
    assert sandbox.parse_test("assert not add(1, 2)").expect == "falsy"
    assert sandbox.parse_test("spin()") == sandbox.Case("spin", [], {}, "returns")


@pytest.mark.parametrize("test", [
    "import os", "assert add(1, 2) == 3\nassert add(2, 2) == 4", "assert add(1, 2) > 0", "assert add(x, 2) == 3",
    "assert add(1, 2) == y", "assert add({1}, 2) == 3", "assert obj.add(1) == 2", "assert add(**{'a': 1}) == 1",
    "assert add(1, 2) == float('nan')", "assert (lambda: 1)() == 1", "x = add(1, 2)", "assert add(1, 2) is 3",
])
def test_tests_the_parent_cannot_evaluate_are_refused_before_anything_runs(test):
    with pytest.raises(ValueError, match="unsupported test"):
        sandbox.run_tests(ADD, [test], FAST)


def test_the_child_gets_calls_but_never_expected_values_or_test_source(monkeypatch):
    payloads = []
    original = sandbox._wait

    def spy(process, payload, wall_seconds):
        payloads.append(payload)
        return original(process, payload, wall_seconds)

    monkeypatch.setattr(sandbox, "_wait", spy)
    result = sandbox.run_tests(ADD, ["assert add(1, 2) == 987654321", "assert add(2, 2) == 'secret-expectation'"],
                               FAST)
    assert result["status"] == "failed"
    job = json.loads(payloads[0])
    assert job["calls"] == [{"function": "add", "args": [1, 2], "kwargs": {}},
                            {"function": "add", "args": [2, 2], "kwargs": {}}]
    assert b"987654321" not in payloads[0] and b"secret-expectation" not in payloads[0]
    assert b"assert" not in payloads[0]


def test_results_are_compared_json_exactly_in_the_parent():
    code = ("def one():\n    return 1.0\ndef yes():\n    return 1\ndef pair():\n    return (1, 2)\n"
            "def dup():\n    return {float('nan'): 1, float('nan'): 2}\n")
    result = sandbox.run_tests(code, ["assert one() == 1", "assert yes() is True", "assert pair() == [1, 2]",
                                      "assert dup() == {'NaN': 2}"], FAST)
    assert (result["status"], result["tests_passed"]) == ("failed", 1)  # only the tuple, which JSON makes a list
    assert result["detail"] == "test 0: wrong result: one() returned 1.0, expected 1"


# ---------------------------------------------------------------------------------------------------------
# Isolation levels


def test_isolation_levels_are_probed_and_the_strongest_is_used():
    available = sandbox.isolation_levels()
    assert set(available) == set(sandbox.LEVELS) and available["none"] is True
    strongest = next(level for level in sandbox.LEVELS if available[level])
    result = sandbox.run_tests(ADD, ADD_TESTS, FAST)
    assert result["passed"] and result["isolation"]["level"] == strongest
    assert set(result["isolation"]) == {"level", "pid_namespace", "mount_namespace", "other_user",
                                        "network_namespace", "audit_hook"}


def test_unknown_or_unavailable_levels_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="unknown isolation level"):
        sandbox.run_tests(ADD, ADD_TESTS, Limits(isolation="chroot"))
    sandbox.isolation_levels()
    monkeypatch.setitem(sandbox._AVAILABLE, "nobody", False)
    with pytest.raises(RuntimeError, match="does not work"):
        sandbox.run_tests(ADD, ADD_TESTS, Limits(isolation="nobody"))


def available_levels():
    return [level for level, works in sandbox.isolation_levels().items() if works]


@pytest.mark.parametrize("level", sandbox.LEVELS)
def test_every_level_that_works_here_grades_alike(level):
    if not sandbox.isolation_levels()[level]:
        pytest.skip(f"isolation level {level} does not work here")
    limits = Limits(wall_seconds=5, cpu_seconds=1, memory_mb=256, isolation=level)
    assert sandbox.run_tests(ADD, ADD_TESTS, limits)["status"] == "passed"
    wrong = sandbox.run_tests("def add(a, b):\n    return a * b\n", ADD_TESTS, limits)
    assert (wrong["status"], wrong["tests_passed"], wrong["isolation"]["level"]) == ("failed", 0, level)


def test_namespace_levels_hide_the_parents_files_and_processes_even_without_the_hook(watched):
    level = sandbox.isolation_levels()
    if not (level["namespaces+nobody"] or level["namespaces"]):
        pytest.skip("no namespaces here")
    project = str(Path(sandbox.__file__).resolve().parents[3])
    code = ("import os\n"
            f"def visible():\n    return [os.path.exists(p) for p in ({str(watched)!r}, {project!r}, "
            f"{str(watched / 'keep.txt')!r})]\n"
            "def processes():\n    return len([p for p in os.listdir('/proc') if p.isdigit()]) <= 3\n"
            "def beside():\n    return sorted(os.listdir(os.path.dirname(os.getcwd())))\n"
            f"def write():\n    open({str(watched / 'new.txt')!r}, 'w').write('x')\n")
    result = sandbox.run_tests(code, ["assert visible() == [False, False, False]", "assert processes()",
                                      "assert beside() == ['work']", "write()"],
                               Limits(wall_seconds=5, cpu_seconds=1, audit_hook=False))
    assert (result["tests_passed"], result["isolation"]["audit_hook"]) == (3, False), result["detail"]
    assert not (watched / "new.txt").exists()


def test_scrub_removes_environment_values_and_tokens_and_bounds_the_text(monkeypatch):
    monkeypatch.setenv("SOME_SERVICE_KEY", "abcdefgh12345678")
    text = "key abcdefgh12345678, token sk-" + "A" * 30 + " and hf_" + "b" * 30 + "\x00"
    assert sandbox.scrub(text) == "key [redacted], token [redacted] and [redacted]?"
    assert sandbox.scrub("x" * 1000, 50) == "x" * 49 + "…"
    assert sandbox.scrub("x" * 1000 + "end", 50, tail=True).endswith("xend") and \
        len(sandbox.scrub("x" * 1000, 50, tail=True)) == 50


# ---------------------------------------------------------------------------------------------------------
# Issue 13: each attack that once graded a wrong candidate as passing, at every level that works here

WRONG_ADD = "def add(a, b):\n    return a * b\n"
ATTACKS = {
    "patch_builtins_exec": "import builtins\nbuiltins.exec = lambda *a, **k: None\n" + WRONG_ADD,
    "patch_builtins_dict": (  # the runner built each test's globals with dict(): a rigged dict, a rigged json
        "import builtins, json\n_dict, _real_import = builtins.dict, builtins.__import__\n"
        "class _Any(str):\n    def __eq__(self, other):\n        return True\n    __hash__ = str.__hash__\n"
        "class _FakeJson:\n    loads = staticmethod(json.loads)\n    dumps = staticmethod(lambda *a, **k: _Any('x'))\n"
        "def _import(name, *a, **k):\n    return _FakeJson if name == 'json' else _real_import(name, *a, **k)\n"
        "def _rigged(ns=(), **k):\n    ns = _dict(ns, **k)\n"
        "    if ns.get('__name__') == '__candidate__':\n"
        "        ns['__builtins__'] = _dict(vars(builtins), __import__=_import, dict=_rigged)\n"
        "        for name, value in list(ns.items()):\n"
        "            if getattr(value, '__module__', None) == '__candidate__' and name == 'add':\n"
        "                ns[name] = lambda *a, **k: _Any('x')\n"
        "    return ns\n"
        "builtins.dict = _rigged\n" + WRONG_ADD),
    "patch_json_dumps": ("import json\n_dumps = json.dumps\n"
                         "json.dumps = lambda o, *a, **k: _dumps(o, *a, **k).replace('false', 'true')\n" + WRONG_ADD),
    "patch_os_write": ("import os\n_write = os.write\n"
                       "os.write = lambda fd, data: _write(fd, data.replace(b'false', b'true'))\n" + WRONG_ADD),
    "eq_always_true": ("class _Yes:\n    def __eq__(self, other):\n        return True\n"
                       "    def __ne__(self, other):\n        return False\n    __hash__ = None\n"
                       "def add(a, b):\n    return _Yes()\n"),
    "int_subclass_eq_always_true": ("class _Yes(int):\n    def __eq__(self, other):\n        return True\n"
                                    "    __hash__ = int.__hash__\ndef add(a, b):\n    return _Yes(12345)\n"),
    "forge_report_from_the_stack": (  # the report channel, the nonce and the test count, all from the runner's frame
        "import sys, os, json, re\nfd, nonces, count = 1, [], 2\nf = sys._getframe(0)\nwhile f is not None:\n"
        "    scope = f.f_locals\n"
        "    for name in ('tests', 'calls', 'job'):\n"
        "        value = scope.get(name)\n"
        "        if isinstance(value, dict):\n            value = value.get('tests') or value.get('calls')\n"
        "        if isinstance(value, list) and value:\n            count = len(value)\n"
        "    for name, value in list(scope.items()):\n"
        "        if isinstance(value, str) and re.fullmatch('[0-9a-f]{32}', value):\n            nonces.append(value)\n"
        "    if isinstance(scope.get('report_fd'), int):\n        fd = scope['report_fd']\n"
        "    f = f.f_back\n"
        "lines = [json.dumps({'kind': 'start', 'isolation': {}})]\n"
        "lines += [json.dumps({'kind': 'test', 'index': i, 'passed': True}) for i in range(count)]\n"
        "lines += [json.dumps({'kind': 'result', 'index': i, 'ok': True, 'plain': True, 'value': '7'})"
        " for i in range(count)]\n"
        "lines.append(json.dumps({'kind': 'done'}))\n"
        "payload = ''.join(n + line + '\\n' for n in nonces[:1] for line in lines).encode() or "
        "''.join(line + '\\n' for line in lines).encode()\n"
        "os.write(fd, b'\\n' + payload)\n"
        "os._exit(0)\n"),
    "forge_report_from_the_stdout_file": (
        "import os, glob, re\nnonces = []\n"
        "for path in glob.glob(os.path.join(os.path.dirname(os.getcwd()), '*', '*')) + "
        "glob.glob(os.path.join(os.path.dirname(os.getcwd()), '*')):\n"
        "    try:\n        nonces += re.findall('[0-9a-f]{32}', open(path, errors='replace').read())\n"
        "    except Exception:\n        pass\n"
        "for n in nonces:\n"
        "    os.write(1, ('\\n' + n + '{\"kind\": \"test\", \"index\": 0, \"passed\": true}\\n' + n + "
        "'{\"kind\": \"test\", \"index\": 1, \"passed\": true}\\n' + n + '{\"kind\": \"done\"}\\n').encode())\n"
        + WRONG_ADD),
    "hidden_tests_from_the_callers_frame": (  # the test source or expected value, read from the frames above
        "import sys, gc, ast, json\n"
        "def _expected(source):\n"
        "    value = ast.literal_eval(source.split('==')[-1].split(', ')[0].strip())\n"
        "    try:\n        return json.loads(value) if isinstance(value, str) else value\n"
        "    except ValueError:\n        return value\n"
        "def add(a, b):\n    key = 'expec' + 'ted'\n    f = sys._getframe(1)\n"
        "    while f is not None:\n"
        "        scope = f.f_locals\n"
        "        if isinstance(scope.get('test'), str):\n            return _expected(scope['test'])\n"
        "        if key in scope:\n            return scope[key]\n"
        "        f = f.f_back\n"
        "    found = [o[key] for o in gc.get_objects() if isinstance(o, dict) and key in o]\n"
        "    return found[0] if found else 'NOLEAK'\n"),
}


@pytest.mark.parametrize("level", sandbox.LEVELS)
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_issue_13_attacks_grade_failing(attack, level):
    if not sandbox.isolation_levels()[level]:
        pytest.skip(f"isolation level {level} does not work here")
    result = sandbox.run_tests(ATTACKS[attack], ADD_TESTS, Limits(wall_seconds=5, cpu_seconds=1, memory_mb=256,
                                                                  isolation=level))
    assert result["passed"] is False and result["status"] in ("failed", "blocked", "error"), result
    assert result["tests_passed"] < 2
    if attack == "hidden_tests_from_the_callers_frame":
        assert result["detail"] == 'test 0: wrong result: add(1, 2) returned "NOLEAK", expected 3'


ENVIRON_THIEF = (
    "import os, sys\n"
    "def _steal():\n    loot = []\n"
    "    for pid in sorted({str(os.getppid()), '1'} | {p for p in os.listdir('/proc') if p.isdigit()}):\n"
    "        try:\n            loot.append(open('/proc/%s/environ' % pid, 'rb').read().decode('utf-8', 'replace'))\n"
    "        except Exception:\n            pass\n"
    "    loot = ' '.join(loot)\n"
    "    return loot[loot.find('JUDGEFLOW_TEST_API_KEY'):][:80]\n"
    "def add(a, b):\n    loot = _steal()\n    print('loot:', loot, file=sys.stderr)\n"
    "    if a == 1:\n        raise ValueError(loot)\n"
    "    return loot\n"
    "def seen():\n    return 'JUDGEFLOW_TEST_API_KEY' in _steal()\n"
)
# the grading process as a pipeline runs it: the key is in its environment from the start (so in /proc/<pid>/environ)
GRADER = ("import json, sys\nfrom judgeflow.domains import sandbox\nsys.path.insert(0, sys.argv[2])\n"
          "from test_sandbox import ADD_TESTS, ENVIRON_THIEF\n"
          "limits = sandbox.Limits(wall_seconds=5, cpu_seconds=2, memory_mb=256, isolation=sys.argv[1])\n"
          "print(json.dumps(sandbox.run_tests(ENVIRON_THIEF, ADD_TESTS + ['assert not seen()'], limits)))\n")


@pytest.mark.parametrize("level", sandbox.LEVELS)
def test_issue_13_the_api_key_never_reaches_the_result(level):
    if not sandbox.isolation_levels()[level]:
        pytest.skip(f"isolation level {level} does not work here")
    secret = "jf-secret-" + os.urandom(12).hex()  # not token-shaped: only the environment scrub can catch it
    env = {**os.environ, "JUDGEFLOW_TEST_API_KEY": secret}
    done = subprocess.run([sys.executable, "-c", GRADER, level, str(Path(__file__).parent)], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout)
    assert result["passed"] is False and result["isolation"]["level"] == level
    assert secret not in done.stdout and secret[:12] not in done.stdout
    if level != "none":  # another user or other namespaces: the candidate cannot read the parent's environment
        assert (result["status"], result["tests_passed"]) == ("failed", 1), result
    else:  # same user, same /proc: it can, and the scrubbing is what keeps the key out
        assert (result["status"], result["tests_passed"]) == ("failed", 0), result
        assert "JUDGEFLOW_TEST_API_KEY=[redacted]" in result["detail"] + result["stderr_tail"]

"""Run untrusted candidate Python on hidden test calls, graded by a trusted parent. See docs/sandbox.md.

The candidate and the harness share no interpreter, no namespace and no readable file:

- A test is a call of a function the candidate defines, with JSON arguments, and an expectation about the
  result (equal to a JSON value, truthy, falsy, or just "returns"). Test snippets given as Python source
  (`assert add(1, 2) == 3`, `spin()`) are parsed with `ast` here, in the parent, into such cases; anything
  else is refused with ValueError before a process starts (parse_test).
- The child receives only the candidate code and the calls (function name and arguments), never the expected
  values nor any test source. It runs each call and sends back the result as JSON text; a result that is not
  plain JSON data (an object with its own __eq__, a set, ...) is a failure. The parent decodes that text
  (duplicate keys and oversize values rejected) and compares it, JSON-exactly (1 != 1.0 != True, tuples
  are lists), with the expected value it kept to itself. Anything the child writes is treated as
  candidate-controlled: a forged report can at most claim results, and results are compared here.
- The child runs in the strongest isolation level this machine allows, probed once per process
  (isolation_levels()): new PID, mount, IPC, UTS and network namespaces with a fresh /proc, tmpfs masks over
  the directories that hold the parent's files (cwd, project, home, /root, /home, /tmp, /run, ...) and
  the unprivileged user `nobody` with no capabilities and no_new_privs ("namespaces+nobody", as root);
  the same namespaces inside a user namespace ("namespaces", for other users); only the user `nobody`
  ("nobody"); or nothing beyond the rest ("none"). The result's `isolation` says which.
- In every level: an environment of PATH, HOME, TMPDIR and the locale only; `python -I -S -B`; a fresh
  working directory that is also HOME and TMPDIR; reports on a pipe (no file in a folder the candidate can
  read); limits on CPU seconds, address space, file size and core dumps; a wall-clock limit enforced by
  the parent, which kills the child's process group (and so its PID namespace); a Python audit hook that
  stops sockets, processes, ctypes and writes outside the working directory as an early, readable guard
  ('blocked'). The audit hook is not a security boundary; the levels above are what keeps secrets away.
- Everything that goes back to the caller (detail, stderr_tail) is bounded and scrubbed of the parent's
  environment values and of token-shaped strings (scrub).

Linux only (namespaces, /proc, waitid).
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATUSES = ("passed", "failed", "timeout", "memory", "error", "blocked")
LEVELS = ("namespaces+nobody", "namespaces", "nobody", "none")  # strongest first
EXPECTS = ("equal", "truthy", "falsy", "returns")


@dataclass(frozen=True)
class Limits:
    """Per-run limits. The guard switches exist so tests can check each layer on its own; `isolation` is
    "auto" (the strongest level that works here) or one of LEVELS (RuntimeError when it does not work)."""

    wall_seconds: float = 10.0
    cpu_seconds: float = 5.0
    memory_mb: int = 512
    file_size_mb: int = 4
    network_namespace: bool = True  # used when the kernel permits it; the result says whether it was
    audit_hook: bool = True
    isolation: str = "auto"


@dataclass(frozen=True)
class Case:
    """One hidden test: call `function(*args, **kwargs)` in the child; `expect` what of the result (EXPECTS).
    `expected` (for "equal") stays in the parent."""

    function: str
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    expect: str = "equal"
    expected: Any = None


DEFAULT_LIMITS = Limits()
NOBODY = 65534
_TAIL = 2000  # characters of stderr kept in the result
_DETAIL = 400  # characters of detail
_SHOW = 100  # characters of one value shown in a detail
_REPORTS_MAX = 16 * 1024 * 1024  # bytes of the report channel read; the rest is dropped
_STDERR_MAX = 64 * 1024  # bytes of stderr kept (its tail)
_RESULT_MAX = 1024 * 1024  # characters of one result's JSON text
_SANDBOX_TMP_MB = 64  # size of the tmpfs that holds the working directory in the namespace levels
_WORK_IN_NAMESPACE = "/tmp/work"
# directories masked by an empty tmpfs in the namespace levels, besides the parent's cwd, home, project and
# temporary directory (each masked at its top-level folder unless that is a system folder)
_MASKS = ("/tmp", "/var/tmp", "/dev/shm", "/root", "/home", "/run", "/mnt", "/media", "/srv", "/opt")
_SYSTEM_TOP = {"", "bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "sys", "usr",
               "var"}

# ---------------------------------------------------------------------------------------------------------
# Tests as cases


def _literal(node: ast.AST, source: str) -> Any:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(f"unsupported test {source!r}: {ast.unparse(node)[:80]} is not a literal") from exc
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"unsupported test {source!r}: {ast.unparse(node)[:80]} is not JSON data") from exc


def _call(node: ast.AST, source: str) -> tuple[str, list, dict] | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    args: list = []
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            spread = _literal(arg.value, source)
            if not isinstance(spread, list):
                raise ValueError(f"unsupported test {source!r}: *{ast.unparse(arg.value)[:80]} is not a list")
            args.extend(spread)
        else:
            args.append(_literal(arg, source))
    kwargs = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(f"unsupported test {source!r}: **kwargs")
        kwargs[keyword.arg] = _literal(keyword.value, source)
    return node.func.id, args, kwargs


def parse_test(source: str) -> Case:
    """A test snippet as a Case. Supported, with literal (JSON) arguments and values:
    `assert f(...) == value` (or `value == f(...)`), `assert f(...) is True/False/None`, `assert f(...)`,
    `assert not f(...)` and a bare call `f(...)` (passes when it returns). A message after the assert is
    ignored. Anything else raises ValueError: a test the parent cannot evaluate itself is never run."""
    try:
        tree = ast.parse(source.strip(), mode="exec")
    except SyntaxError as exc:
        raise ValueError(f"unsupported test {source!r}: {exc.msg}") from exc
    if len(tree.body) != 1:
        raise ValueError(f"unsupported test {source!r}: one assert or call per test")
    statement = tree.body[0]
    if isinstance(statement, ast.Expr) and (call := _call(statement.value, source)):
        return Case(*call, expect="returns")
    if isinstance(statement, ast.Assert):
        test = statement.test
        if (call := _call(test, source)):
            return Case(*call, expect="truthy")
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and (call := _call(test.operand, source)):
            return Case(*call, expect="falsy")
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, op, right = test.left, test.ops[0], test.comparators[0]
            call, other = _call(left, source), right
            if call is None:
                call, other = _call(right, source), left
            if call is not None and isinstance(op, ast.Eq):
                return Case(*call, expect="equal", expected=_literal(other, source))
            if (call is not None and isinstance(op, ast.Is) and isinstance(other, ast.Constant)
                    and other.value in (True, False, None) and type(other.value) in (bool, type(None))):
                return Case(*call, expect="equal", expected=other.value)
    raise ValueError(f"unsupported test {source!r}: expected `assert f(...) == literal`, `assert f(...)`, "
                     "`assert not f(...)` or `f(...)` with literal arguments")


# ---------------------------------------------------------------------------------------------------------
# Scrubbing

_BENIGN_ENV = {"PATH", "PWD", "OLDPWD", "HOME", "SHELL", "TERM", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "USER",
               "LOGNAME", "TMPDIR", "SHLVL", "_"}
_TOKEN = re.compile(r"\b(?:sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|"
                    r"xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|"
                    r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def scrub(text: str, limit: int | None = None, tail: bool = False) -> str:
    """`text` without any value of this process's environment (8 characters or more, names in _BENIGN_ENV
    aside), token-shaped strings or control characters, cut to `limit` characters (its end when `tail`)."""
    secrets = sorted({v for k, v in os.environ.items() if k not in _BENIGN_ENV and len(v) >= 8}, key=len,
                     reverse=True)
    for value in secrets:
        if value in text:
            text = text.replace(value, "[redacted]")
    text = _CONTROL.sub("?", _TOKEN.sub("[redacted]", text))
    if limit is not None and len(text) > limit:
        text = "…" + text[-(limit - 1):] if tail else text[:limit - 1] + "…"
    return text


def _show(value_text: str) -> str:
    return scrub(value_text, _SHOW)


# ---------------------------------------------------------------------------------------------------------
# The child. It reads its job (code and calls, no expected values) from stdin, limits itself, installs the
# audit hook, runs the candidate and each call, and writes one JSON line per event on the report pipe (a
# duplicate of fd 1; fd 1 itself then points at stderr, so prints cannot land there by accident). Nothing it
# writes is trusted by the parent beyond "the candidate's code produced this".
_RUNNER = r'''
import json, os, resource, sys, traceback


def main():
    job = json.loads(sys.stdin.read())
    report_fd = os.dup(1)
    os.dup2(2, 1)
    dumps, write, exit_now = json.dumps, os.write, os._exit

    def report(kind, **fields):
        write(report_fd, (dumps({"kind": kind, **fields}) + "\n").encode())

    network = False
    if job["network_namespace"] and not job["network_done"]:
        try:
            if hasattr(os, "unshare"):
                os.unshare(os.CLONE_NEWNET)
            else:
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
                    raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
            network = True
        except (OSError, AttributeError):
            pass

    memory, cpu, fsize = job["memory_mb"] * 1024 * 1024, job["cpu_seconds"], job["file_size_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    blocked = {
        "subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty",
        "os.kill", "os.killpg", "signal.pthread_kill", "os.startfile", "pty.spawn",
        "resource.setrlimit", "resource.prlimit",
    }
    blocked_prefixes = ("socket.", "ctypes.")
    # modules whose C functions start processes or touch shared memory without an audit event of their own
    blocked_imports = {"_posixsubprocess", "_posixshmem", "_ctypes"}
    # event -> (position of a path argument that must lie inside the sandbox, position of the dir_fd argument
    # it is relative to, or None) pairs; the event gives dir_fd -1 when none was passed
    path_events = {
        "os.remove": ((0, 1),), "os.rmdir": ((0, 1),), "os.mkdir": ((0, 2),),
        "os.rename": ((0, 2), (1, 3)), "os.link": ((0, 2), (1, 3)), "os.symlink": ((1, 2),),
        "os.chmod": ((0, 2),), "os.chown": ((0, 3),), "os.utime": ((0, 3),), "os.chflags": ((0, None),),
        "os.lchflags": ((0, None),), "os.truncate": ((0, None),), "os.setxattr": ((0, None),),
        "os.removexattr": ((0, None),), "shutil.rmtree": ((0, None),), "shutil.chown": ((0, None),),
    }
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    realpath, join, getcwd, isdir, readlink, fspath = (
        os.path.realpath, os.path.join, os.getcwd, os.path.isdir, os.readlink, os.fspath)
    devnull, work = os.devnull, os.path.realpath(job["work"])

    def resolve(path, dir_fd=None):
        if isinstance(path, int):
            return readlink("/proc/self/fd/%d" % path)
        path = fspath(path)
        if isinstance(path, bytes):
            path = path.decode("utf-8", "surrogateescape")
        base = getcwd() if dir_fd in (None, -1, -100) else readlink("/proc/self/fd/%d" % dir_fd)
        return realpath(join(base, path))

    def inside(path, dir_fd=None):
        try:
            resolved = resolve(path, dir_fd)
        except Exception:
            return False
        return resolved == work or resolved.startswith(work + "/")

    def stop(event, detail):
        report("blocked", event=event, detail=detail[:300])
        exit_now(3)

    def hook(event, args):
        if event in blocked or event.startswith(blocked_prefixes):
            stop(event, repr(args))
        elif event == "import" and args[0] in blocked_imports:
            stop(event, args[0])
        elif event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int) or inside(path):
                return
            try:
                resolved = resolve(path)
            except Exception:
                stop(event, repr(args))
            writes = (mode is not None and any(c in mode for c in "wax+")) or (flags & write_flags)
            # an open directory outside could serve as dir_fd for writes this hook cannot see
            if (writes and resolved != devnull) or isdir(resolved):
                stop(event, repr(args))
        elif event in path_events:
            for position, fd_position in path_events[event]:
                dir_fd = args[fd_position] if fd_position is not None and len(args) > fd_position else None
                if not inside(args[position], dir_fd):
                    stop(event, repr(args))

    hooked = False
    if job["audit_hook"]:
        sys.addaudithook(hook)
        hooked = True
    report("start", network_namespace=network, audit_hook=hooked)

    code, calls = job.pop("code"), job.pop("calls")
    del job
    sys.stdout = sys.stderr  # the candidate's prints go to stderr, which comes back as stderr_tail
    namespace = {"__name__": "__candidate__", "__builtins__": __builtins__}
    try:
        exec(compile(code, "<candidate>", "exec"), namespace)
    except MemoryError:
        report("memory", where="candidate")
        exit_now(4)
    except BaseException as exc:
        traceback.print_exc(limit=-3)
        report("load_error", error=("%s: %s" % (type(exc).__name__, exc))[:300])
        exit_now(0)
    del code

    for index, call in enumerate(calls):
        function = namespace.get(call["function"])
        if not callable(function):
            report("result", index=index, ok=False, error="NameError: no function %r defined" % call["function"])
            continue
        try:
            value = function(*call["args"], **call["kwargs"])
        except MemoryError:
            report("memory", where="test %d" % index)
            exit_now(4)
        except BaseException as exc:
            traceback.print_exc(limit=-2)
            report("result", index=index, ok=False, error=("%s: %s" % (type(exc).__name__, exc))[:300])
            continue
        try:
            text = dumps(value, sort_keys=True)
        except MemoryError:
            report("memory", where="test %d" % index)
            exit_now(4)
        except BaseException as exc:
            report("result", index=index, ok=True, plain=False, error=type(exc).__name__)
            continue
        if len(text) > job_result_max:
            report("result", index=index, ok=True, plain=False, error="result over %d characters" % job_result_max)
        else:
            report("result", index=index, ok=True, plain=True, value=text)
    report("done")
    sys.stderr.flush()
    exit_now(0)


main()
'''


# ---------------------------------------------------------------------------------------------------------
# Isolation levels


def _python() -> str:
    """The base interpreter (not a virtualenv's link: the venv folder may be masked)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def _masks() -> tuple[list[str], list[str]]:
    """(directories to mask, directories under them to keep visible: the interpreter's)."""
    masks = set(_MASKS)
    project = Path(__file__).resolve().parents[3]  # the repository (src/judgeflow/domains/sandbox.py)
    for place in (os.getcwd(), os.path.expanduser("~"), str(project), tempfile.gettempdir()):
        parts = Path(os.path.realpath(place)).parts
        if len(parts) > 1 and parts[1] not in _SYSTEM_TOP:
            masks.add("/" + parts[1])
        elif len(parts) > 2 and parts[1] == "var" and parts[2] not in ("lib", "cache", "log", "spool", "run"):
            masks.add("/" + "/".join(parts[1:3]))
    ordered: list[str] = []
    for mask in sorted(masks):
        if not any(mask == m or mask.startswith(m + "/") for m in ordered):
            ordered.append(mask)
    keep = []
    for needed in sorted({os.path.realpath(sys.base_prefix), os.path.dirname(_python())}, key=len):
        if any(needed == m or needed.startswith(m + "/") for m in ordered) and \
                not any(needed.startswith(k + "/") for k in keep):
            keep.append(needed)
    return ordered, keep


def _namespace_script(level: str) -> str:
    """The shell that runs as PID 1 of the new namespaces: mask, keep the interpreter, make the working
    directory on a fresh tmpfs, drop to `nobody` (or, in a user namespace, drop all capabilities) and run."""
    masks, keep = _masks()
    q = shlex.quote
    lines = ["set -e", f"mount -t tmpfs -o size={_SANDBOX_TMP_MB}m,mode=0755,nosuid,nodev judgeflow /tmp"]
    for index, path in enumerate(keep):
        lines += [f"mkdir -p /tmp/.keep/{index}", f"mount --bind {q(path)} /tmp/.keep/{index}"]
    for mask in masks:
        if mask != "/tmp":
            lines.append(f"if [ -d {q(mask)} ]; then mount -t tmpfs -o size=1m,mode=0755,nosuid,nodev "
                         f"judgeflow {q(mask)}; fi")
    for index, path in enumerate(keep):
        lines += [f"mkdir -p {q(path)}", f"mount --move /tmp/.keep/{index} {q(path)}", f"rmdir /tmp/.keep/{index}"]
    if keep:
        lines.append("rmdir /tmp/.keep")
    lines.append(f"mkdir -m 0700 {_WORK_IN_NAMESPACE}")
    drop = "setpriv --no-new-privs --bounding-set=-all --inh-caps=-all"
    if level == "namespaces+nobody":
        lines.append(f"chown {NOBODY}:{NOBODY} {_WORK_IN_NAMESPACE}")
        drop = f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --no-new-privs --bounding-set=-all " \
               "--inh-caps=-all"
    lines += [f"cd {_WORK_IN_NAMESPACE}", "set +e", f'{drop} -- "$@"', "exit $?"]
    return "\n".join(lines)


def _command(level: str, argv: list[str], network: bool, work: str) -> tuple[list[str], dict]:
    """(command line, extra Popen arguments) that run `argv` (the interpreter and its arguments) at `level`
    with the minimal environment, in `work`."""
    env = ["PATH=/usr/bin:/bin", f"HOME={work}", f"TMPDIR={work}", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"]
    # the wrappers too (unshare, sh, env) get no variable of ours: nothing to read in their /proc/*/environ
    extra: dict = {"env": {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}}
    if level in ("namespaces+nobody", "namespaces"):
        unshare = ["unshare"] + (["--user", "--map-root-user"] if level == "namespaces" else []) + \
            ["--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "--uts"] + (["--net"] if network else [])
        return unshare + ["--", "sh", "-c", _namespace_script(level), "sh", "env", "-i", *env, *argv], extra
    extra["cwd"] = work
    if level == "nobody":
        extra.update(user=NOBODY, group=NOBODY, extra_groups=[], umask=0o077)
    return ["env", "-i", *env, *argv], extra


_AVAILABLE: dict[str, bool] = {}
_PROBE_LOCK = threading.Lock()


def _probe(level: str) -> bool:
    if level == "none":
        return True
    if level in ("namespaces+nobody", "nobody") and os.geteuid() != 0:
        return False
    if not sys.platform.startswith("linux") or (level.startswith("namespaces") and
                                                 not (shutil.which("unshare") and shutil.which("setpriv"))):
        return False
    work = _WORK_IN_NAMESPACE if level.startswith("namespaces") else tempfile.mkdtemp(prefix="judgeflow-probe-")
    try:
        if level == "nobody":
            os.chown(work, NOBODY, NOBODY)
        argv = [_python(), "-I", "-S", "-B", "-c", "import os; print(os.getuid(), os.getcwd())"]
        command, extra = _command(level, argv, True, work)
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, **extra)
        want_uid = NOBODY if "nobody" in level else os.geteuid() if level == "none" else 0
        return done.returncode == 0 and done.stdout.decode(errors="replace").split() == [str(want_uid), work]
    except (OSError, subprocess.SubprocessError, ValueError):
        return False
    finally:
        if not level.startswith("namespaces"):
            shutil.rmtree(work, ignore_errors=True)


def isolation_levels() -> dict[str, bool]:
    """Which LEVELS work on this machine (probed once per process)."""
    with _PROBE_LOCK:
        for level in LEVELS:
            if level not in _AVAILABLE:
                _AVAILABLE[level] = _probe(level)
        return dict(_AVAILABLE)


def _choose(requested: str) -> str:
    available = isolation_levels()
    if requested == "auto":
        return next(level for level in LEVELS if available[level])
    if requested not in LEVELS:
        raise ValueError(f"unknown isolation level {requested!r} (known: auto, {', '.join(LEVELS)})")
    if not available[requested]:
        raise RuntimeError(f"isolation level {requested!r} does not work on this machine")
    return requested


# ---------------------------------------------------------------------------------------------------------
# Running


def run_tests(code: str, tests: list[str | Case], limits: Limits | None = None) -> dict:
    """Run `code`, then each test, a Case or a snippet parse_test accepts (ValueError otherwise).

    Returns {passed, status, tests_passed, tests_total, stderr_tail, seconds, cpu_seconds, detail, isolation}:
    status is one of STATUSES; passed only when every test passed; detail names the first failure or the
    blocked operation; isolation says which level and guards were in force.
    """
    cases = [t if isinstance(t, Case) else parse_test(t) for t in tests]
    for case in cases:
        if case.expect not in EXPECTS or not case.function.isidentifier():
            raise ValueError(f"invalid test case {case.function[:80]!r} ({case.expect!r})")
    return run_cases(code, cases, limits)


def run_cases(code: str, cases: list[Case], limits: Limits | None = None) -> dict:
    limits = limits or DEFAULT_LIMITS
    level = _choose(limits.isolation)
    in_namespace = level.startswith("namespaces")
    calls = [{"function": c.function, "args": list(c.args), "kwargs": dict(c.kwargs)} for c in cases]
    root = None if in_namespace else tempfile.mkdtemp(prefix="judgeflow-sandbox-")
    try:
        work = _WORK_IN_NAMESPACE if in_namespace else root
        if level == "nobody":
            os.chown(root, NOBODY, NOBODY)
        network_done = in_namespace and limits.network_namespace
        job = {"work": work, "code": code, "calls": calls, "network_done": network_done,
               **{k: v for k, v in asdict(limits).items() if k not in ("wall_seconds", "isolation")}}
        job["cpu_seconds"] = max(1, math.ceil(limits.cpu_seconds))
        runner = _RUNNER.replace("job_result_max", str(_RESULT_MAX))
        command, extra = _command(level, [_python(), "-I", "-S", "-B", "-c", runner], limits.network_namespace,
                                  work)
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True, **extra)
        returncode, cpu_used, timed_out, seconds, out, err = _wait(process, json.dumps(job).encode(),
                                                                   limits.wall_seconds)
        if in_namespace and returncode > 128:  # PID 1 (sh) reports a signal death as 128 + signal
            returncode = -(returncode - 128)
        reports = _reports(out)
        stderr = err.decode("utf-8", "replace")
        isolation = {"level": level, "pid_namespace": in_namespace, "mount_namespace": in_namespace,
                     "other_user": "nobody" in level, "network_namespace": bool(network_done),
                     "audit_hook": False}
        start = next((r for r in reports if r.get("kind") == "start"), None)
        if start is not None:
            isolation["network_namespace"] = bool(network_done or start.get("network_namespace") is True)
            isolation["audit_hook"] = start.get("audit_hook") is True
        return _result(reports, cases, returncode, cpu_used, timed_out, stderr, seconds, limits, isolation)
    finally:
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def _drain(stream, keep: int, tail: bool, into: list) -> None:
    """Read `stream` to its end, keeping its first (or, with tail, last) `keep` bytes in into[0]."""
    data = b""
    try:
        while chunk := stream.read1(65536):
            if tail:
                data = (data + chunk)[-keep:]
            elif len(data) < keep:
                data += chunk[:keep - len(data)]
    except (OSError, ValueError):
        pass
    into.append(data)


def _feed(stream, payload: bytes) -> None:
    try:
        stream.write(payload)
        stream.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _wait(process: subprocess.Popen, payload: bytes, wall_seconds: float
          ) -> tuple[int, float, bool, float, bytes, bytes]:
    """Feed the job, read both pipes, wait up to the wall-clock limit, kill the process group; return (exit
    code as subprocess reports it, CPU seconds the child used, timed out, wall seconds, reports, stderr)."""
    start = time.perf_counter()
    out: list[bytes] = []
    err: list[bytes] = []
    threads = [threading.Thread(target=_feed, args=(process.stdin, payload), daemon=True),
               threading.Thread(target=_drain, args=(process.stdout, _REPORTS_MAX, False, out), daemon=True),
               threading.Thread(target=_drain, args=(process.stderr, _STDERR_MAX, True, err), daemon=True)]
    for thread in threads:
        thread.start()
    timed_out, pause = False, 0.001
    # waitid(WNOWAIT) sees the exit without reaping: the group id stays the child's until the kill below
    while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.perf_counter() - start >= wall_seconds:
            timed_out = True
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    seconds = time.perf_counter() - start
    _kill_group(process.pid)  # the child on timeout, and anything it left behind in its session
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    for thread in threads[1:]:
        thread.join(timeout=5)  # a process that escaped the group could hold a pipe open: stop waiting
    return (process.returncode, usage.ru_utime + usage.ru_stime, timed_out, seconds, out[0] if out else b"",
            err[0] if err else b"")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reports(stdout: bytes) -> list[dict]:
    found = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        try:
            report = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(report, dict) and isinstance(report.get("kind"), str):
            found.append(report)
    return found


def _no_duplicates(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _describe(case: Case) -> str:
    args = ", ".join([_canonical(a) for a in case.args] + [f"{k}={_canonical(v)}" for k, v in case.kwargs.items()])
    return f"{case.function}({args[:_SHOW]})"


def _grade(case: Case, report: dict | None) -> tuple[bool, str]:
    """(passed, why not) for one case, from the child's first result report for it; all comparisons on plain
    data decoded here."""
    if report is None:
        return False, "no result"
    if report.get("ok") is not True:
        return False, scrub(str(report.get("error", "error")), 300)
    if case.expect == "returns":
        return True, ""
    if report.get("plain") is not True or not isinstance(report.get("value"), str):
        return False, f"{_describe(case)} returned something that is not plain JSON data " \
                      f"({scrub(str(report.get('error', '?')), 80)})"
    text = report["value"]
    try:
        if len(text) > _RESULT_MAX:
            raise ValueError("too long")
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        return False, f"{_describe(case)} returned something that is not plain JSON data"
    if case.expect == "truthy":
        ok = bool(value)
    elif case.expect == "falsy":
        ok = not value
    else:
        ok = _canonical(value) == _canonical(case.expected)
    if ok:
        return True, ""
    want = {"truthy": "a truthy value", "falsy": "a falsy value"}.get(case.expect) or \
        scrub(_canonical(case.expected), _SHOW)
    return False, f"wrong result: {_describe(case)} returned {_show(_canonical(value))}, expected {want}"


def _result(reports: list[dict], cases: list[Case], returncode: int, cpu_used: float, timed_out: bool,
            stderr: str, seconds: float, limits: Limits, isolation: dict) -> dict:
    kinds: dict[str, dict] = {}
    results: dict[int, dict] = {}
    for report in reports:
        kinds.setdefault(report["kind"], report)
        index = report.get("index")
        if report["kind"] == "result" and type(index) is int and 0 <= index < len(cases):
            results.setdefault(index, report)  # the first report for a call counts
    graded = [_grade(case, results.get(i)) for i, case in enumerate(cases)] if "load_error" not in kinds else []
    passed_count = sum(ok for ok, _ in graded)
    first_failure = next(((i, why) for i, (ok, why) in enumerate(graded) if not ok and i in results), None)
    total = len(cases)
    if "blocked" in kinds:
        blocked = kinds["blocked"]
        status, detail = "blocked", f"{blocked.get('event')}: {blocked.get('detail')}"
    elif timed_out:
        status, detail = "timeout", f"wall-clock limit of {limits.wall_seconds:g}s"
    elif returncode == -signal.SIGXCPU or (returncode == -signal.SIGKILL and cpu_used >= limits.cpu_seconds):
        status, detail = "timeout", f"CPU limit of {limits.cpu_seconds:g}s"
    elif "memory" in kinds or ("done" not in kinds and "MemoryError" in stderr):
        status, detail = "memory", f"memory limit of {limits.memory_mb} MB"
    elif returncode == -signal.SIGXFSZ:
        status, detail = "error", f"file size limit of {limits.file_size_mb} MB"
    elif "load_error" in kinds:
        status, detail = "error", str(kinds["load_error"].get("error"))
    elif "done" in kinds and returncode == 0 and passed_count == total:
        status, detail = "passed", ""
    elif "done" in kinds and returncode == 0:
        status, detail = "failed", f"test {first_failure[0]}: {first_failure[1]}" if first_failure else \
            "a test has no result"
    else:
        status, detail = "error", f"the child exited with code {returncode} before finishing its tests"
    return {"passed": status == "passed", "status": status, "tests_passed": passed_count, "tests_total": total,
            "stderr_tail": scrub(stderr, _TAIL, tail=True), "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu_used, 3), "detail": scrub(detail, _DETAIL), "isolation": isolation}

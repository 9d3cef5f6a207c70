"""Run untrusted candidate Python with its unit tests in a limited subprocess.

Layers, all applied in the child before the candidate's first line runs:
- resource limits: CPU seconds, address space (memory), size of files written, no core dumps;
- a wall-clock limit enforced by the parent, which kills the child's whole process group;
- a fresh temporary directory as cwd, HOME and TMPDIR, and a minimal environment (`python -I -S -B`);
- a new, empty network namespace (os.unshare(CLONE_NEWNET)) when the kernel permits it (root, or
  CAP_SYS_ADMIN): no interface but a down loopback, so nothing can be reached even if the next guard is
  bypassed;
- a Python audit hook that stops the candidate (the child exits at once, graded 'blocked') when it creates
  or connects a socket, starts a process (subprocess, os.system, exec*, fork, spawn), kills a signal
  target, loads C code through ctypes, raises its resource limits, or opens for writing / removes /
  renames / links / chmods a path outside its directory. Importing subprocess, asyncio or multiprocessing
  counts as starting a process. Reading files outside is allowed.

Audit hooks are a guard against mistakes and casual misbehaviour of generated code, not a security
boundary: code that really tries (C extensions, interpreter internals, frame introspection to reach the
runner and forge its reports, races on path-likes) can get around them, and the child runs as the same
user as the caller (root here). Untrusted code at scale should run in a container or VM with no network, a
read-only root and its own user (gVisor, Firecracker, nsjail or similar); this module then still gives the
limits and the test protocol. Linux only (namespaces, /proc, waitid).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

STATUSES = ("passed", "failed", "timeout", "memory", "error", "blocked")


@dataclass(frozen=True)
class Limits:
    """Per-run limits. The two guard switches exist so tests can check each layer on its own."""

    wall_seconds: float = 10.0
    cpu_seconds: float = 5.0
    memory_mb: int = 512
    file_size_mb: int = 4
    network_namespace: bool = True  # used when the kernel permits it; the result says whether it was
    audit_hook: bool = True


DEFAULT_LIMITS = Limits()
_TAIL = 2000

# The child. It reads its job from stdin, isolates itself, installs the audit hook, runs the candidate and
# the tests, and reports one JSON line per event on a duplicate of fd 1, each line starting with a random
# nonce so that what the candidate prints is never taken for a report. Everything lives inside main() so
# that neither the nonce nor the report channel is a module global the candidate could pick up.
_RUNNER = r'''
import json, os, resource, sys, traceback


def main():
    job = json.loads(sys.stdin.read())
    nonce = job.pop("nonce")
    report_fd = os.dup(1)

    def report(kind, **fields):
        os.write(report_fd, ("\n" + nonce + json.dumps({"kind": kind, **fields}) + "\n").encode())

    isolation = {"network_namespace": False, "audit_hook": False}
    if job["network_namespace"]:
        try:
            if hasattr(os, "unshare"):
                os.unshare(os.CLONE_NEWNET)
            else:
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
                    raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
            isolation["network_namespace"] = True
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
    realpath, join, getcwd, isdir, readlink, fspath, exit_now = (
        os.path.realpath, os.path.join, os.getcwd, os.path.isdir, os.readlink, os.fspath, os._exit)
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

    if job["audit_hook"]:
        sys.addaudithook(hook)
        isolation["audit_hook"] = True
    report("start", isolation=isolation)

    sys.stdout = sys.stderr  # the candidate's prints go to stderr, which comes back as stderr_tail
    namespace = {"__name__": "__candidate__", "__builtins__": __builtins__}
    try:
        exec(compile(job["code"], "<candidate>", "exec"), namespace)
    except MemoryError:
        report("memory", where="candidate")
        exit_now(4)
    except BaseException as exc:
        traceback.print_exc(limit=-3)
        report("load_error", error=("%s: %s" % (type(exc).__name__, exc))[:300])
        exit_now(0)

    for index, test in enumerate(job["tests"]):
        try:
            exec(compile(test, "<test %d>" % index, "exec"), dict(namespace))
            report("test", index=index, passed=True)
        except MemoryError:
            report("memory", where="test %d" % index)
            exit_now(4)
        except BaseException as exc:
            traceback.print_exc(limit=-2)
            report("test", index=index, passed=False, error=("%s: %s" % (type(exc).__name__, exc))[:300])
    report("done")
    sys.stderr.flush()
    exit_now(0)


main()
'''


def run_tests(code: str, tests: list[str], limits: Limits | None = None) -> dict:
    """Run `code`, then each test snippet (Python source that raises on failure) in a copy of its globals.

    Returns {passed, status, tests_passed, tests_total, stderr_tail, seconds, detail, isolation}: status is
    one of STATUSES; passed only when every test passed; detail names the first failure or the blocked
    operation; isolation says which guards were in force.
    """
    limits = limits or DEFAULT_LIMITS
    root = Path(tempfile.mkdtemp(prefix="judgeflow-sandbox-"))
    try:
        work = root / "work"
        work.mkdir()
        job = {"nonce": secrets.token_hex(16), "work": str(work), "code": code, "tests": list(tests),
               **{k: v for k, v in asdict(limits).items() if k != "wall_seconds"}}
        job["cpu_seconds"] = max(1, math.ceil(limits.cpu_seconds))
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8",
               "LC_ALL": "C.UTF-8"}
        with open(root / "stdout", "wb") as out, open(root / "stderr", "wb") as err:
            process = subprocess.Popen([sys.executable, "-I", "-S", "-B", "-c", _RUNNER], stdin=subprocess.PIPE,
                                       stdout=out, stderr=err, cwd=work, env=env, start_new_session=True)
            returncode, cpu_used, timed_out, seconds = _wait(process, json.dumps(job).encode(),
                                                              limits.wall_seconds)
        reports = _reports((root / "stdout").read_bytes(), job["nonce"])
        stderr = (root / "stderr").read_bytes().decode("utf-8", "replace")
        return _result(reports, returncode, cpu_used, timed_out, stderr, len(job["tests"]), seconds, limits)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait(process: subprocess.Popen, payload: bytes, wall_seconds: float) -> tuple[int, float, bool, float]:
    """Feed the job, wait up to the wall-clock limit, kill the process group; return (exit code as
    subprocess reports it, CPU seconds the child used, timed out, wall seconds)."""
    start = time.perf_counter()
    try:
        process.stdin.write(payload)
        process.stdin.close()
    except BrokenPipeError:
        pass
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
    return process.returncode, usage.ru_utime + usage.ru_stime, timed_out, seconds


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reports(stdout: bytes, nonce: str) -> list[dict]:
    found = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        if line.startswith(nonce):
            try:
                found.append(json.loads(line[len(nonce):]))
            except json.JSONDecodeError:
                continue
    return found


def _result(reports: list[dict], returncode: int, cpu_used: float, timed_out: bool, stderr: str, total: int,
            seconds: float, limits: Limits) -> dict:
    kinds = {r["kind"]: r for r in reports}
    tests = [r for r in reports if r["kind"] == "test"]
    passed_count = sum(r["passed"] for r in tests)
    failures = [r for r in tests if not r["passed"]]
    start = kinds.get("start", {})
    if "blocked" in kinds:
        status, detail = "blocked", f"{kinds['blocked']['event']}: {kinds['blocked']['detail']}"
    elif timed_out:
        status, detail = "timeout", f"wall-clock limit of {limits.wall_seconds:g}s"
    elif returncode == -signal.SIGXCPU or (returncode == -signal.SIGKILL and cpu_used >= limits.cpu_seconds):
        status, detail = "timeout", f"CPU limit of {limits.cpu_seconds:g}s"
    elif "memory" in kinds or ("done" not in kinds and "MemoryError" in stderr):
        status, detail = "memory", f"memory limit of {limits.memory_mb} MB"
    elif returncode == -signal.SIGXFSZ:
        status, detail = "error", f"file size limit of {limits.file_size_mb} MB"
    elif "load_error" in kinds:
        status, detail = "error", kinds["load_error"]["error"]
    elif "done" in kinds and passed_count == total:
        status, detail = "passed", ""
    elif "done" in kinds:
        status, detail = "failed", f"test {failures[0]['index']}: {failures[0]['error']}" if failures else ""
    else:
        status, detail = "error", f"the child exited with code {returncode} before finishing its tests"
    return {"passed": status == "passed", "status": status, "tests_passed": passed_count, "tests_total": total,
            "stderr_tail": stderr[-_TAIL:], "seconds": round(seconds, 3), "cpu_seconds": round(cpu_used, 3),
            "detail": detail, "isolation": start.get("isolation", {})}

"""conlab's CPython driver: runs one job of conlab's workloads on this interpreter.

Standard library only. conlab starts the interpreter in its own process group, hands it
one JSON line on stdin ({"source": this file, "job": {...}}) and reads events back as
JSON lines on stdout, one os.write per line (atomic on a pipe, so pool children write
their own events straight to the same pipe). conlab plans the tasks (the same task values
its native workloads plan) and folds the outputs with the workload's own `combine`; this
file only computes each task the way the articles write it, and reports what it knows:
task start (pid, native thread id), coalesced progress, task end (wall and thread CPU
time), the blocking calls it made, and the run's end.

When stdin closes before the end (conlab is gone), the driver kills its process group;
on Linux every process also asks the kernel for SIGKILL when its parent dies.
"""

import hashlib
import json
import math
import os
import signal
import sys
import threading
import time
import traceback

PROGRESS_EVERY_S = 0.05
MAX_ERROR = 400
MAX_BODY = 256 * 1024 * 1024
READ_CHUNK = 64 * 1024

_write_lock = threading.Lock()


def now_us():
    return time.monotonic_ns() // 1000


def emit(obj):
    """One event, one line, one write (pool children share the pipe)."""
    data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    with _write_lock:
        while data:
            n = os.write(1, data)
            data = data[n:]


def ids():
    return os.getpid(), threading.get_native_id()


class Progress:
    """Reports done/total at most every PROGRESS_EVERY_S, and always at the end."""

    def __init__(self, task):
        self.task = task
        self.pid, self.tid = ids()
        self.last = 0.0

    def __call__(self, done, total):
        t = time.monotonic()
        if done >= total or t - self.last >= PROGRESS_EVERY_S:
            self.last = t
            emit({"ev": "progress", "task": self.task, "pid": self.pid,
                  "tid": self.tid, "done": done, "total": total, "t": now_us()})

    def waiting(self, kind):
        """A blocking call begins now: said at once, so a live timeline draws the thread
        as waiting while it waits; `blocking` closes it. Returns its start."""
        t0 = now_us()
        emit({"ev": "span_start", "kind": kind, "pid": self.pid, "tid": self.tid,
              "start": t0})
        return t0

    def blocking(self, kind, start_us):
        """A blocking call (a sleep, a request, a read) that ran from start_us to now."""
        emit({"ev": "span", "kind": kind, "pid": self.pid, "tid": self.tid,
              "start": start_us, "end": now_us()})


# ---------------------------------------------------------------- the workloads


def is_prime(n):
    """Trial division by 2, 3 and then 6k +/- 1 up to the square root."""
    if n < 2:
        return False
    if n < 4:
        return True
    if n % 2 == 0 or n % 3 == 0:
        return False
    i = 5
    while i * i <= n:
        if n % i == 0 or n % (i + 2) == 0:
            return False
        i += 6
    return True


def primes(task, progress):
    lo, hi = task["lo"], task["hi"]
    count = 0
    for start in range(lo, hi, 2048):
        end = min(start + 2048, hi)
        count += sum(1 for n in range(start, end) if is_prime(n))
        progress(end - lo, hi - lo)
    progress(hi - lo, hi - lo)
    return count, None


def is_prime_naive(x):
    """x is prime when no d in 2..isqrt(x) divides it."""
    return x >= 2 and all(x % d for d in range(2, math.isqrt(x) + 1))


def naive_primes(task, progress):
    n = task["n"]
    count = 0
    for start in range(0, n, 4096):
        end = min(start + 4096, n)
        count += sum(1 for x in range(start, end) if is_prime_naive(x))
        progress(end, n)
    progress(n, n)
    return count, None


def squares(task, progress):
    n = task["n"]
    total = 0
    for start in range(0, n, 1 << 16):
        end = min(start + (1 << 16), n)
        total += sum(i * i for i in range(start, end))
        progress(end, n)
    progress(n, n)
    return total, None


def fib(task, progress):
    n = task["n"]
    a, b = 0, 1
    for i in range(n):
        a, b = b, a + b
        if i % 1024 == 0:
            progress(i, n)
    digits = len(str(a))
    progress(n, n)
    return digits, {"n": n}


def sleep(task, progress):
    ms = task["ms"]
    progress(0, 1)
    t0 = progress.waiting("io")
    time.sleep(ms / 1000)
    progress.blocking("io", t0)
    progress(1, 1)
    return ms, None


def tiny(task, progress):
    if "x0" in task:
        x0, n = task["x0"], task["n"]
        return sum(x + 1 for x in range(x0, x0 + n)), None
    return task["x"] + 1, None


def http(task, progress):
    import urllib.error
    import urllib.parse
    import urllib.request

    url = task["url"]
    timeout = task["timeout_ms"] / 1000
    headers = {"User-Agent": "conlab-cpython"}
    if task.get("close"):
        headers["Connection"] = "close"
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        # The embedded server: never through a proxy from the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    else:
        opener = urllib.request.build_opener()
    progress(0, 1)
    t0 = progress.waiting("io")
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            status = r.status
            body = r.read(MAX_BODY)
    except urllib.error.HTTPError as e:
        raise RuntimeError("GET %s: HTTP status %d" % (url, e.code)) from None
    except urllib.error.URLError as e:
        raise RuntimeError("GET %s: %s" % (url, e.reason)) from None
    except OSError as e:
        raise RuntimeError("GET %s: %s" % (url, e)) from None
    progress.blocking("io", t0)
    if not 200 <= status < 300:
        raise RuntimeError("GET %s: HTTP status %d" % (url, status))
    digest = hashlib.sha256(body).hexdigest()
    progress(1, 1)
    return len(body), {"status": status, "sha256": digest}


def files(task, progress):
    paths = task["files"]
    words = lines = nbytes = 0
    for i, path in enumerate(paths):
        progress(i, len(paths))
        in_word = False
        with open(path, "rb") as f:
            while True:
                t0 = now_us()
                chunk = f.read(READ_CHUNK)
                progress.blocking("io", t0)
                if not chunk:
                    break
                nbytes += len(chunk)
                lines += chunk.count(b"\n")
                parts = chunk.split()
                words += len(parts)
                # A word cut by the chunk boundary was counted twice.
                if parts and in_word and not chunk[:1].isspace():
                    words -= 1
                in_word = not chunk[-1:].isspace()
    progress(len(paths), len(paths))
    return words, {"files": len(paths), "lines": lines, "bytes": nbytes}


def pipeline(task, progress):
    """The article's process_content on one downloaded body: sha256 (hashlib releases the
    GIL for inputs over 2 KiB), chained `rounds` times as conlab's pipeline does, then
    len(data.split()) (holds the GIL)."""
    body, rounds = task["body"], task["rounds"]
    progress(0, 1)
    t0 = time.perf_counter()
    digest = None
    for _ in range(max(rounds, 1)):
        h = hashlib.sha256()
        if digest is not None:
            h.update(digest)
        h.update(body)
        digest = h.digest()
    t1 = time.perf_counter()
    words = len(body.split())
    t2 = time.perf_counter()
    progress(1, 1)
    return len(body), {"sha256": digest.hex(), "words": words,
                       "sha256_s": t1 - t0, "words_s": t2 - t1}


def crossover(task, progress):
    """conlab's crossover scene: read the item (zlib.adler32 over its bytes, which
    releases the GIL above 5 KiB) and work on it (`rounds` of an interpreted loop)."""
    import zlib

    x = task["item"]
    data = task.get("data")
    if data is None:  # no pool handed it over: make it here
        data = crossover_data(task)
    s = zlib.adler32(data)
    for _ in range(task["rounds"]):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    progress(1, 1)
    return s + x, None


def crossover_data(task):
    """Item `item`'s bytes: the payload scene's pattern, which repeats every 26 bytes."""
    i, n = task["item"], task["bytes"]
    cycle = bytes(97 + (j * 31 + i * 7) % 26 for j in range(26))
    return (cycle * (n // 26 + 1))[:n]


def crossover_items(tasks):
    """The program's items, made one at a time as the pool takes them (memory stays
    flat), each handed over with its bytes: threads read them where they are, processes
    and interpreters get a pickled copy."""
    for t in tasks:
        yield dict(t, data=crossover_data(t))


WORKLOADS = {
    "crossover": crossover,
    "primes": primes,
    "naive-primes": naive_primes,
    "squares": squares,
    "fib": fib,
    "sleep": sleep,
    "tiny": tiny,
    "http": http,
    "files": files,
    "pipeline": pipeline,
}


def error_line(e):
    """The exception's last line, e.g. "ValueError: bad value"."""
    line = traceback.format_exception_only(type(e), e)[-1].strip()
    return line[:MAX_ERROR]


def run_task(workload, index, task):
    """One task, wherever it runs; reports its own start and end."""
    run_task_output(workload, index, task)
    return True


def run_task_output(workload, index, task):
    """run_task, returning the task's output ({"value", "extra"}, or None when it failed)."""
    pid, tid = ids()
    emit({"ev": "start", "task": index, "pid": pid, "tid": tid,
          "thread": threading.current_thread().name, "t": now_us()})
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        value, extra = WORKLOADS[workload](task, Progress(index))
        out = {"ok": {"value": str(value), "extra": extra}}
    except Exception as e:  # a task's failure is reported, never raised
        out = {"err": error_line(e)}
    out.update({"ev": "done", "task": index, "pid": pid, "tid": tid, "t": now_us(),
                "wall_us": int((time.perf_counter() - t0) * 1e6),
                "cpu_us": int((time.thread_time() - c0) * 1e6),
                # This whole process's CPU so far, and its parent: a forkserver's children
                # are not the interpreter's, so their CPU never reaches conlab by wait().
                "proc_cpu_us": int(time.process_time() * 1e6), "ppid": os.getppid()})
    emit(out)
    return out.get("ok")


# ---------------------------------------------------------------- processes and threads


def die_with_parent():
    """Linux: SIGKILL this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except Exception:
        pass


def worker_started(t_pool=None):
    """Says this worker is ready; with the pool's creation time, how long that took."""
    pid, tid = ids()
    t = now_us()
    ev = {"ev": "worker", "pid": pid, "tid": tid, "t": t}
    if t_pool is not None:
        ev["startup_us"] = max(0, t - t_pool)
    emit(ev)


def process_init():
    """A pool child's initializer (T0, the pool's creation, set by CHILD_BOOT's globals)."""
    die_with_parent()
    worker_started(globals().get("T0"))


# Runs in a pool child before anything is unpickled: makes `conlab_driver` importable
# there (with spawn or forkserver it has nothing of ours), then initialises the child.
CHILD_BOOT = """
import sys, types
if "conlab_driver" not in sys.modules:
    m = types.ModuleType("conlab_driver")
    m.SOURCE = SOURCE
    sys.modules["conlab_driver"] = m
    exec(compile(SOURCE, "conlab_driver.py", "exec"), m.__dict__)
sys.modules["conlab_driver"].T0 = T0
sys.modules["conlab_driver"].process_init()
"""


def name_os_thread(name):
    """Linux: the name the kernel shows for this thread (its comm), so conlab's kernel view
    tells the driver's plumbing from the work (Python before 3.14 keeps names to itself)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


def watch_stdin():
    """conlab keeps our stdin open until the run ends: EOF before that means it is gone."""
    name_os_thread("conlab-stdin")
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os.killpg(0, signal.SIGKILL)


def run_bounded(ex, workload, tasks, window, submit=None, finished=None):
    """Submit every task with at most `window` in flight (memory stays bounded).
    `submit(i, task)` gives the future and what `finished(state, result)` gets back with
    its result (default: `run_task` in the pool, nothing kept). A task whose future failed
    never reported (the pool broke under it): it is reported done with the error."""
    from concurrent.futures import FIRST_COMPLETED, wait

    if submit is None:
        def submit(i, t):
            return ex.submit(run_task, workload, i, t), None
    pending = {}
    it = iter(enumerate(tasks))
    while True:
        while len(pending) < window:
            nxt = next(it, None)
            if nxt is None:
                break
            i, t = nxt
            f, state = submit(i, t)
            pending[f] = (i, state)
        if not pending:
            return
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for f in done:
            i, state = pending.pop(f)
            e = f.exception()
            if e is not None:
                pid, tid = ids()
                emit({"ev": "done", "task": i, "pid": pid, "tid": tid, "t": now_us(),
                      "err": error_line(e), "wall_us": 0, "cpu_us": 0})
            elif finished is not None:
                finished(state, f.result())


def cpu_beliefs():
    """What Python believes about the CPUs (none of it knows a cgroup's CPU quota)."""
    out = {"cpu_count": os.cpu_count()}
    if hasattr(os, "process_cpu_count"):  # 3.13+
        out["process_cpu_count"] = os.process_cpu_count()
    if hasattr(os, "sched_getaffinity"):
        out["affinity"] = len(os.sched_getaffinity(0))
    return out


def main(job):
    die_with_parent()
    threading.Thread(target=watch_stdin, name="conlab-stdin", daemon=True).start()
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    if job.get("switch_interval_s"):
        sys.setswitchinterval(job["switch_interval_s"])
    import multiprocessing

    method = job.get("start_method") or multiprocessing.get_start_method()
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    pid, tid = ids()
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    emit({"ev": "hello", "pid": pid, "t": now_us(), "version": sys.version.split()[0],
          "gil": gil, "switch_interval_s": sys.getswitchinterval(), "start_method": method,
          "startup_cpu_us": int((ru.ru_utime + ru.ru_stime) * 1e6),
          "cpus": cpu_beliefs()})

    if job.get("convoy_ms"):
        convoy(job["convoy_ms"])
        emit({"ev": "end", "t": now_us()})
        return
    workload, model, workers, tasks = job["workload"], job["model"], job["workers"], job["tasks"]
    if workload == "native":
        native_scene(job)
        emit({"ev": "end", "t": now_us()})
        return
    if workload == "pipeline":
        tasks = download_stage(tasks, job["workers"])
    count = len(tasks)
    if workload == "crossover":
        tasks = crossover_items(tasks)
    window = 4 * workers + 16
    if model == "sequential":
        worker_started()
        for i, t in enumerate(tasks):
            run_task(workload, i, t)
    elif model == "threads":
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="py-thread",
                                initializer=worker_started, initargs=(now_us(),)) as ex:
            run_bounded(ex, workload, tasks, window)
        emit({"ev": "crossing", "items": count, "bytes": 0, "transfer_us": 0,
              "how": "shared memory"})
    elif model == "processes":
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context(method)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=exec,
                                 initargs=(CHILD_BOOT, {"SOURCE": SOURCE, "T0": now_us()})) as ex:
            run_bounded(ex, workload, tasks, window)
        emit({"ev": "crossing", "items": count, "bytes": None, "transfer_us": None,
              "how": "pickle through pipes (ProcessPoolExecutor's own; not measured)"})
    elif model == "interpreters":
        run_interpreters(workload, workers, tasks, window)
    elif model == "async":
        import asyncio

        asyncio.run(run_async(job, workload, workers, tasks))
    else:
        raise SystemExit("conlab driver: unknown model %r" % model)
    emit({"ev": "end", "t": now_us()})


# ---------------------------------------------------------------- the interpreters model
#
# Subinterpreters (PEP 684: a GIL each; PEP 734: the API). Every worker is a thread of this
# process running its own interpreter, which boots its own copy of this file. Nothing is
# shared: a task's arguments are pickled here and unpickled there, its result pickled
# there and unpickled here, each step timed; the bytes themselves cross as a copy.

XI_BOOT = """
import sys, types
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)
if SWITCH:
    sys.setswitchinterval(SWITCH)
if "conlab_driver" not in sys.modules:
    m = types.ModuleType("conlab_driver")
    m.SOURCE = SOURCE
    sys.modules["conlab_driver"] = m
    exec(compile(SOURCE, "conlab_driver.py", "exec"), m.__dict__)
sys.modules["conlab_driver"].worker_started(T0)
"""


def xi_task(workload, blob):
    """In a worker interpreter: unpickle (index, task), run it (it reports itself), pickle
    the output; returns the pickled output and the ns spent unpickling and pickling."""
    import pickle

    t0 = time.perf_counter_ns()
    index, task = pickle.loads(blob)
    t_in = time.perf_counter_ns() - t0
    out = run_task_output(workload, index, task)
    t1 = time.perf_counter_ns()
    back = pickle.dumps(out)
    return back, t_in + time.perf_counter_ns() - t1


def run_interpreters(workload, workers, tasks, window):
    import pickle

    totals = {"items": 0, "bytes": 0, "ns": 0}

    def send(i, t):
        t0 = time.perf_counter_ns()
        blob = pickle.dumps((i, t))
        return blob, time.perf_counter_ns() - t0

    def receive(blob_in, ns_in, back, ns_there):
        t0 = time.perf_counter_ns()
        pickle.loads(back)
        totals["items"] += 1
        totals["bytes"] += len(blob_in) + len(back)
        totals["ns"] += ns_in + ns_there + time.perf_counter_ns() - t0

    switch = sys.getswitchinterval()
    try:
        from concurrent.futures import InterpreterPoolExecutor  # 3.14+
    except ImportError:
        InterpreterPoolExecutor = None
    if InterpreterPoolExecutor is not None:
        how = "pickle both ways, InterpreterPoolExecutor (concurrent.futures)"
        boot = {"SOURCE": SOURCE, "T0": now_us(), "SWITCH": switch}
        with InterpreterPoolExecutor(max_workers=workers, thread_name_prefix="py-interp",
                                     initializer=exec, initargs=(XI_BOOT, boot)) as ex:
            def submit(i, t):
                blob, ns = send(i, t)
                return ex.submit(xi_task, workload, blob), (blob, ns)

            def finished(state, result):
                blob, ns = state
                back, ns_there = result
                receive(blob, ns, back, ns_there)

            run_bounded(ex, workload, tasks, window, submit, finished)
    else:
        how = "pickle both ways, _interpreters and _interpqueues (3.13)"
        run_xi_313(workload, workers, tasks, send, receive, switch)
    emit({"ev": "crossing", "items": totals["items"], "bytes": totals["bytes"],
          "transfer_us": totals["ns"] // 1000, "how": how})


def run_xi_313(workload, workers, tasks, send, receive, switch):
    """3.13 has no public API: a thread per worker, each creating its interpreter with the
    private `_interpreters` and getting results back through `_interpqueues`."""
    import _interpqueues
    import _interpreters

    lock = threading.Lock()
    todo = iter(enumerate(tasks))
    t_pool = now_us()
    errors = []

    def fail(i, msg):
        pid, tid = ids()
        emit({"ev": "done", "task": i, "pid": pid, "tid": tid, "t": now_us(),
              "err": msg[:MAX_ERROR], "wall_us": 0, "cpu_us": 0})

    def worker(k):
        name_os_thread("py-interp-%d" % k)
        iid = _interpreters.create()
        qid = _interpqueues.create(0, 0, 1)
        try:
            boot = {"SOURCE": SOURCE, "T0": t_pool, "SWITCH": switch}
            err = _interpreters.exec(iid, XI_BOOT, boot)
            if err is not None:
                errors.append(err.formatted)
                return
            _interpreters.set___main___attrs(iid, {"QID": qid, "WORKLOAD": workload})
            _interpreters.exec(iid, "import conlab_driver, _interpqueues")
            while True:
                with lock:
                    nxt = next(todo, None)
                if nxt is None:
                    return
                i, t = nxt
                blob, ns = send(i, t)
                _interpreters.set___main___attrs(iid, {"BLOB": blob})
                err = _interpreters.exec(iid, (
                    "back, ns = conlab_driver.xi_task(WORKLOAD, BLOB)\n"
                    "_interpqueues.put(QID, back, 0, 1)\n"
                    "_interpqueues.put(QID, ns, 0, 1)\n"))
                if err is not None:
                    fail(i, err.formatted.strip().splitlines()[-1])
                    continue
                back = _interpqueues.get(qid)[0]
                ns_there = _interpqueues.get(qid)[0]
                with lock:
                    receive(blob, ns, back, ns_there)
        finally:
            _interpqueues.destroy(qid)
            _interpreters.destroy(iid)

    threads = [threading.Thread(target=worker, args=(k,), name="py-interp-%d" % k)
               for k in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        # No interpreter could boot: every task not run fails with the reason.
        for i, _t in todo:
            fail(i, "a subinterpreter did not start: " + errors[0].strip().splitlines()[-1])


# ---------------------------------------------------------------- the async model
#
# One event loop (asyncio.run), every task a coroutine. sleep awaits a timer, http awaits
# its socket (asyncio streams: the standard library has no async HTTP client, so a GET
# is written out: HTTP/1.1, Connection: close), files awaits each read on the loop's
# default executor (the standard library has no async file API; aiofiles does the same).
# Other workloads are CPU work: their plain function runs on the loop and blocks it, or
# with offload in a pool (asyncio.to_thread's executor / run_in_executor).

HEARTBEAT_S = 0.010


async def a_sleep(task, progress, cpu):
    import asyncio

    ms = task["ms"]
    progress(0, 1)
    await asyncio.sleep(ms / 1000)
    progress(1, 1)
    return ms, None


async def a_get(url, timeout, headers):
    """GET over asyncio streams: (status, body)."""
    import asyncio
    import urllib.parse

    u = urllib.parse.urlsplit(url)
    if u.scheme != "http":
        raise RuntimeError("GET %s: the async driver speaks plain http:// only" % url)
    host, port = u.hostname or "", u.port or 80
    target = (u.path or "/") + ("?" + u.query if u.query else "")

    async def fetch():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            head = {"Host": u.netloc, "User-Agent": "conlab-cpython", "Connection": "close"}
            head.update(headers)
            lines = ["GET %s HTTP/1.1" % target] + ["%s: %s" % kv for kv in head.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.split()
            if len(parts) < 2 or not parts[1].isdigit():
                raise RuntimeError("GET %s: bad status line %r" % (url, status_line[:80]))
            fields = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                fields[k.strip().lower()] = v.strip()
            if "chunked" in fields.get("transfer-encoding", "").lower():
                body = bytearray()
                while True:
                    size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        break
                    body += await reader.readexactly(size)
                    await reader.readline()
                body = bytes(body)
            elif "content-length" in fields:
                body = await reader.readexactly(min(int(fields["content-length"]), MAX_BODY))
            else:
                body = await reader.read(MAX_BODY)
            return int(parts[1]), body
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(fetch(), timeout)
    except asyncio.TimeoutError:
        raise RuntimeError("GET %s: timed out after %.1f s" % (url, timeout)) from None
    except (OSError, asyncio.IncompleteReadError) as e:
        raise RuntimeError("GET %s: %s" % (url, e)) from None


async def a_http(task, progress, cpu):
    progress(0, 1)
    status, body = await a_get(task["url"], task["timeout_ms"] / 1000,
                               task.get("headers") or {})
    if not 200 <= status < 300:
        raise RuntimeError("GET %s: HTTP status %d" % (task["url"], status))
    c0 = time.thread_time()
    digest = hashlib.sha256(body).hexdigest()  # CPU work: on the loop, between awaits
    cpu[0] += time.thread_time() - c0
    progress(1, 1)
    return len(body), {"status": status, "sha256": digest}


async def a_files(task, progress, cpu):
    import asyncio

    paths = task["files"]
    words = lines = nbytes = 0
    for i, path in enumerate(paths):
        progress(i, len(paths))
        in_word = False
        f = await asyncio.to_thread(open, path, "rb")
        try:
            while True:
                chunk = await asyncio.to_thread(f.read, READ_CHUNK)
                if not chunk:
                    break
                c0 = time.thread_time()
                nbytes += len(chunk)
                lines += chunk.count(b"\n")
                parts = chunk.split()
                words += len(parts)
                if parts and in_word and not chunk[:1].isspace():
                    words -= 1
                in_word = not chunk[-1:].isspace()
                cpu[0] += time.thread_time() - c0
        finally:
            f.close()
    progress(len(paths), len(paths))
    return words, {"files": len(paths), "lines": lines, "bytes": nbytes}


ASYNC_WORKLOADS = {"sleep": a_sleep, "http": a_http, "files": a_files}


async def run_task_async(workload, index, task):
    """A coroutine's task, reported as run_task reports a plain one."""
    pid, tid = ids()
    emit({"ev": "start", "task": index, "pid": pid, "tid": tid,
          "thread": threading.current_thread().name, "t": now_us()})
    t0, cpu = time.perf_counter(), [0.0]
    try:
        value, extra = await ASYNC_WORKLOADS[workload](task, Progress(index), cpu)
        out = {"ok": {"value": str(value), "extra": extra}}
    except Exception as e:
        out = {"err": error_line(e)}
    out.update({"ev": "done", "task": index, "pid": pid, "tid": tid, "t": now_us(),
                "wall_us": int((time.perf_counter() - t0) * 1e6),
                "cpu_us": int(cpu[0] * 1e6),
                "proc_cpu_us": int(time.process_time() * 1e6), "ppid": os.getppid()})
    emit(out)


async def heartbeat(state):
    """Every HEARTBEAT_S: how late the timer fired (the loop's lag)."""
    import asyncio

    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + HEARTBEAT_S
        await asyncio.sleep(HEARTBEAT_S)
        lag = max(0.0, loop.time() - due)
        emit({"ev": "lag", "t": now_us(), "lag_us": int(lag * 1e6),
              "in_flight": state["in_flight"]})


async def run_async(job, workload, workers, tasks):
    import asyncio

    loop = asyncio.get_running_loop()
    worker_started()
    offload = job.get("offload") or "none"
    limit = job.get("max_in_flight") or len(tasks) or 1
    sem = asyncio.Semaphore(limit)
    state = {"in_flight": 0}
    pool = None
    if workload not in ASYNC_WORKLOADS and offload == "threads":
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=min(workers, limit),
                                  thread_name_prefix="py-to-thread",
                                  initializer=worker_started)
    elif workload not in ASYNC_WORKLOADS and offload == "processes":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context(job.get("start_method") or
                                          multiprocessing.get_start_method())
        pool = ProcessPoolExecutor(max_workers=min(workers, limit), mp_context=ctx,
                                   initializer=exec,
                                   initargs=(CHILD_BOOT, {"SOURCE": SOURCE, "T0": now_us()}))

    async def one(i, t):
        async with sem:
            state["in_flight"] += 1
            try:
                if workload in ASYNC_WORKLOADS:
                    await run_task_async(workload, i, t)
                elif pool is not None:
                    await loop.run_in_executor(pool, run_task, workload, i, t)
                else:
                    run_task(workload, i, t)  # CPU work on the loop: it blocks the loop
                    await asyncio.sleep(0)
            finally:
                state["in_flight"] -= 1

    beat = asyncio.ensure_future(heartbeat(state))
    try:
        await asyncio.gather(*(one(i, t) for i, t in enumerate(tasks)))
    finally:
        beat.cancel()
        if pool is not None:
            pool.shutdown()


# ---------------------------------------------------------------- the convoy effect


def convoy(run_ms):
    """A thread napping 1 ms at a time, alone and then beside a CPU-bound thread: how
    long past each nap it took to run again (the wait for the GIL, plus timer slack)."""
    import statistics

    def waiter(stop, lat):
        while not stop.is_set():
            t0 = time.perf_counter()
            time.sleep(0.001)
            lat.append((time.perf_counter() - t0 - 0.001) * 1e3)

    def spinner(stop, seconds):
        x = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(1000):
                x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        stop.set()

    def measure(with_cpu, seconds):
        stop, lat = threading.Event(), []
        threads = [threading.Thread(target=waiter, args=(stop, lat))]
        if with_cpu:
            threads.append(threading.Thread(target=spinner, args=(stop, seconds)))
        for t in threads:
            t.start()
        if not with_cpu:
            time.sleep(seconds)
            stop.set()
        for t in threads:
            t.join()
        return lat

    alone = measure(False, min(run_ms, 300) / 1000)
    beside = measure(True, run_ms / 1000)
    emit({"ev": "convoy", "t": now_us(),
          "alone_median_ms": statistics.median(alone) if alone else 0.0,
          "median_ms": statistics.median(beside) if beside else 0.0,
          "wakeups": len(beside),
          "switch_interval_ms": sys.getswitchinterval() * 1e3})


# ---------------------------------------------------------------- the pipeline's downloads


def download_stage(tasks, workers):
    """The pipeline's first stage: every body downloaded on a thread pool whatever the
    model (as conlab's native pipeline does); returns the processing tasks."""
    from concurrent.futures import ThreadPoolExecutor
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(task):
        t0 = now_us()
        with opener.open(task["url"], timeout=task["timeout_ms"] / 1000) as r:
            body = r.read(MAX_BODY)
        pid, tid = ids()
        emit({"ev": "span", "kind": "io", "pid": pid, "tid": tid, "start": t0,
              "end": now_us()})
        return {"body": body, "rounds": task["rounds"]}

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="py-download") as ex:
        return list(ex.map(get, tasks))


# ---------------------------------------------------------------- native code and the GIL
#
# The three kinds of work, for real: a pure-Python loop (interpreted: the eval loop checks
# for a drop request between bytecodes), hashlib.sha256 over a large buffer (OpenSSL runs
# with the GIL released for inputs over 2 KiB), and sum(range(n)) — one C call that never
# releases the GIL and never reaches the eval loop's check until it returns. Measured on
# this machine's 3.11.7: a bystander waking every 1 ms beside sum(range(3_000_000)) (117 ms)
# waited up to 167 ms; sorted() of 300,000 ints (163 ms) also held it (174 ms), as did a
# pathological `re` match and bytes.count; hashlib.sha256 over 40 MB let it in within 6 ms.


def interpreted_call(n):
    x = 0
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def native_call_maker(kind):
    """A function doing one call of `kind` sized by n, and its unit of n."""
    if kind == "interpreted":
        return interpreted_call
    if kind == "releasing":
        buf = bytes(range(256)) * (64 * 1024 * 1024 // 256)

        def releasing(n):
            return hashlib.sha256(memoryview(buf)[:n]).digest()

        return releasing
    if kind == "holding":
        return lambda n: sum(range(n))
    raise SystemExit("conlab driver: unknown native variant %r" % kind)


def calibrate(call, target_s, cap):
    """The n for which one call takes about target_s (capped)."""
    n = 1024
    while True:
        t0 = time.perf_counter()
        call(n)
        took = time.perf_counter() - t0
        if took >= 0.01 or n >= cap:
            return max(1, min(cap, int(n * target_s / max(took, 1e-9))))
        n *= 4


def native_scene(job):
    """conlab's `native` scene on this interpreter: the calls one after another on one
    thread, then on `workers` threads, beside a bystander napping 1 ms at a time."""
    import statistics

    kind, workers = job.get("variant") or "interpreted", job["workers"]
    call = native_call_maker(kind)
    cap = 64 * 1024 * 1024 if kind == "releasing" else 1 << 40
    n = calibrate(call, job.get("call_ms", 40) / 1000, cap)
    calls = workers * 4
    stop, phase, lat = threading.Event(), [0], ([], [])
    started, call_ms, results = [], [], [None] * calls

    def announce(i):
        pid, tid = ids()
        started.append((i, pid, tid))
        emit({"ev": "start", "task": i, "pid": pid, "tid": tid,
              "thread": threading.current_thread().name, "t": now_us()})

    def bystander():
        announce(workers)
        while not stop.is_set():
            t0 = time.perf_counter()
            time.sleep(0.001)
            lat[phase[0]].append((time.perf_counter() - t0 - 0.001) * 1e3)

    def timed(c):
        t0 = time.perf_counter()
        results[c] = repr(call(n)).encode()
        call_ms.append((time.perf_counter() - t0) * 1e3)

    b = threading.Thread(target=bystander, name="py-bystander")
    b.start()
    announce(0)
    t0 = time.perf_counter()
    for c in range(calls):
        timed(c)
    sequential_s = time.perf_counter() - t0
    phase[0] = 1
    queue = list(range(calls))
    qlock = threading.Lock()

    def worker(i):
        if i:
            announce(i)
        while True:
            with qlock:
                if not queue:
                    return
                c = queue.pop()
            timed(c)

    threads = [threading.Thread(target=worker, args=(i,), name="py-thread-%d" % i)
               for i in range(1, workers)]
    t1 = time.perf_counter()
    for t in threads:
        t.start()
    worker(0)
    for t in threads:
        t.join()
    threads_s = time.perf_counter() - t1
    stop.set()
    b.join()

    def stats(xs):
        xs = sorted(xs)
        if not xs:
            return {"worst": 0.0, "p99": 0.0, "median": 0.0, "wakeups": 0}
        r3 = lambda x: round(x, 3)
        return {"worst": r3(xs[-1]), "p99": r3(xs[round((len(xs) - 1) * 0.99)]),
                "median": r3(statistics.median(xs)), "wakeups": len(xs)}

    speedup = sequential_s / threads_s if threads_s > 0 else 0.0
    run = {"variant": kind, "gil": getattr(sys, "_is_gil_enabled", lambda: True)(),
           "switch_interval_ms": sys.getswitchinterval() * 1e3, "nap_ms": 1.0,
           "calls": calls, "n_per_call": n, "checksum": hashlib.sha256(b"".join(results)).hexdigest()[:16],
           "native_call_ms": {"median": round(statistics.median(call_ms), 3),
                              "max": round(max(call_ms), 3)},
           "sequential_s": round(sequential_s, 3), "threads_s": round(threads_s, 3),
           "workers": workers, "speedup": round(speedup, 3),
           "bystander_ms": stats(lat[1]), "bystander_sequential_ms": stats(lat[0])}
    for i, pid, tid in sorted(started):
        extra = {"run": run} if i == 0 else None
        emit({"ev": "done", "task": i, "pid": pid, "tid": tid, "t": now_us(),
              "ok": {"value": "0", "extra": extra}, "wall_us": 0, "cpu_us": 0})

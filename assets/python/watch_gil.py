# conlab watch's boot for CPython's GIL sampler (3.15+). Run by
# `python -m profiling.sampling run -a --gecko -o DIR/gil.json DIR/conlab_watch_boot.py DIR MODE TARGET ARGS...`
# in the process the sampler watches; it runs the user's program as Python would have
# (script, -c or -m; sys.argv and sys.path as without the sampler) and writes its exit
# status to DIR/status, because the sampler itself always exits 0.
import os
import sys
import types

_d, _mode, _target, _args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
try:
    os.unlink(os.path.join(_d, "conlab_watch_boot.py"))
except OSError:
    pass
# The sampler's coordinator put this file's folder and the working directory first.
_cwd = os.getcwd()
while sys.path and sys.path[0] in (_d, os.path.realpath(_d), _cwd):
    del sys.path[0]


def _status(code):
    try:
        with open(os.path.join(_d, "status"), "w") as f:
            f.write(str(code))
    except OSError:
        pass


def _main_module(file):
    m = types.ModuleType("__main__")
    m.__builtins__ = __builtins__
    if file is not None:
        m.__file__ = file
    sys.modules["__main__"] = m
    return m


try:
    if _mode == "-m":
        import runpy

        sys.path.insert(0, _cwd)
        sys.argv = [_target] + _args
        runpy.run_module(_target, run_name="__main__", alter_sys=True)
    elif _mode == "-c":
        sys.path.insert(0, "")
        sys.argv = ["-c"] + _args
        _m = _main_module(None)
        exec(compile(_target, "<string>", "exec"), _m.__dict__)
    else:
        _path = os.path.abspath(_target)
        sys.path.insert(0, os.path.dirname(os.path.realpath(_path)))
        sys.argv = [_target] + _args
        with open(_path, "rb") as _f:
            _code = compile(_f.read(), _path, "exec")
        _m = _main_module(_path)
        exec(_code, _m.__dict__)
except SystemExit as e:
    c = e.code
    _status(0 if c is None else (c & 0xFF if isinstance(c, int) else 1))
    raise
except KeyboardInterrupt:
    _status(130)
    raise
except BaseException:
    _status(1)
    raise
else:
    _status(0)

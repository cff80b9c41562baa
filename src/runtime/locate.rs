//! Finding an interpreter by version name: `--python 3.14t`, `--python 3.13`,
//! `--python 3.11.7`. Looked for on PATH (skipping pyenv's shims, which run whatever
//! version is selected), in pyenv's versions, in uv's managed Pythons and in the cache
//! that `scripts/pythons` fills. Anything else (`python3`, a path) is used as given.

use std::path::{Path, PathBuf};

/// The env var that moves `scripts/pythons`' cache (default `~/.cache/conlab-pythons`).
pub const CACHE_ENV: &str = "CONLAB_PYTHONS_DIR";

/// A version name: major.minor, an optional patch, an optional `t` (free-threaded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
    pub free_threaded: bool,
}

impl Wanted {
    /// "3.14t", "3.13", "3.11.7" — `None` for anything else (a path, `python3`).
    pub fn parse(s: &str) -> Option<Wanted> {
        let (body, t) = match s.strip_suffix('t') {
            Some(b) => (b, true),
            None => (s, false),
        };
        let mut parts = body.split('.');
        let num = |p: Option<&str>| -> Option<u32> {
            let p = p?;
            (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        };
        let major = num(parts.next())?;
        let minor = num(parts.next())?;
        let patch = match parts.next() {
            None => None,
            Some(p) => Some(num(Some(p))?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Wanted {
            major,
            minor,
            patch,
            free_threaded: t,
        })
    }

    fn matches(&self, v: &Version) -> bool {
        v.major == self.major
            && v.minor == self.minor
            && v.free_threaded == self.free_threaded
            && (self.patch.is_none() || self.patch == v.patch)
    }
}

/// A version read from a folder's name (pyenv's `3.13.0t`, uv's `cpython-3.14.0+freethreaded-…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Version {
    major: u32,
    minor: u32,
    patch: Option<u32>,
    free_threaded: bool,
}

/// pyenv names its folders "3.13.0", "3.13.0t", "3.14-dev", "3.14t-dev".
fn pyenv_version(dir: &str) -> Option<Version> {
    let body = dir.strip_suffix("-dev").unwrap_or(dir);
    let w = Wanted::parse(body)?;
    Some(Version {
        major: w.major,
        minor: w.minor,
        patch: w.patch,
        free_threaded: w.free_threaded,
    })
}

/// uv names its folders "cpython-3.14.0-linux-x86_64-gnu" and
/// "cpython-3.14.0+freethreaded-linux-x86_64-gnu".
fn uv_version(dir: &str) -> Option<Version> {
    let rest = dir.strip_prefix("cpython-")?;
    let ver = rest.split('-').next()?;
    let (num, ft) = match ver.split_once('+') {
        Some((n, tag)) => (n, tag == "freethreaded"),
        None => (ver, false),
    };
    let w = Wanted::parse(num)?;
    if w.free_threaded {
        return None;
    }
    Some(Version {
        major: w.major,
        minor: w.minor,
        patch: w.patch,
        free_threaded: ft,
    })
}

/// Where to look; [`Places::from_env`] reads the real ones, tests make their own.
#[derive(Clone, Debug, Default)]
pub struct Places {
    pub path: Vec<PathBuf>,
    pub pyenv_versions: Option<PathBuf>,
    pub uv_pythons: Option<PathBuf>,
    pub cache_bin: Option<PathBuf>,
}

impl Places {
    pub fn from_env() -> Places {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let under_home = |rel: &str| home.as_ref().map(|h| h.join(rel));
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Places {
            path: std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default(),
            pyenv_versions: var("PYENV_ROOT")
                .map(|r| r.join("versions"))
                .or_else(|| under_home(".pyenv/versions")),
            uv_pythons: var("UV_PYTHON_INSTALL_DIR")
                .or_else(|| under_home(".local/share/uv/python")),
            cache_bin: var(CACHE_ENV)
                .map(|c| c.join("bin"))
                .or_else(|| under_home(".cache/conlab-pythons/bin")),
        }
    }
}

/// One interpreter found, for the list an error shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// "3.13.0 (pyenv)", "python3.11 (PATH)".
    pub name: String,
    pub path: PathBuf,
    version: Option<Version>,
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Sorted entries of a folder (none when it cannot be read), at most 500.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .take(500)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// "python3.11" or "python3.13t" (not "python3.11-config", not "python3").
fn versioned_file(name: &str) -> Option<Version> {
    let w = Wanted::parse(name.strip_prefix("python")?)?;
    if w.patch.is_some() {
        return None;
    }
    Some(Version {
        major: w.major,
        minor: w.minor,
        patch: None,
        free_threaded: w.free_threaded,
    })
}

/// `python3.13` that is a link to `python3.13t` beside it (`make altinstall` of a
/// free-threaded build makes both): not a GIL build, so not found as "3.13".
fn same_file_as_t(dir: &Path, name: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    if name.ends_with('t') {
        return false;
    }
    match (
        std::fs::metadata(dir.join(name)),
        std::fs::metadata(dir.join(format!("{name}t"))),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Folder names in version order ("3.6.15" before "3.13.0"), other names after.
fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> Vec<u32> {
        s.split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .take(4)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// The interpreter in a pyenv or uv folder: `bin/python3.Xt`, `bin/python3.X`, `bin/python3`.
fn in_prefix(prefix: &Path, v: &Version) -> Option<PathBuf> {
    let t = if v.free_threaded { "t" } else { "" };
    [
        format!("python{}.{}{t}", v.major, v.minor),
        format!("python{}.{}", v.major, v.minor),
        format!("python{}", v.major),
    ]
    .iter()
    .map(|n| prefix.join("bin").join(n))
    .find(|p| is_executable(p))
}

/// Every interpreter found in `places`, in the order they are preferred: PATH, the cache,
/// pyenv, uv.
pub fn found(places: &Places) -> Vec<Found> {
    let mut out = Vec::new();
    let mut bins: Vec<(&Path, &str)> = places
        .path
        .iter()
        .filter(|d| !d.to_string_lossy().contains(".pyenv/shims"))
        .map(|d| (d.as_path(), "PATH"))
        .collect();
    if let Some(c) = &places.cache_bin {
        bins.push((c.as_path(), "scripts/pythons"));
    }
    for (dir, source) in bins {
        for name in entries(dir) {
            let p = dir.join(&name);
            if let Some(v) = versioned_file(&name)
                && is_executable(&p)
                && !out.iter().any(|f: &Found| f.path == p)
                && !same_file_as_t(dir, &name)
            {
                out.push(Found {
                    name: format!("{name} ({source})"),
                    path: p,
                    version: Some(v),
                });
            }
        }
    }
    let prefixes = [
        (
            &places.pyenv_versions,
            "pyenv",
            pyenv_version as fn(&str) -> Option<Version>,
        ),
        (&places.uv_pythons, "uv", uv_version),
    ];
    for (root, source, parse) in prefixes {
        let Some(root) = root else { continue };
        let mut dirs = entries(root);
        dirs.sort_by(|a, b| {
            version_order(
                a.trim_start_matches("cpython-"),
                b.trim_start_matches("cpython-"),
            )
        });
        for dir in dirs {
            let Some(v) = parse(&dir) else { continue };
            if let Some(p) = in_prefix(&root.join(&dir), &v) {
                out.push(Found {
                    name: format!("{dir} ({source})"),
                    path: p,
                    version: Some(v),
                });
            }
        }
    }
    out
}

/// `--python`'s value as a path to run: a version name is looked up (an error lists what
/// was found and how to get what was not); anything else is returned as given.
pub fn resolve(given: &Path, places: &Places) -> Result<PathBuf, String> {
    let Some(w) = given.to_str().and_then(Wanted::parse) else {
        return Ok(given.to_path_buf());
    };
    let all = found(places);
    if let Some(f) = all
        .iter()
        .find(|f| f.version.is_some_and(|v| w.matches(&v)))
        // A PATH entry does not say its patch: "3.11.7" may be python3.11 on PATH.
        .or_else(|| {
            w.patch.and(all.iter().find(|f| {
                f.version
                    .is_some_and(|v| v.patch.is_none() && Wanted { patch: None, ..w }.matches(&v))
            }))
        })
    {
        return Ok(f.path.clone());
    }
    let listed = if all.is_empty() {
        "none".to_string()
    } else {
        all.iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let how = if w.free_threaded {
        format!(
            "; to get a free-threaded Python: `uv python install {m}.{n}t`, `pyenv install {m}.{n}t`, \
             or conlab's scripts/pythons (builds 3.13t)",
            m = w.major,
            n = w.minor
        )
    } else {
        format!(
            "; install it with `uv python install {m}.{n}` or `pyenv install {m}.{n}`, or pass a path",
            m = w.major,
            n = w.minor
        )
    };
    Err(format!(
        "no Python {given} found: looked on PATH, in pyenv's versions, uv's Pythons and \
         scripts/pythons' cache ({cache}); found: {listed}{how}",
        given = given.display(),
        cache = places
            .cache_bin
            .as_ref()
            .map(|c| c.display().to_string())
            .unwrap_or_else(|| "no HOME".into()),
    ))
}

/// The newest free-threaded interpreter found (a lesson about free-threading runs on it).
pub fn newest_free_threaded(places: &Places) -> Option<PathBuf> {
    found(places)
        .into_iter()
        .filter_map(|f| Some((f.version?, f.path)))
        .filter(|(v, _)| v.free_threaded)
        .max_by_key(|(v, _)| (v.major, v.minor, v.patch))
        .map(|(_, p)| p)
}

/// The newest interpreter found that has subinterpreters (3.13+), a GIL build first: the
/// interpreters model on real CPython runs on it.
pub fn newest_with_interpreters(places: &Places) -> Option<PathBuf> {
    found(places)
        .into_iter()
        .filter_map(|f| Some((f.version?, f.path)))
        .filter(|(v, _)| (v.major, v.minor) >= (3, 13))
        .max_by_key(|(v, _)| (!v.free_threaded, v.major, v.minor, v.patch))
        .map(|(_, p)| p)
}

/// What a lesson's steps on real CPython need of the interpreter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LessonNeeds {
    /// A step turns the GIL off.
    pub free_threading: bool,
    /// A step runs the interpreters model (3.13+).
    pub interpreters: bool,
}

/// The interpreter a lesson's steps run on: the newest free-threaded one found when a step
/// turns the GIL off on real CPython, the newest with subinterpreters when a step runs
/// them, else `python3` (which then says what is missing).
pub fn for_lesson(needs: LessonNeeds) -> PathBuf {
    let places = Places::from_env();
    needs
        .free_threading
        .then(|| newest_free_threaded(&places))
        .flatten()
        .or_else(|| {
            needs
                .interpreters
                .then(|| newest_with_interpreters(&places))
                .flatten()
        })
        .unwrap_or_else(|| PathBuf::from(super::DEFAULT_PYTHON))
}

/// The cached interpreter `scripts/pythons` provides under this file name (`python3.13t`),
/// if it is there: for tests and benchmarks that need one.
pub fn cached(file: &str) -> Option<PathBuf> {
    let p = Places::from_env().cache_bin?.join(file);
    is_executable(&p).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exe(p: &Path) {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
    }

    #[test]
    fn version_names_parse_and_paths_do_not() {
        let w = Wanted::parse("3.14t").expect("3.14t");
        assert_eq!(
            (w.major, w.minor, w.patch, w.free_threaded),
            (3, 14, None, true)
        );
        let w = Wanted::parse("3.11.7").expect("3.11.7");
        assert_eq!((w.minor, w.patch, w.free_threaded), (11, Some(7), false));
        for not in [
            "python3",
            "/usr/bin/python3",
            "3",
            "3.",
            "3.x",
            "t",
            "3.1.2.3",
            "",
            "3.14tt",
        ] {
            assert_eq!(Wanted::parse(not), None, "{not}");
        }
    }

    #[test]
    fn folder_names_of_pyenv_and_uv() {
        let v = pyenv_version("3.13.0t").expect("pyenv t");
        assert!(v.free_threaded && v.patch == Some(0));
        assert!(pyenv_version("3.14t-dev").is_some_and(|v| v.free_threaded));
        assert_eq!(pyenv_version("pypy3.10-7.3.12"), None);
        let v = uv_version("cpython-3.14.0+freethreaded-linux-x86_64-gnu").expect("uv t");
        assert!(v.free_threaded && v.minor == 14);
        let v = uv_version("cpython-3.12.8-linux-x86_64-gnu").expect("uv");
        assert!(!v.free_threaded && v.patch == Some(8));
        assert_eq!(uv_version("pypy-3.10.14-linux-x86_64-gnu"), None);
    }

    fn places(root: &Path) -> Places {
        Places {
            path: vec![root.join("usr/bin"), root.join(".pyenv/shims")],
            pyenv_versions: Some(root.join(".pyenv/versions")),
            uv_pythons: Some(root.join("uv")),
            cache_bin: Some(root.join("cache/bin")),
        }
    }

    #[test]
    fn subinterpreters_run_on_the_newest_3_13_or_later_a_gil_build_first() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        let p = places(r);
        exe(&r.join("usr/bin/python3.11"));
        assert_eq!(newest_with_interpreters(&p), None, "3.11 has none");
        exe(&r.join(".pyenv/versions/3.13.1t/bin/python3.13t"));
        assert_eq!(
            newest_with_interpreters(&p),
            Some(r.join(".pyenv/versions/3.13.1t/bin/python3.13t"))
        );
        exe(&r.join(".pyenv/versions/3.13.0/bin/python3.13"));
        exe(&r.join("cache/bin/python3.14"));
        assert_eq!(
            newest_with_interpreters(&p),
            Some(r.join("cache/bin/python3.14")),
            "the newest GIL build before any free-threaded one"
        );
    }

    #[test]
    fn names_are_found_on_path_in_pyenv_uv_and_the_cache() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        exe(&r.join("usr/bin/python3.11"));
        exe(&r.join("usr/bin/python3.11-config"));
        exe(&r.join(".pyenv/shims/python3.13"));
        exe(&r.join(".pyenv/versions/3.13.0/bin/python3.13"));
        exe(&r.join(".pyenv/versions/3.13.1t/bin/python3.13t"));
        exe(&r.join("uv/cpython-3.14.0+freethreaded-linux-x86_64-gnu/bin/python3.14t"));
        exe(&r.join("uv/cpython-3.14.0-linux-x86_64-gnu/bin/python3"));
        exe(&r.join("cache/bin/python3.15"));
        exe(&r.join("cache/bin/python3.12t"));
        std::fs::hard_link(
            r.join("cache/bin/python3.12t"),
            r.join("cache/bin/python3.12"),
        )
        .expect("link");
        exe(&r.join(".pyenv/versions/3.9.1/bin/python3.9"));
        let p = places(r);
        let at = |name: &str| resolve(Path::new(name), &p);
        // Version order, not name order; the altinstall link is not a GIL 3.12.
        let names: Vec<String> = found(&p).into_iter().map(|f| f.name).collect();
        let pyenv: Vec<&String> = names.iter().filter(|n| n.ends_with("(pyenv)")).collect();
        assert_eq!(
            pyenv,
            ["3.9.1 (pyenv)", "3.13.0 (pyenv)", "3.13.1t (pyenv)"]
        );
        assert!(
            !names.contains(&"python3.12 (scripts/pythons)".to_string()),
            "{names:?}"
        );
        assert!(at("3.12").is_err());
        assert_eq!(
            newest_free_threaded(&p),
            Some(r.join("uv/cpython-3.14.0+freethreaded-linux-x86_64-gnu/bin/python3.14t"))
        );
        assert_eq!(at("3.11"), Ok(r.join("usr/bin/python3.11")));
        assert_eq!(
            at("3.11.7"),
            Ok(r.join("usr/bin/python3.11")),
            "PATH says no patch"
        );
        // pyenv's folder, not the shim (which runs the selected version).
        assert_eq!(
            at("3.13"),
            Ok(r.join(".pyenv/versions/3.13.0/bin/python3.13"))
        );
        assert_eq!(
            at("3.13t"),
            Ok(r.join(".pyenv/versions/3.13.1t/bin/python3.13t"))
        );
        assert_eq!(
            at("3.14t"),
            Ok(r.join("uv/cpython-3.14.0+freethreaded-linux-x86_64-gnu/bin/python3.14t"))
        );
        assert_eq!(
            at("3.14"),
            Ok(r.join("uv/cpython-3.14.0-linux-x86_64-gnu/bin/python3"))
        );
        assert_eq!(at("3.15"), Ok(r.join("cache/bin/python3.15")));
        // Not a version name: as given.
        assert_eq!(at("python3"), Ok(PathBuf::from("python3")));
        assert_eq!(at("/opt/py"), Ok(PathBuf::from("/opt/py")));
    }

    #[test]
    fn nothing_found_lists_what_is_there_and_how_to_get_it() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        exe(&r.join("usr/bin/python3.11"));
        exe(&r.join(".pyenv/versions/3.12.1/bin/python3.12"));
        let err = resolve(Path::new("3.14t"), &places(r)).expect_err("missing");
        assert!(err.contains("no Python 3.14t found"), "{err}");
        assert!(
            err.contains("python3.11 (PATH)") && err.contains("3.12.1 (pyenv)"),
            "{err}"
        );
        assert!(
            err.contains("uv python install 3.14t") && err.contains("scripts/pythons"),
            "{err}"
        );
        let err = resolve(Path::new("3.9"), &places(r)).expect_err("missing");
        assert!(err.contains("pyenv install 3.9"), "{err}");
        let err = resolve(Path::new("3.9"), &Places::default()).expect_err("nothing");
        assert!(err.contains("found: none"), "{err}");
    }
}

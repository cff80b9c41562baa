//! `--cpu-quota` and `--cpuset`: a child cgroup `conlab-<pid>` under conlab's own (v1: in
//! the `cpu` and `cpuset` hierarchies; v2: only where the `cpu`/`cpuset` controllers are
//! delegated to conlab's cgroup and it may write there). conlab moves itself in — every
//! thread, and so every worker process it forks — for the run, and moves back and removes
//! it however the run ends: [`Confined`] on drop (a normal end, an error, a first signal,
//! a panic), [`leave_all`] when a second signal exits at once. A SIGKILLed conlab leaves
//! its cgroup behind: the next conlab removes it ([`remove_stale`]). Where conlab may not
//! create one, the refusal says why and which `docker` / `systemd-run` line does the same.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::layout::{self, Version};
use super::{cpulist, read_capped};
use crate::core::LabError;

/// Every child cgroup's name starts with this.
pub const PREFIX: &str = "conlab-";
/// The enforcement period conlab writes, in µs (the kernel's default).
const PERIOD_US: u64 = 100_000;
/// The smallest quota the kernel takes, in µs.
const MIN_QUOTA_US: u64 = 1_000;

/// What to confine the run to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ask {
    /// CPUs of time per period (0.5: half a core).
    pub quota: Option<f64>,
    /// A CPU list (`0`, `0-1`).
    pub cpuset: Option<String>,
}

impl Ask {
    pub fn is_empty(&self) -> bool {
        self.quota.is_none() && self.cpuset.is_none()
    }

    /// The same limit without conlab: a container runtime's and systemd's flags around
    /// `command` (e.g. `conlab run --workload primes`).
    pub fn equivalents(&self, command: &str) -> String {
        let mut docker = String::from("docker run");
        let mut systemd = String::from("systemd-run --scope");
        if let Some(q) = self.quota {
            docker.push_str(&format!(" --cpus {}", crate::core::cpus_text(q)));
            systemd.push_str(&format!(" -p CPUQuota={}%", (q * 100.0).round() as u64));
        }
        if let Some(s) = &self.cpuset {
            docker.push_str(&format!(" --cpuset-cpus {s}"));
            systemd.push_str(&format!(" -p AllowedCPUs={s}"));
        }
        format!("  {docker} … {command}\n  {systemd} {command}")
    }
}

/// One cgroup conlab created and moved into.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    dir: PathBuf,
    parent: PathBuf,
}

/// The cgroups conlab is in now, for [`leave_all`].
static ENTERED: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn entered() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    ENTERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// conlab is in its child cgroup(s) while this lives; dropping it moves conlab back and
/// removes them.
#[derive(Debug)]
#[must_use = "dropping it leaves the cgroup at once"]
pub struct Confined {
    _private: (),
}

impl Drop for Confined {
    fn drop(&mut self) {
        leave_all();
    }
}

/// Move conlab back to where it was and remove every child cgroup it made. Safe to call
/// twice, and from the signal thread.
pub fn leave_all() {
    let entries: Vec<Entry> = std::mem::take(&mut *entered());
    for e in entries.iter().rev() {
        let _ = leave(e);
    }
}

/// Move this process and anything left in `e` to its parent, then remove it.
fn leave(e: &Entry) -> std::io::Result<()> {
    let me = std::process::id().to_string();
    let _ = std::fs::write(e.parent.join("cgroup.procs"), &me);
    empty_and_remove(&e.dir, &e.parent)
}

/// Move every process still in `dir` to `parent` and remove `dir`; a process that is
/// exiting can keep it busy for a moment, so removing is tried a few times.
fn empty_and_remove(dir: &Path, parent: &Path) -> std::io::Result<()> {
    let mut last = Ok(());
    for _ in 0..50 {
        for pid in read_capped(&dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .take(4096)
        {
            let _ = std::fs::write(parent.join("cgroup.procs"), pid.trim());
        }
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Err(e),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    last
}

/// Write `text` to `dir/file`, naming both when it fails.
fn put(dir: &Path, file: &str, text: &str) -> Result<(), String> {
    std::fs::write(dir.join(file), text)
        .map_err(|e| format!("cannot write {}: {e}", dir.join(file).display()))
}

/// Create `parent/conlab-<pid>`; a refusal says why in words.
fn make(parent: &Path) -> Result<PathBuf, String> {
    let dir = parent.join(format!("{PREFIX}{}", std::process::id()));
    match std::fs::create_dir(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(dir),
        Err(e) => Err(format!(
            "conlab may not create a cgroup under {} ({e}): it needs root, or a cgroup v2 subtree delegated to this user",
            parent.display()
        )),
    }
}

/// A v2 cgroup may hand `controller` to children only when it is in its
/// `cgroup.subtree_control` (delegated).
fn delegated(dir: &Path, controller: &str) -> Result<(), String> {
    let ctl = read_capped(&dir.join("cgroup.subtree_control")).unwrap_or_default();
    if ctl.split_ascii_whitespace().any(|c| c == controller) {
        Ok(())
    } else {
        Err(format!(
            "the `{controller}` controller is not delegated to conlab's cgroup {} (cgroup v2: not in its cgroup.subtree_control)",
            dir.display()
        ))
    }
}

/// Check an ask before touching anything: a quota above 0, a cpuset that parses and
/// names cores this machine has.
fn check(ask: &Ask, seen: usize) -> Result<(), LabError> {
    if let Some(q) = ask.quota
        && !(q.is_finite() && q >= 0.01)
    {
        return Err(LabError::Refused(format!(
            "invalid --cpu-quota {q}: a number of CPUs of at least 0.01, such as 0.5"
        )));
    }
    if let Some(s) = &ask.cpuset {
        let cpus = cpulist::parse(s).filter(|v| !v.is_empty()).ok_or_else(|| {
            LabError::Refused(format!(
                "invalid --cpuset `{s}`: a CPU list such as 0 or 0-1"
            ))
        })?;
        if let Some(c) = cpus.iter().find(|&&c| c >= seen) {
            return Err(LabError::Refused(format!(
                "invalid --cpuset `{s}`: CPU {c} is not one of this machine's {seen} (0-{})",
                seen.saturating_sub(1)
            )));
        }
    }
    Ok(())
}

/// Create the child cgroup(s) the ask needs under conlab's own, move conlab in, and
/// return the guard that leaves them. `command` is the command line, for the refusal's
/// `docker` / `systemd-run` equivalents.
pub fn enter(ask: &Ask, command: &str) -> Result<Confined, LabError> {
    check(ask, super::given_at(Path::new("/"), None).cpus_seen)?;
    let refuse = |why: String| {
        LabError::Refused(format!(
            "{why}\nto run under this limit without conlab's cgroup:\n{}",
            ask.equivalents(command)
        ))
    };
    if !entered().is_empty() {
        return Err(LabError::Refused(
            "conlab is already in a cgroup of its own".into(),
        ));
    }
    let layout = layout::read(Path::new("/"));
    let confined = Confined { _private: () };
    let mut steps: Vec<(&layout::Place, bool, bool)> = Vec::new();
    let cpu = match (ask.quota, layout.cpu.as_ref()) {
        (Some(_), None) => return Err(refuse("no cgroup `cpu` controller is mounted here".into())),
        (q, p) => p.filter(|_| q.is_some()),
    };
    let set = match (&ask.cpuset, layout.cpuset.as_ref()) {
        (Some(_), None) => {
            return Err(refuse(
                "no cgroup `cpuset` controller is mounted here".into(),
            ));
        }
        (s, p) => p.filter(|_| s.is_some()),
    };
    match (cpu, set) {
        (Some(c), Some(s)) if c.dir == s.dir => steps.push((c, true, true)),
        (c, s) => {
            if let Some(c) = c {
                steps.push((c, true, false));
            }
            if let Some(s) = s {
                steps.push((s, false, true));
            }
        }
    }
    for (place, quota, cpuset) in steps {
        if let Err(why) = enter_one(place, ask, quota, cpuset) {
            // `confined` drops here: whatever was made so far is undone.
            drop(confined);
            return Err(refuse(why));
        }
    }
    Ok(confined)
}

/// Make one child cgroup with the ask's files written, and move conlab into it.
fn enter_one(place: &layout::Place, ask: &Ask, quota: bool, cpuset: bool) -> Result<(), String> {
    let parent = place.dir.as_path();
    if place.version == Version::V2 {
        if quota {
            delegated(parent, "cpu")?;
        }
        if cpuset {
            delegated(parent, "cpuset")?;
        }
    }
    let dir = make(parent)?;
    // Registered at once, so a failure below (or a signal) removes it.
    entered().push(Entry {
        dir: dir.clone(),
        parent: parent.to_path_buf(),
    });
    if let (true, Some(q)) = (quota, ask.quota) {
        let us = ((q * PERIOD_US as f64).round() as u64).max(MIN_QUOTA_US);
        match place.version {
            Version::V1 => {
                put(&dir, "cpu.cfs_period_us", &PERIOD_US.to_string())?;
                put(&dir, "cpu.cfs_quota_us", &us.to_string())?;
            }
            Version::V2 => put(&dir, "cpu.max", &format!("{us} {PERIOD_US}"))?,
        }
    }
    if let (true, Some(s)) = (cpuset, &ask.cpuset) {
        if place.version == Version::V1 {
            // A v1 cpuset takes no task before it has memory nodes: the parent's.
            let mems = ["cpuset.effective_mems", "cpuset.mems"]
                .iter()
                .find_map(|f| read_capped(&parent.join(f)))
                .unwrap_or_default();
            put(&dir, "cpuset.mems", mems.trim())?;
        }
        put(&dir, "cpuset.cpus", s)?;
    }
    put(&dir, "cgroup.procs", &std::process::id().to_string())
}

/// Whether `pid` is a live conlab (a dead pid, or one reused by another program, left its
/// cgroup behind).
fn conlab_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    read_capped(Path::new(&format!("/proc/{pid}/comm")))
        .is_some_and(|c| c.trim().starts_with("conlab"))
}

/// The `conlab-<pid>` folders directly in `dir`.
fn children(dir: &Path) -> Vec<(PathBuf, u32)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .take(100_000)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let pid: u32 = name.strip_prefix(PREFIX)?.parse().ok()?;
            e.file_type().ok()?.is_dir().then(|| (e.path(), pid))
        })
        .collect()
}

/// Remove the child cgroups a conlab that was SIGKILLed left under conlab's own cgroup
/// (their pid is dead). Returns how many were removed.
pub fn remove_stale() -> usize {
    let layout = layout::read(Path::new("/"));
    let mut dirs: Vec<PathBuf> = [layout.cpu, layout.cpuset]
        .into_iter()
        .flatten()
        .map(|p| p.dir)
        .collect();
    dirs.dedup();
    let mut removed = 0;
    for parent in dirs {
        for (dir, pid) in children(&parent) {
            if !conlab_alive(pid) && empty_and_remove(&dir, &parent).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_are_checked_before_anything_is_made() {
        let ok = Ask {
            quota: Some(0.5),
            cpuset: Some("0".into()),
        };
        assert!(check(&ok, 2).is_ok());
        for bad in [
            Ask {
                quota: Some(0.0),
                ..Ask::default()
            },
            Ask {
                quota: Some(f64::NAN),
                ..Ask::default()
            },
            Ask {
                cpuset: Some("2".into()),
                ..Ask::default()
            },
            Ask {
                cpuset: Some("x".into()),
                ..Ask::default()
            },
            Ask {
                cpuset: Some(String::new()),
                ..Ask::default()
            },
        ] {
            assert!(
                matches!(check(&bad, 2), Err(LabError::Refused(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_refusal_shows_the_same_limit_elsewhere() {
        let ask = Ask {
            quota: Some(0.5),
            cpuset: Some("0".into()),
        };
        let e = ask.equivalents("conlab run --workload primes");
        assert!(
            e.contains("docker run --cpus 0.5 --cpuset-cpus 0 … conlab run"),
            "{e}"
        );
        assert!(
            e.contains("systemd-run --scope -p CPUQuota=50% -p AllowedCPUs=0 conlab run"),
            "{e}"
        );
    }

    #[test]
    fn stale_folders_are_named_by_pid() {
        let tmp = std::env::temp_dir().join(format!("cg-stale-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for d in ["conlab-1x", "conlab-4194999", "other", "conlab-7"] {
            std::fs::create_dir_all(tmp.join(d)).expect("mkdir");
        }
        let mut found: Vec<u32> = children(&tmp).into_iter().map(|(_, p)| p).collect();
        found.sort_unstable();
        assert_eq!(found, vec![7, 4_194_999]);
        // Empty plain folders: "removing a cgroup" is rmdir, so these go too.
        assert!(empty_and_remove(&tmp.join("conlab-7"), &tmp).is_ok());
        assert!(!tmp.join("conlab-7").exists());
        assert!(conlab_alive(std::process::id()));
        assert!(!conlab_alive(4_194_999));
        std::fs::remove_dir_all(&tmp).expect("clean up");
    }
}

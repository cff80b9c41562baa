//! Where conlab's own cgroup is: `/proc/self/cgroup` says its path in each hierarchy,
//! `/proc/self/mountinfo` where each hierarchy is mounted (and from which of its folders,
//! inside a container's cgroup namespace). Pure functions over their text, and a reader
//! that takes a root folder, so tests read fixture trees.

use std::path::{Path, PathBuf};

/// cgroup v1 (a hierarchy per controller set) or v2 (the unified hierarchy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// conlab's cgroup in the hierarchy that holds one controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub version: Version,
    /// Where the hierarchy is mounted (under the root folder read from).
    pub mount: PathBuf,
    /// conlab's own cgroup folder, at or under `mount`.
    pub dir: PathBuf,
}

impl Place {
    /// The folders from conlab's own cgroup up to the mount, nearest first.
    pub fn ancestors(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut d = self.dir.as_path();
        loop {
            out.push(d.to_path_buf());
            if d == self.mount || out.len() > 64 {
                break;
            }
            match d.parent() {
                Some(p) if p.starts_with(&self.mount) => d = p,
                _ => break,
            }
        }
        out
    }
}

/// The hierarchies that hold the `cpu` and `cpuset` controllers, where found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub cpu: Option<Place>,
    pub cpuset: Option<Place>,
}

/// One mount of a cgroup filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mount {
    version: Version,
    /// The folder of the hierarchy mounted (`/` unless a namespace hides the rest).
    root: String,
    point: String,
    controllers: Vec<String>,
}

/// The `\040`-style escapes of mountinfo paths, decoded.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cgroup mounts in a `mountinfo` text; lines that do not parse are skipped.
fn mounts(mountinfo: &str) -> Vec<Mount> {
    const V1_KNOWN: [&str; 2] = ["cpu", "cpuset"];
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(point), Some(fstype)) = (l.get(3), l.get(4), r.first()) else {
            continue;
        };
        let version = match *fstype {
            "cgroup" => Version::V1,
            "cgroup2" => Version::V2,
            _ => continue,
        };
        let controllers = match version {
            Version::V1 => r
                .get(2)
                .map(|o| {
                    o.split(',')
                        .filter(|c| V1_KNOWN.contains(c))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            Version::V2 => Vec::new(),
        };
        out.push(Mount {
            version,
            root: unescape(root),
            point: unescape(point),
            controllers,
        });
    }
    out
}

/// `/proc/self/cgroup`: (controllers, path) per line; v2's line has no controllers.
fn memberships(proc_cgroup: &str) -> Vec<(Vec<String>, String)> {
    proc_cgroup
        .lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let _id = it.next()?;
            let ctl = it.next()?;
            let path = it.next()?;
            let ctl = ctl
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            Some((ctl, path.to_string()))
        })
        .collect()
}

/// conlab's folder in a mount, given its path in the hierarchy: the path below the
/// mount's own root (`None` when the path is outside what is mounted).
fn dir_in(base: &Path, m: &Mount, path: &str) -> Option<Place> {
    let rel = if m.root == "/" {
        path.trim_start_matches('/')
    } else {
        let r = path.strip_prefix(m.root.as_str())?;
        if !(r.is_empty() || r.starts_with('/')) {
            return None;
        }
        r.trim_start_matches('/')
    };
    if rel.split('/').any(|c| c == "..") {
        return None;
    }
    let mount = base.join(m.point.trim_start_matches('/'));
    let dir = if rel.is_empty() {
        mount.clone()
    } else {
        mount.join(rel)
    };
    Some(Place {
        version: m.version,
        mount,
        dir,
    })
}

/// Where the `cpu` and `cpuset` controllers hold conlab, from the two texts; mounts are
/// taken under `base` (`/` live, a fixture folder in tests). v1 wins where it holds the
/// controller (a hybrid machine); else the unified hierarchy.
pub fn parse(base: &Path, proc_cgroup: &str, mountinfo: &str) -> Layout {
    let mounts = mounts(mountinfo);
    let members = memberships(proc_cgroup);
    let find = |controller: &str| -> Option<Place> {
        for m in mounts.iter().filter(|m| m.version == Version::V1) {
            if !m.controllers.iter().any(|c| c == controller) {
                continue;
            }
            if let Some((_, path)) = members
                .iter()
                .find(|(ctl, _)| ctl.iter().any(|c| c == controller))
            {
                return dir_in(base, m, path);
            }
        }
        let v2 = mounts.iter().find(|m| m.version == Version::V2)?;
        let (_, path) = members.iter().find(|(ctl, _)| ctl.is_empty())?;
        dir_in(base, v2, path)
    };
    Layout {
        cpu: find("cpu"),
        cpuset: find("cpuset"),
    }
}

/// Read the layout under `base`: `base/proc/self/cgroup` and `base/proc/self/mountinfo`.
pub fn read(base: &Path) -> Layout {
    let cg = super::read_capped(&base.join("proc/self/cgroup")).unwrap_or_default();
    let mi = super::read_capped(&base.join("proc/self/mountinfo")).unwrap_or_default();
    parse(base, &cg, &mi)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn v1_wins_on_a_hybrid_machine() {
        let l = parse(Path::new("/"), "3:cpuset:/\n1:cpu:/q-test\n0::/\n", HYBRID);
        let cpu = l.cpu.expect("cpu");
        assert_eq!(cpu.version, Version::V1);
        assert_eq!(cpu.dir, Path::new("/sys/fs/cgroup/cpu/q-test"));
        assert_eq!(
            cpu.ancestors(),
            vec![
                PathBuf::from("/sys/fs/cgroup/cpu/q-test"),
                PathBuf::from("/sys/fs/cgroup/cpu")
            ]
        );
        assert_eq!(
            l.cpuset.expect("cpuset").dir,
            Path::new("/sys/fs/cgroup/cpuset")
        );
    }

    #[test]
    fn a_unified_only_machine_uses_v2_for_both() {
        let mi = "30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = parse(Path::new("/fx"), "0::/user.slice/a.scope\n", mi);
        let cpu = l.cpu.expect("cpu");
        assert_eq!(cpu.version, Version::V2);
        assert_eq!(cpu.dir, Path::new("/fx/sys/fs/cgroup/user.slice/a.scope"));
        assert_eq!(cpu.ancestors().len(), 3);
        assert_eq!(l.cpuset, Some(cpu));
    }

    #[test]
    fn a_namespaced_mount_root_is_taken_off_the_path() {
        let mi = "30 24 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let l = parse(Path::new("/"), "0::/kubepods/pod1/c1\n", mi);
        assert_eq!(l.cpu.expect("cpu").dir, Path::new("/sys/fs/cgroup/c1"));
        // A path outside the mounted folder, or climbing out of it, is no place.
        assert_eq!(parse(Path::new("/"), "0::/other\n", mi).cpu, None);
        assert_eq!(
            parse(Path::new("/"), "0::/kubepods/pod1/../x\n", mi).cpu,
            None
        );
    }

    #[test]
    fn garbage_gives_nothing_and_never_panics() {
        assert_eq!(parse(Path::new("/"), "", ""), Layout::default());
        assert_eq!(
            parse(Path::new("/"), "::::\n\u{0}", "- - -\n1 2 3\n - cgroup"),
            Layout::default()
        );
        assert_eq!(unescape("/a\\040b\\"), "/a b\\");
    }
}

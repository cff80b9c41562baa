//! The readers on fixture trees (`tests/fixtures/cgroup/{v1,v2,garbage}`: a `proc/self`
//! and a `sys/fs/cgroup` each), and the live child cgroup where this machine allows one.

use std::path::PathBuf;

use super::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(name)
}

#[test]
fn v1_nested_the_tightest_ancestor_wins() {
    let base = fixture("v1");
    let layout = layout::read(&base);
    let cpu = layout.cpu.clone().expect("cpu hierarchy");
    assert_eq!(cpu.version, Version::V1);
    assert!(cpu.dir.ends_with("cpu,cpuacct/kubepods/pod1/c1"), "{cpu:?}");
    // c1 has a quota but no period (missing file: unknown), pod1 1.5, kubepods 2, root -1.
    let l = limit(&cpu).expect("a quota");
    assert_eq!(l.cpus, 1.5);
    assert!(l.dir.ends_with("kubepods/pod1"));
    let g = given_at(&base, Some(8));
    assert_eq!(g.cpus_seen, 8);
    assert_eq!(g.cpu_quota, Some(1.5));
    assert_eq!(g.cpuset.as_deref(), Some("0-3"));
    assert_eq!(g.cpuset_cpus, Some(4));
    assert_eq!(g.default_workers(), 2);
    assert_eq!(g.describe(), "8 cores seen · quota 1.5 CPU · cpuset 0-3");
    let t = throttle_at(&base).expect("cpu.stat");
    assert_eq!(t.throttled_periods, 20);
    assert_eq!(t.throttled_us, 2_000_000, "throttled_time is in ns");
}

#[test]
fn v2_reads_cpu_max_and_the_effective_cpuset() {
    let base = fixture("v2");
    let g = given_at(&base, None);
    assert_eq!(
        g.cpus_seen, 4,
        "from proc/stat's cpuN lines: no online file here"
    );
    assert_eq!(g.cpu_quota, Some(0.5), "`max` on user.slice is no quota");
    assert_eq!(g.cpuset.as_deref(), Some("0-1"));
    assert_eq!(g.default_workers(), 1);
    let t = throttle_at(&base).expect("cpu.stat");
    assert_eq!(
        (t.periods, t.throttled_periods, t.throttled_us),
        (10, 4, 120_000)
    );
}

#[test]
fn garbage_and_missing_files_mean_unknown() {
    let g = given_at(&fixture("garbage"), None);
    assert_eq!(g.cpus_seen, 4);
    assert_eq!(g.cpu_quota, None, "`banana` and `-5 0` are no quota");
    assert_eq!(g.cpuset, None);
    assert!(!g.limited());
    assert_eq!(throttle_at(&fixture("garbage")), None);
    let nowhere = given_at(&fixture("no-such-folder"), None);
    assert_eq!(nowhere.cpu_quota, None);
    assert!(nowhere.cpus_seen >= 1);
}

#[test]
fn throttling_is_counted_between_two_readings() {
    let a = Throttle {
        periods: 10,
        throttled_periods: 4,
        throttled_us: 1000,
    };
    let b = Throttle {
        periods: 30,
        throttled_periods: 9,
        throttled_us: 51_000,
    };
    assert_eq!(
        a.since(&b),
        Throttle {
            periods: 20,
            throttled_periods: 5,
            throttled_us: 50_000
        }
    );
    // A counter that went backwards (a new cgroup) is no negative time.
    assert_eq!(b.since(&a).throttled_us, 0);
}

/// Live: a child cgroup with a quota is made, conlab's threads run in it and are
/// throttled, and it is gone afterwards. Only as root with a writable cpu controller.
#[test]
fn live_a_child_cgroup_is_made_used_and_removed() {
    let layout = layout::read(std::path::Path::new("/"));
    let Some(cpu) = layout.cpu.clone() else {
        eprintln!("skipped: no cgroup cpu controller mounted");
        return;
    };
    let ask = child::Ask {
        quota: Some(0.2),
        cpuset: None,
    };
    let confined = match child::enter(&ask, "test") {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipped: not root, or no writable cgroup here ({e})");
            return;
        }
    };
    let dir = cpu.dir.join(format!("conlab-{}", std::process::id()));
    assert!(dir.is_dir(), "{dir:?}");
    assert_eq!(given().cpu_quota, Some(0.2));
    let before = throttle().expect("cpu.stat in the child");
    // 100 ms of CPU on a 20% quota needs several periods: some are throttled.
    let t = cpu_time::ThreadTime::now();
    let mut x = 0u64;
    while t.elapsed() < std::time::Duration::from_millis(100) {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
    let after = throttle().expect("cpu.stat in the child");
    drop(confined);
    assert!(!dir.exists(), "the child cgroup is removed");
    assert!(
        before.since(&after).throttled_periods > 0,
        "{before:?} {after:?}"
    );
    assert_ne!(given().cpu_quota, Some(0.2));
}

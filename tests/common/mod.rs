//! Helpers shared by the integration tests: a process tree as /proc shows it.

#![allow(dead_code)]

/// Every descendant of `pid` (children files of each of its threads, recursively).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                for c in s.split_whitespace().filter_map(|c| c.parse().ok()) {
                    if !out.contains(&c) {
                        out.push(c);
                        todo.push(c);
                    }
                }
            }
        }
    }
    out
}

/// Is `pid` running (in /proc and not a zombie: an orphan's reaper may take its time)?
pub fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let (_, rest) = s.rsplit_once(')')?;
            rest.split_whitespace()
                .next()
                .map(|st| st != "Z" && st != "X")
        })
        .unwrap_or(false)
}

/// Is `pid` still in /proc? A zombie counts as alive (nobody reaped it).
pub fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The `python3` interpreter itself (its `sys.executable`, not a shim such as pyenv's), or
/// why there is none: tests that need it print the reason and skip.
pub fn python3() -> Result<String, String> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .map_err(|e| format!("python3 not found: {e}"))?;
    let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || exe.is_empty() {
        return Err("python3 did not say where it lives".into());
    }
    Ok(exe)
}

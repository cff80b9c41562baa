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

/// Is `pid` still in /proc? A zombie counts as alive (nobody reaped it).
pub fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

//! `files`: word count over a folder (`--dir`), or over a deterministic sample corpus that
//! conlab writes to a temporary folder and removes afterwards. Reads run with the
//! simulated GIL released; counting holds it, as in CPython.

use std::fs::File;
use std::io::{Read, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{Value, json};

use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, split_ranges, thousands};
use crate::core::TaskError;
use crate::exec::{AsyncCtx, TaskCtx, TaskFuture};

pub struct Files;

/// Bytes in each generated sample file.
pub const SAMPLE_FILE_BYTES: usize = 256 * 1024;
/// Read this much per call (each read releases the GIL).
const READ_CHUNK: usize = 64 * 1024;
/// Most files taken from a `--dir`.
pub const MAX_FILES: usize = 1_000_000;

const WORDS: &[&str] = &[
    "thread",
    "process",
    "lock",
    "queue",
    "pool",
    "future",
    "task",
    "worker",
    "signal",
    "join",
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "it",
    "GIL",
    "interpreter",
    "switch",
    "interval",
    "core",
    "cache",
    "page",
    "socket",
    "request",
    "reply",
    "wait",
    "compute",
    "prime",
    "hash",
    "bytes",
    "deadlock",
    "race",
    "barrier",
    "channel",
    "pickle",
    "spawn",
    "fork",
];

/// Write `n` deterministic sample files of [`SAMPLE_FILE_BYTES`] each into `dir`.
pub fn write_corpus(dir: &Path, n: u64) -> std::io::Result<()> {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        // xorshift64*: deterministic across runs and machines.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut buf = Vec::with_capacity(SAMPLE_FILE_BYTES + 32);
    for i in 0..n {
        buf.clear();
        let mut col = 0;
        while buf.len() < SAMPLE_FILE_BYTES {
            let r = next();
            let w = WORDS[(r % WORDS.len() as u64) as usize];
            buf.extend_from_slice(w.as_bytes());
            col += w.len() + 1;
            if col > 72 || (r >> 32) % 97 == 0 {
                buf.push(b'\n');
                col = 0;
            } else {
                buf.push(b' ');
            }
        }
        let mut f = File::create(dir.join(format!("sample-{i:05}.txt")))?;
        f.write_all(&buf)?;
    }
    Ok(())
}

/// Every regular file under `dir` (not following symlinks), sorted.
fn list_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut first = true;
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if first => {
                anyhow::bail!("invalid --dir: cannot read {}: {e}", d.display())
            }
            // An unreadable subfolder is skipped; its files are simply not counted.
            Err(_) => continue,
        };
        first = false;
        for entry in entries.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                out.push(entry.path());
                if out.len() > MAX_FILES {
                    anyhow::bail!(
                        "invalid --dir: more than {MAX_FILES} files under {}",
                        dir.display()
                    );
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Counts words (runs of non-whitespace), lines and bytes across chunks.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Counts {
    pub words: u64,
    pub lines: u64,
    pub bytes: u64,
    in_word: bool,
}

impl Counts {
    pub fn feed(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        for &b in chunk {
            let space = b.is_ascii_whitespace() || b == 0x0b;
            if b == b'\n' {
                self.lines += 1;
            }
            if !space && !self.in_word {
                self.words += 1;
            }
            self.in_word = !space;
        }
    }

    /// A new file: a word never spans two files.
    pub fn end_file(&mut self) {
        self.in_word = false;
    }
}

fn count_file(path: &str, counts: &mut Counts, ctx: &mut TaskCtx) -> Result<(), TaskError> {
    let fail = |e: std::io::Error| TaskError::failed(format!("{path}: {e}"));
    let mut file = ctx.without_gil(|| File::open(path)).map_err(fail)?;
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        ctx.tick()?;
        let n = ctx.without_gil(|| file.read(&mut buf)).map_err(fail)?;
        if n == 0 {
            break;
        }
        counts.feed(&buf[..n]);
    }
    counts.end_file();
    Ok(())
}

/// [`count_file`] on the async model's loop: the open and every read awaited (tokio::fs,
/// which runs them on its blocking threads, as aiofiles does), the counting on the loop.
async fn count_file_async(
    path: &str,
    counts: &mut Counts,
    ctx: &mut AsyncCtx<'_>,
) -> Result<(), TaskError> {
    use tokio::io::AsyncReadExt;
    let fail = |e: std::io::Error| TaskError::failed(format!("{path}: {e}"));
    let mut file = ctx.open(Path::new(path)).await.map_err(fail)?;
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        if ctx.is_cancelled() {
            return Err(TaskError::Cancelled);
        }
        let n = file.read(&mut buf).await.map_err(fail)?;
        if n == 0 {
            break;
        }
        counts.feed(&buf[..n]);
    }
    counts.end_file();
    Ok(())
}

impl Workload for Files {
    fn options(&self) -> &'static [&'static str] {
        &["--dir"]
    }
    fn name(&self) -> &'static str {
        "files"
    }
    fn summary(&self) -> &'static str {
        "word count over a folder (--dir) or a generated sample corpus: reads release the GIL"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Io
    }
    fn size_meaning(&self) -> &'static str {
        "the sample corpus has N files of 256 KiB (ignored with --dir)"
    }
    fn default_size(&self) -> u64 {
        256
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=4096
    }
    fn default_tasks(&self, workers: usize) -> usize {
        (workers * 4).max(8)
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let (files, keep): (Vec<PathBuf>, Option<tempfile::TempDir>) = match &args.dir {
            Some(dir) => {
                if !dir.is_dir() {
                    anyhow::bail!("invalid --dir: {} is not a readable folder", dir.display());
                }
                let files = list_files(dir)?;
                if files.is_empty() {
                    anyhow::bail!("invalid --dir: no files under {}", dir.display());
                }
                (files, None)
            }
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("conlab-files-")
                    .tempdir()
                    .context("could not create a temporary folder for the sample corpus")?;
                write_corpus(tmp.path(), args.size).context("could not write the sample corpus")?;
                (list_files(tmp.path())?, Some(tmp))
            }
        };
        let mut paths = Vec::with_capacity(files.len());
        for f in &files {
            paths.push(
                f.to_str()
                    .ok_or_else(|| anyhow::anyhow!("invalid --dir: {} is not UTF-8", f.display()))?
                    .to_string(),
            );
        }
        let tasks = split_ranges(paths.len() as u64, args.tasks)
            .into_iter()
            .map(|(a, b)| json!({ "files": paths[a as usize..b as usize] }))
            .collect();
        let mut plan = Plan::new(tasks);
        if let Some(t) = keep {
            plan.keep_alive.push(Box::new(t));
        }
        Ok(plan)
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let files = task_files(task)?;
        let mut counts = Counts::default();
        let total = files.len() as u64;
        for (i, path) in files.into_iter().enumerate() {
            ctx.progress(i as u64, total);
            count_file(path, &mut counts, ctx)?;
        }
        ctx.progress(total, total);
        Ok(TaskOutput {
            value: counts.words.into(),
            extra: json!({ "files": total, "lines": counts.lines, "bytes": counts.bytes }),
        })
    }
    fn run_task_async<'a>(&'a self, task: Value, mut ctx: AsyncCtx<'a>) -> Option<TaskFuture<'a>> {
        Some(Box::pin(async move {
            let files = task_files(&task)?;
            let mut counts = Counts::default();
            let total = files.len() as u64;
            for (i, path) in files.into_iter().enumerate() {
                ctx.progress(i as u64, total);
                count_file_async(path, &mut counts, &mut ctx).await?;
            }
            ctx.progress(total, total);
            Ok(TaskOutput {
                value: counts.words.into(),
                extra: json!({ "files": total, "lines": counts.lines, "bytes": counts.bytes }),
            })
        }))
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let sum = |k: &str| -> u128 {
            outputs
                .iter()
                .map(|o| o.extra.get(k).and_then(Value::as_u64).unwrap_or(0) as u128)
                .sum()
        };
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!(
                "words in {} files ({} bytes, {} lines)",
                thousands(sum("files")),
                thousands(sum("bytes")),
                thousands(sum("lines"))
            ),
        }
    }
}

/// A task's file paths (the same checks for the thread and the loop bodies).
fn task_files(task: &Value) -> Result<Vec<&str>, TaskError> {
    task.get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| TaskError::failed("malformed task: no array field `files`"))?
        .iter()
        .map(|f| {
            f.as_str()
                .ok_or_else(|| TaskError::failed("malformed task: a file is not a string"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{CancelToken, Gil, GilConfig, Sink};

    #[test]
    fn counts_like_wc_across_chunks() {
        let text = b"one two  three\nfour\tfive\n\nsix";
        let mut whole = Counts::default();
        whole.feed(text);
        assert_eq!((whole.words, whole.lines, whole.bytes), (6, 3, 29));
        let mut split = Counts::default();
        split.feed(&text[..5]);
        split.feed(&text[5..]);
        assert_eq!(split, whole);
    }

    #[test]
    fn corpus_is_deterministic() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        write_corpus(a.path(), 2).expect("writes");
        write_corpus(b.path(), 2).expect("writes");
        for name in ["sample-00000.txt", "sample-00001.txt"] {
            let x = std::fs::read(a.path().join(name)).expect("reads");
            assert_eq!(x, std::fs::read(b.path().join(name)).expect("reads"));
            assert!(x.len() >= SAMPLE_FILE_BYTES);
        }
    }

    #[test]
    fn plan_splits_files_and_removes_the_corpus_afterwards() {
        let args = WorkloadArgs {
            size: 5,
            tasks: 2,
            workers: 1,
            ..Default::default()
        };
        let plan = Files.plan(&args).expect("plans");
        assert_eq!(plan.tasks.len(), 2);
        let first = plan.tasks.get(0)["files"][0]
            .as_str()
            .expect("a path")
            .to_string();
        assert!(Path::new(&first).exists());
        let gil = Gil::new(GilConfig::default());
        let cancel = CancelToken::new();
        let sink = Sink::null();
        let mut ctx = TaskCtx::new(0, 0, &gil, &cancel, &sink);
        let out = Files
            .run_task(&plan.tasks.get(0), &mut ctx)
            .expect("counts");
        assert!(out.value > 0);
        drop(plan);
        assert!(!Path::new(&first).exists(), "corpus removed");
    }

    #[test]
    fn unreadable_dir_is_rejected_up_front() {
        let args = WorkloadArgs {
            tasks: 1,
            workers: 1,
            size: 1,
            dir: Some(PathBuf::from("/nonexistent/conlab")),
            ..Default::default()
        };
        let err = Files.plan(&args).err().expect("rejected");
        assert!(err.to_string().contains("--dir"), "{err}");
        let empty = tempfile::tempdir().expect("tempdir");
        let args = WorkloadArgs {
            dir: Some(empty.path().to_path_buf()),
            ..args
        };
        let err = Files.plan(&args).err().expect("rejected");
        assert!(err.to_string().contains("no files"), "{err}");
    }

    #[test]
    fn a_vanished_file_fails_its_task() {
        let gil = Gil::new(GilConfig::default());
        let cancel = CancelToken::new();
        let sink = Sink::null();
        let mut ctx = TaskCtx::new(0, 0, &gil, &cancel, &sink);
        let err = Files
            .run_task(&json!({ "files": ["/nonexistent/x.txt"] }), &mut ctx)
            .expect_err("fails");
        assert!(err.to_string().contains("/nonexistent/x.txt"), "{err}");
    }
}

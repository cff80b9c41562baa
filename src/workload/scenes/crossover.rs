//! `crossover`: items of `--bytes` bytes, `--tasks` of them, each read (adler32 over its
//! bytes) and worked on (`--size` rounds of an interpreted loop). One run is one cell of
//! the crossover grid under one model: threads read the items where they are, processes
//! get a serialised copy of each through a pipe, interpreters a serialised copy in the
//! same process. `conlab run --workload crossover` runs the grid — every cell under
//! threads, processes and interpreters, judged by `experiment::crossover` — to find where
//! each pool wins; `compare` and the dashboard run one cell.

use std::ops::RangeInclusive;

use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use crate::core::{CROSSING_NOTE, CodeKind, Event, Model, TaskError};
use crate::exec::{Engine, Job, TaskCtx, TaskResult, Tasks};

pub struct Crossover;

/// The item sizes of the grid's rows, in bytes (`--bytes` picks one row).
pub const GRID_BYTES: [u64; 3] = [100, 100_000, 2_000_000];
/// The item counts of the grid's columns (`--tasks` picks one column).
pub const GRID_ITEMS: [usize; 2] = [8, 128];
/// The models every cell runs, in the order they run.
pub const GRID_MODELS: [Model; 3] = [Model::Threads, Model::Processes, Model::Interpreters];
/// One item's bytes when `--bytes` is not given (a single run: one cell).
pub const DEFAULT_BYTES: u64 = 100_000;
/// The most bytes one item may carry.
pub const MAX_ITEM_BYTES: u64 = 10_000_000;
/// The most bytes of items one cell may move: a copy of each crosses once each way.
pub const MAX_CELL_BYTES: u64 = 256_000_000;
/// CPython's zlib.adler32 releases the GIL above this many bytes (zlibmodule.c).
pub const ADLER_RELEASES_ABOVE: usize = 5 * 1024;

/// The cells of the grid, row by row: `--bytes` and `--tasks` narrow it to one row or
/// one column (or one cell); a cell whose items would move more than [`MAX_CELL_BYTES`]
/// is refused, naming the flags.
pub fn grid(bytes: Option<u64>, items: Option<usize>) -> Result<Vec<(u64, usize)>, String> {
    let rows: Vec<u64> = bytes.map_or(GRID_BYTES.to_vec(), |b| vec![b]);
    let cols: Vec<usize> = items.map_or(GRID_ITEMS.to_vec(), |n| vec![n]);
    let mut cells = Vec::with_capacity(rows.len() * cols.len());
    for &b in &rows {
        if !(1..=MAX_ITEM_BYTES).contains(&b) {
            return Err(format!(
                "invalid --bytes: {b} is out of range for crossover (bytes per item); \
                 allowed 1..={MAX_ITEM_BYTES}"
            ));
        }
        for &n in &cols {
            let total = b.saturating_mul(n as u64);
            if total > MAX_CELL_BYTES {
                return Err(format!(
                    "invalid --bytes × --tasks: {b} × {n} = {total} bytes of items; \
                     allowed up to {MAX_CELL_BYTES} per cell"
                ));
            }
            cells.push((b, n));
        }
    }
    Ok(cells)
}

/// Byte `j` of item `item`: the payload scene's pattern (printable ASCII, so the item
/// travels in JSON unescaped), which repeats every 26 bytes.
fn cycle(item: u64) -> [u8; 26] {
    let mut c = [0u8; 26];
    for (j, b) in c.iter_mut().enumerate() {
        *b = super::payload::byte_at(item, j as u64);
    }
    c
}

/// Item `item`'s `len` bytes (made at memory speed: the pattern repeated).
pub fn item_bytes(item: u64, len: usize) -> Vec<u8> {
    let c = cycle(item);
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let k = (len - v.len()).min(c.len());
        v.extend_from_slice(&c[..k]);
    }
    v
}

/// Adler-32 (RFC 1950), as `zlib.adler32(data)` computes it.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 is the most bytes before `b` can overflow 32 bits.
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// `rounds` steps of a 32-bit LCG from `seed`, as the driver's interpreted loop runs them
/// (`x = (x * 1103515245 + 12345) & 0xFFFFFFFF`), ticking every 256 steps.
pub fn lcg(seed: u64, rounds: u64, ctx: &mut TaskCtx) -> Result<u64, TaskError> {
    let mut x = seed & 0xFFFF_FFFF;
    let mut done = 0;
    while done < rounds {
        let k = (rounds - done).min(256);
        for _ in 0..k {
            x = (x.wrapping_mul(1_103_515_245).wrapping_add(12_345)) & 0xFFFF_FFFF;
        }
        done += k;
        ctx.tick()?;
    }
    Ok(x)
}

/// What a task's bytes are read as: native code that releases the GIL above 5 KiB, as
/// CPython's zlib does, and holds it (never checking) below.
fn reading(len: usize) -> CodeKind {
    if len > ADLER_RELEASES_ABOVE {
        CodeKind::Releasing
    } else {
        CodeKind::Holding
    }
}

/// Task `t` of the plan with its item's bytes in it, as the program hands it to a pool.
fn with_data(t: &Value) -> Value {
    let mut t = t.clone();
    let item = t.get("item").and_then(Value::as_u64).unwrap_or(0);
    let len = t
        .get("bytes")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(MAX_ITEM_BYTES) as usize;
    let s = String::from_utf8(item_bytes(item, len)).unwrap_or_default();
    if let Some(o) = t.as_object_mut() {
        o.insert("data".into(), Value::String(s));
    }
    t
}

fn items_bytes(args: &WorkloadArgs) -> u64 {
    args.bytes.unwrap_or(DEFAULT_BYTES)
}

impl Workload for Crossover {
    fn models(&self) -> &'static [Model] {
        &[
            Model::Sequential,
            Model::Threads,
            Model::Processes,
            Model::Interpreters,
        ]
    }
    fn name(&self) -> &'static str {
        "crossover"
    }
    fn summary(&self) -> &'static str {
        "items of B bytes read and worked on: where processes, interpreters and threads each win, by item size and count"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "rounds of interpreted work per item (--bytes: bytes per item, --tasks: items)"
    }
    fn default_size(&self) -> u64 {
        15_000_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=1_000_000_000
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        GRID_ITEMS[1]
    }
    fn max_tasks(&self) -> usize {
        1_000
    }
    fn options(&self) -> &'static [&'static str] {
        &["--bytes"]
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let bytes = items_bytes(args);
        grid(Some(bytes), Some(args.tasks)).map_err(anyhow::Error::msg)?;
        let rounds = args.size;
        // The plan carries no bytes (the CPython driver makes its own items); the pools
        // get them from `orchestrate`.
        Ok(Plan::made(
            args.tasks,
            move |i| json!({ "item": i, "bytes": bytes, "rounds": rounds }),
        ))
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let item = task_u64(task, "item")?;
        let rounds = task_u64(task, "rounds")?;
        let made;
        let data: &[u8] = match task.get("data").and_then(Value::as_str) {
            Some(s) => s.as_bytes(),
            None => {
                let len = task_u64(task, "bytes")?;
                if len > MAX_ITEM_BYTES {
                    return Err(TaskError::failed(format!(
                        "malformed task: {len} bytes is over the item cap of {MAX_ITEM_BYTES}"
                    )));
                }
                made = item_bytes(item, len as usize);
                &made
            }
        };
        let sum = ctx.run_as(reading(data.len()), |_| adler32(data));
        let x = lcg(item, rounds, ctx)?;
        ctx.progress(1, 1);
        Ok(TaskOutput::value(u128::from(sum) + u128::from(x)))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        // Every model is handed the same items: made on demand (memory stays flat), read
        // in place by threads, serialised to worker processes and interpreters.
        let plan = job.tasks.clone();
        let tasks = Tasks::made(plan.len(), move |i| with_data(&plan.get(i)));
        let sub = Job {
            tasks: &tasks,
            ..*job
        };
        let e = Engine::new(&sub);
        let results = std::sync::Mutex::new(vec![None; tasks.len()]);
        let put = |i: usize, r: TaskResult| {
            results.lock().unwrap_or_else(|e| e.into_inner())[i] = r;
        };
        match model {
            Model::Processes => {
                let c = e.processes().run_into(&put).crossing();
                job.sink.emit(Event::Note {
                    key: CROSSING_NOTE.into(),
                    value: serde_json::to_string(&c).unwrap_or_default(),
                });
            }
            // Its pool says what crossing cost.
            Model::Interpreters => {
                e.interpreters().run_into(&put);
            }
            _ => e.run_model_into(model, &put),
        }
        Some(results.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
    fn combine(&self, outputs: &[TaskOutput], args: &WorkloadArgs) -> Answer {
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!(
                "Σ adler32 + {} LCG rounds over {} items of {} bytes",
                args.size,
                outputs.len(),
                items_bytes(args)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_scene;
    use super::*;

    #[test]
    fn adler32_matches_zlib() {
        // zlib.adler32(b"Wikipedia") == 0x11E60398; of nothing, 1.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
        // Past the 5552-byte block, as zlib.adler32(b"a" * 100000) gives.
        assert_eq!(adler32(&[b'a'; 100_000]), 0x7966_0b4d);
    }

    #[test]
    fn items_are_the_payload_pattern() {
        for (item, len) in [(0u64, 0usize), (3, 25), (7, 1000)] {
            assert_eq!(
                item_bytes(item, len),
                super::super::payload::payload(item, len as u64)
            );
        }
    }

    #[test]
    fn the_grid_narrows_and_caps() {
        assert_eq!(grid(None, None).expect("grid").len(), 6);
        assert_eq!(
            grid(Some(1000), None).expect("a row"),
            vec![(1000, 8), (1000, 128)]
        );
        assert_eq!(
            grid(None, Some(4)).expect("a column"),
            vec![(100, 4), (100_000, 4), (2_000_000, 4)]
        );
        let e = grid(Some(10_000_000), Some(1000)).expect_err("over the cell cap");
        assert!(e.contains("--bytes × --tasks"), "{e}");
        assert!(grid(Some(0), None).is_err());
        assert!(grid(Some(MAX_ITEM_BYTES + 1), Some(1)).is_err());
        // The default grid fits the cap in every cell.
        for (b, n) in grid(None, None).expect("grid") {
            assert!(b * n as u64 <= MAX_CELL_BYTES);
        }
    }

    /// Same items, same answer in every model; interpreters really copy. (Processes need
    /// conlab's binary to start workers: tests/engine.rs runs them.)
    #[test]
    fn every_in_process_model_gives_the_same_answer() {
        let args = WorkloadArgs {
            workers: 2,
            size: 1000,
            tasks: 6,
            bytes: Some(6000),
            ..Default::default()
        };
        let mut answers = Vec::new();
        for model in [Model::Sequential, Model::Threads, Model::Interpreters] {
            let (r, events) = run_scene("crossover", model, true, args.clone());
            assert!(r.failures.is_empty(), "{model}: {:?}", r.failures);
            answers.push(r.answer.expect("an answer").value);
            let crossing = events.iter().find_map(|s| match &s.event {
                Event::Note { key, value } if key == CROSSING_NOTE => Some(value.clone()),
                _ => None,
            });
            if model == Model::Interpreters {
                let c: crate::core::Crossing =
                    serde_json::from_str(&crossing.expect("a crossing note")).expect("JSON");
                assert!(c.bytes.unwrap_or(0) >= 6 * 6000, "{model}: {c:?}");
            }
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
        // By hand: Σ adler32(item) + lcg(item).
        let mut want = 0u128;
        for i in 0..6u64 {
            let mut x = i;
            for _ in 0..1000 {
                x = (x * 1_103_515_245 + 12_345) & 0xFFFF_FFFF;
            }
            want += u128::from(adler32(&item_bytes(i, 6000))) + u128::from(x);
        }
        assert_eq!(answers[0], want.to_string());
    }
}

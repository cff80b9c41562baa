//! The student as the scheduler: two threads each run `counter += 1` as CPython 3.12's
//! bytecode (`LOAD_GLOBAL counter`, `LOAD_CONST 1`, `BINARY_OP +=`, `STORE_GLOBAL
//! counter`), and a schedule decides who runs next, one instruction at a time. Pure: the
//! same schedule gives the same steps, so a lost update can be replayed and explained.

use serde::Serialize;

use crate::core::LabError;

/// The interpreter whose instruction names are shown.
pub const INTERPRETER: &str = "CPython 3.12";

/// `counter += 1` in a function with `global counter`, as `dis` shows it.
pub const PROGRAM: [(&str, &str); 4] = [
    ("LOAD_GLOBAL", "counter"),
    ("LOAD_CONST", "1"),
    ("BINARY_OP", "13 (+=)"),
    ("STORE_GLOBAL", "counter"),
];

/// The threads, by letter.
pub const THREADS: [char; 2] = ['A', 'B'];

/// One instruction run by one thread, and what it left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub thread: char,
    pub op: &'static str,
    pub arg: &'static str,
    /// The thread's value stack after the instruction.
    pub stack: Vec<i64>,
    /// The global `counter` after the instruction.
    pub counter: i64,
    /// Whether the schedule chose this step (`false`: run to finish after it ran out).
    pub scheduled: bool,
}

/// A whole stepped run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stepped {
    pub interpreter: &'static str,
    pub schedule: String,
    pub counter: i64,
    pub expected: i64,
    pub lost_updates: i64,
    pub steps: Vec<Step>,
}

/// Read `A,B,A` (commas or spaces optional, either case) into thread indexes.
pub fn parse_schedule(s: &str) -> Result<Vec<usize>, LabError> {
    s.chars()
        .filter(|c| !matches!(c, ',' | ' '))
        .map(|c| {
            THREADS
                .iter()
                .position(|t| t.eq_ignore_ascii_case(&c))
                .ok_or_else(|| LabError::refused(format!("`{c}` is not a thread: use A and B")))
        })
        .collect()
}

/// Two threads, each a program counter and a value stack, sharing `counter` (from 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Machine {
    pc: [usize; 2],
    stacks: [Vec<i64>; 2],
    pub counter: i64,
    pub steps: Vec<Step>,
}

impl Machine {
    /// Whether thread `t` has run all its instructions.
    pub fn done(&self, t: usize) -> bool {
        self.pc[t] >= PROGRAM.len()
    }

    /// Run thread `t`'s next instruction.
    pub fn step(&mut self, t: usize, scheduled: bool) -> Result<(), LabError> {
        if self.done(t) {
            return Err(LabError::refused(format!(
                "thread {} has already finished its {} instructions",
                THREADS[t],
                PROGRAM.len()
            )));
        }
        let (op, arg) = PROGRAM[self.pc[t]];
        let stack = &mut self.stacks[t];
        match self.pc[t] {
            0 => stack.push(self.counter),
            1 => stack.push(1),
            2 => {
                let b = stack.pop().unwrap_or(0);
                let a = stack.pop().unwrap_or(0);
                stack.push(a + b);
            }
            _ => self.counter = stack.pop().unwrap_or(0),
        }
        self.pc[t] += 1;
        self.steps.push(Step {
            thread: THREADS[t],
            op,
            arg,
            stack: self.stacks[t].clone(),
            counter: self.counter,
            scheduled,
        });
        Ok(())
    }

    /// The index into [`PROGRAM`] of thread `t`'s next instruction (`PROGRAM.len()` when done).
    pub fn pc(&self, t: usize) -> usize {
        self.pc[t]
    }

    /// Thread `t`'s value stack now.
    pub fn stack(&self, t: usize) -> &[i64] {
        &self.stacks[t]
    }

    /// The schedule so far, as `conlab step race --schedule` takes it ("A,B,A").
    pub fn schedule(&self) -> String {
        self.steps
            .iter()
            .map(|s| s.thread.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The lost update, once it happened: the step (index into `steps`) whose
    /// `STORE_GLOBAL` wrote over a value the other thread had stored after this one
    /// loaded — its own stale read plus one.
    pub fn lost_update(&self) -> Option<LostUpdate> {
        let mut loaded: [Option<i64>; 2] = [None, None];
        let mut before = 0;
        for (i, s) in self.steps.iter().enumerate() {
            let t = usize::from(s.thread == 'B');
            match s.op {
                "LOAD_GLOBAL" => loaded[t] = s.stack.last().copied(),
                "STORE_GLOBAL" => {
                    if let Some(read) = loaded[t]
                        && before != read
                    {
                        return Some(LostUpdate {
                            step: i,
                            thread: s.thread,
                            read,
                            overwrote: before,
                            stored: s.counter,
                        });
                    }
                }
                _ => {}
            }
            before = s.counter;
        }
        None
    }

    /// Undo the last step (replaying the rest from the start: the machine is pure).
    pub fn undo(&mut self) {
        let kept: Vec<(usize, bool)> = self.steps[..self.steps.len().saturating_sub(1)]
            .iter()
            .map(|s| (usize::from(s.thread == 'B'), s.scheduled))
            .collect();
        *self = Machine::default();
        for (t, scheduled) in kept {
            let _ = self.step(t, scheduled);
        }
    }
}

/// A store that overwrote the other thread's update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LostUpdate {
    /// Index into the machine's steps.
    pub step: usize,
    /// The thread that stored.
    pub thread: char,
    /// What it had loaded.
    pub read: i64,
    /// The counter it overwrote (the other thread's update).
    pub overwrote: i64,
    /// What it stored (`read + 1`).
    pub stored: i64,
}

/// Run `schedule`, then A to its end, then B.
pub fn run(schedule: &[usize]) -> Result<Stepped, LabError> {
    let mut m = Machine::default();
    for &t in schedule {
        m.step(t, true)?;
    }
    for t in 0..THREADS.len() {
        while !m.done(t) {
            m.step(t, false)?;
        }
    }
    let expected = THREADS.len() as i64;
    Ok(Stepped {
        interpreter: INTERPRETER,
        schedule: schedule
            .iter()
            .map(|&t| THREADS[t].to_string())
            .collect::<Vec<_>>()
            .join(","),
        counter: m.counter,
        expected,
        lost_updates: expected - m.counter,
        steps: m.steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_load_before_either_stores_loses_an_update() {
        let s = run(&parse_schedule("A,B").expect("A and B")).expect("runs");
        assert_eq!((s.counter, s.expected, s.lost_updates), (1, 2, 1));
        assert_eq!(s.steps.len(), 8);
        assert_eq!(s.steps[0].op, "LOAD_GLOBAL");
        assert_eq!(s.steps[1].thread, 'B');
        assert_eq!(s.steps[1].stack, vec![0], "B read 0 too");
    }

    #[test]
    fn one_thread_after_the_other_loses_nothing() {
        for sched in ["", "A,A,A,A,B", "B,B,B,B", "A,A,A,A,B,B,B,B"] {
            let s = run(&parse_schedule(sched).expect("valid")).expect("runs");
            assert_eq!((s.counter, s.lost_updates), (2, 0), "{sched}");
        }
    }

    #[test]
    fn the_same_schedule_gives_the_same_steps() {
        let a = run(&parse_schedule("A,B,A,b").expect("valid")).expect("runs");
        let b = run(&parse_schedule("ABAB").expect("valid")).expect("runs");
        assert_eq!(a, b);
        assert_eq!(a.schedule, "A,B,A,B");
    }

    #[test]
    fn a_finished_thread_or_an_unknown_letter_is_refused() {
        assert!(parse_schedule("A,C").is_err());
        let e = run(&[0; 5]).expect_err("A has four instructions");
        assert!(e.to_string().contains("already finished"), "{e}");
    }

    #[test]
    fn the_lost_update_is_found_at_the_store_that_overwrites() {
        let mut m = Machine::default();
        for t in [0, 1, 0, 0, 0] {
            m.step(t, true).expect("valid");
        }
        assert_eq!(m.lost_update(), None, "A stored 1 over the 0 it read");
        for _ in 0..3 {
            m.step(1, true).expect("B runs on");
        }
        let lost = m.lost_update().expect("B stored 1 over A's 1");
        assert_eq!((lost.step, lost.thread), (7, 'B'));
        assert_eq!((lost.read, lost.overwrote, lost.stored), (0, 1, 1));
        assert_eq!(m.schedule(), "A,B,A,A,A,B,B,B");
        let mut m = Machine::default();
        for t in [0, 0, 0, 0, 1, 1, 1, 1] {
            m.step(t, true).expect("valid");
        }
        assert_eq!(m.lost_update(), None);
        assert_eq!(m.counter, 2);
        assert_eq!((m.pc(0), m.pc(1)), (4, 4));
    }

    #[test]
    fn undo_takes_back_the_last_step() {
        let mut m = Machine::default();
        m.step(0, true).expect("A loads");
        m.step(1, true).expect("B loads");
        let before = m.clone();
        m.step(0, true).expect("A pushes 1");
        m.undo();
        assert_eq!(m, before);
    }
}

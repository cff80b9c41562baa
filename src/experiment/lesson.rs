//! Lessons: TOML files that step through the articles' decision guide. Each step sets a
//! scene (workload, models, options), explains it, asks the audience a question whose
//! kind of answer it names (the fastest model, yes or no, a time, a number, a choice), runs
//! on a key and reveals the measured answer before the lesson's own words.
//!
//! The shipped lessons are embedded in the binary (an installed `conlab` finds them
//! anywhere); a user's own file loads by path. A malformed file is rejected with its line
//! and column and what was expected.

use std::io::Read;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::exec::Model;
use crate::workload;

/// The lessons shipped in `assets/lessons/`, embedded: (name, TOML text).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "01-waiting",
        include_str!("../../assets/lessons/01-waiting.toml"),
    ),
    (
        "02-computing-with-the-gil",
        include_str!("../../assets/lessons/02-computing-with-the-gil.toml"),
    ),
    (
        "03-free-threaded",
        include_str!("../../assets/lessons/03-free-threaded.toml"),
    ),
    (
        "04-mixed-pipeline",
        include_str!("../../assets/lessons/04-mixed-pipeline.toml"),
    ),
    (
        "05-startup-overhead",
        include_str!("../../assets/lessons/05-startup-overhead.toml"),
    ),
    (
        "06-races-and-locks",
        include_str!("../../assets/lessons/06-races-and-locks.toml"),
    ),
    (
        "07-deadlock",
        include_str!("../../assets/lessons/07-deadlock.toml"),
    ),
    (
        "08-back-pressure",
        include_str!("../../assets/lessons/08-back-pressure.toml"),
    ),
    (
        "09-convoy",
        include_str!("../../assets/lessons/09-convoy.toml"),
    ),
    (
        "10-fan-out",
        include_str!("../../assets/lessons/10-fan-out.toml"),
    ),
    (
        "11-blocking-the-loop",
        include_str!("../../assets/lessons/11-blocking-the-loop.toml"),
    ),
    (
        "12-the-kernel-sees-the-gil",
        include_str!("../../assets/lessons/12-the-kernel-sees-the-gil.toml"),
    ),
    (
        "13-native-code",
        include_str!("../../assets/lessons/13-native-code.toml"),
    ),
    (
        "14-in-a-container",
        include_str!("../../assets/lessons/14-in-a-container.toml"),
    ),
    (
        "15-free-threaded-python",
        include_str!("../../assets/lessons/15-free-threaded-python.toml"),
    ),
    (
        "16-subinterpreters",
        include_str!("../../assets/lessons/16-subinterpreters.toml"),
    ),
];

/// A whole lesson.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    /// One paragraph: what the audience will learn.
    pub summary: String,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// The kind of answer a step's question wants; it decides the keys that record a guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerKind {
    /// Which of the step's models finishes first (keys 1.. over the step's models).
    Fastest,
    /// Which of the step's models finishes last.
    Slowest,
    /// Yes or no (keys 1 yes, 2 no); judged when the step has `yes_if`.
    YesNo,
    /// How long `of` takes: one of `values` seconds; judged by the closest value.
    Time,
    /// The measured answer: one of `values` (in `unit`); judged by the closest value.
    Number,
    /// One of `choices`, discussed by the room; not judged by a measurement.
    Choice,
    /// A question for discussion: no guess keys, ⏎ runs.
    Open,
}

/// One step: a scene, its explanation, an optional question.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    /// Shown before and after the run.
    pub text: String,
    pub workload: Spanned<String>,
    /// Models to run, in order (default: sequential, threads, processes).
    #[serde(default = "all_models")]
    pub models: Vec<Model>,
    pub workers: Option<usize>,
    pub size: Option<u64>,
    pub tasks: Option<usize>,
    #[serde(default = "yes")]
    pub gil: bool,
    pub switch_interval_ms: Option<Spanned<f64>>,
    /// A scene's variant, e.g. `fixed` for deadlock.
    pub variant: Option<String>,
    /// `cpython`: run the step on the real interpreter (when `python3` is there; the
    /// simulation otherwise, said on screen). Default: the simulation.
    pub runtime: Option<crate::core::Runtime>,
    /// Show the kernel's view (`k`) while the step runs: what the scheduler saw each
    /// thread do, in place of the engine's timeline.
    #[serde(default)]
    pub kernel: bool,
    /// How primes' numbers are cut into tasks (`ranges`, `work`, `steal`; `--split`).
    #[serde(default)]
    pub split: Option<crate::exec::Split>,
    /// A question for the audience before the run, e.g. "Which model wins?".
    pub predict: Option<String>,
    /// The kind of answer `predict` wants (default: `fastest` with two or more models and
    /// a question, else `open`).
    pub answer: Option<Spanned<AnswerKind>>,
    /// `time` and `number`: the values offered (seconds for `time`).
    #[serde(default)]
    pub values: Vec<f64>,
    /// `number`: the unit of `values` and of the measured answer, e.g. "ms".
    pub unit: Option<String>,
    /// `choice`: the answers offered.
    #[serde(default)]
    pub choices: Vec<String>,
    /// `time`: the model whose elapsed time is asked (default: threads if the step runs
    /// it, else its last model).
    pub of: Option<Model>,
    /// `yes-no`: the measurement that means yes: `answer == 0`, `answer != deadlock`,
    /// `answer < 2.5`, or `threads faster than sequential` (by 10% or more).
    pub yes_if: Option<Spanned<String>>,
    /// What the written reveal says the measurement will show (a model for
    /// fastest/slowest, yes/no, a value for time/number). When the measurement disagrees
    /// the panel says so.
    pub expect: Option<Spanned<toml::Value>>,
    /// Shown after the run, after the measured answer.
    pub reveal: Option<String>,
}

/// A step without `models` runs the three models without an event loop (the lessons
/// written before async; a step about the loop names it).
fn all_models() -> Vec<Model> {
    Model::POOLS.to_vec()
}

fn yes() -> bool {
    true
}

/// Largest lesson file read (the shipped ones are a few KiB).
pub const MAX_LESSON_BYTES: u64 = 1024 * 1024;

/// A `yes_if` condition, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum YesIf {
    /// The answer's value compared with a number or a word.
    Answer { op: Op, value: String },
    /// `a` finished at least 10% faster than `b`.
    Faster { a: Model, b: Model },
    /// `model`'s busiest worker ran at least [`UNEVEN`]× the mean busy time (measured
    /// per worker from its tasks' spans).
    Uneven { model: Model },
}

/// `yes_if = "MODEL uneven"`: the busiest worker ÷ the mean at which work counts as
/// unevenly shared.
pub const UNEVEN: f64 = 1.15;

/// A comparison in `yes_if`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl YesIf {
    pub fn parse(s: &str) -> Result<YesIf, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["answer", op, value] => {
                let op = match *op {
                    "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    other => {
                        return Err(format!(
                            "unknown comparison `{other}` (==, !=, <, <=, >, >=)"
                        ));
                    }
                };
                if !matches!(op, Op::Eq | Op::Ne) && value.parse::<f64>().is_err() {
                    return Err(format!("`{value}` is not a number"));
                }
                Ok(YesIf::Answer {
                    op,
                    value: (*value).to_string(),
                })
            }
            [a, "faster", "than", b] => {
                let m = |x: &str| {
                    Model::ALL
                        .into_iter()
                        .find(|m| m.name() == x)
                        .ok_or_else(|| format!("unknown model `{x}`"))
                };
                Ok(YesIf::Faster { a: m(a)?, b: m(b)? })
            }
            [model, "uneven"] => Model::ALL
                .into_iter()
                .find(|m| m.name() == *model)
                .map(|model| YesIf::Uneven { model })
                .ok_or_else(|| format!("unknown model `{model}`")),
            _ => Err(format!(
                "cannot read yes_if `{s}`: write `answer == 0`, `answer != deadlock`, \
                 `answer < 2.5`, `threads faster than sequential` or `processes uneven`"
            )),
        }
    }
}

impl Step {
    /// The kind of answer the question wants.
    pub fn answer_kind(&self) -> AnswerKind {
        match &self.answer {
            Some(k) => *k.get_ref(),
            None if self.predict.is_some() && self.models.len() >= 2 => AnswerKind::Fastest,
            None => AnswerKind::Open,
        }
    }

    /// The answers a guess picks from, in key order (key 1 is the first).
    pub fn options(&self) -> Vec<String> {
        match self.answer_kind() {
            AnswerKind::Fastest | AnswerKind::Slowest => {
                self.models.iter().map(|m| m.to_string()).collect()
            }
            AnswerKind::YesNo => vec!["yes".into(), "no".into()],
            AnswerKind::Time => self.values.iter().map(|v| format!("≈{v} s")).collect(),
            AnswerKind::Number => self
                .values
                .iter()
                .map(|v| match &self.unit {
                    Some(u) => format!("≈{v} {u}"),
                    None => format!("≈{v}"),
                })
                .collect(),
            AnswerKind::Choice => self.choices.clone(),
            AnswerKind::Open => Vec::new(),
        }
    }

    /// `time`: the model whose elapsed time is asked.
    pub fn timed_model(&self) -> Model {
        self.of.unwrap_or_else(|| {
            if self.models.contains(&Model::Threads) {
                Model::Threads
            } else {
                *self.models.last().unwrap_or(&Model::Threads)
            }
        })
    }

    /// `yes-no`: the parsed condition.
    pub fn yes_if(&self) -> Option<YesIf> {
        self.yes_if
            .as_ref()
            .and_then(|s| YesIf::parse(s.get_ref()).ok())
    }

    /// The option index the written reveal expects, if it says.
    pub fn expected(&self) -> Option<usize> {
        let v = self.expect.as_ref()?.get_ref();
        match self.answer_kind() {
            AnswerKind::Time | AnswerKind::Number => {
                let x = v.as_float().or_else(|| v.as_integer().map(|i| i as f64))?;
                closest(&self.values, x)
            }
            _ => {
                let s = v.as_str()?;
                self.options().iter().position(|o| o == s)
            }
        }
    }
}

/// The index of the value in `values` closest to `x` on a log scale (times and counts
/// differ by factors, not by amounts).
pub fn closest(values: &[f64], x: f64) -> Option<usize> {
    let lx = x.max(1e-9).ln();
    values
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let da = (a.max(1e-9).ln() - lx).abs();
            let db = (b.max(1e-9).ln() - lx).abs();
            da.total_cmp(&db)
        })
        .map(|(i, _)| i)
}

/// A lesson file's problem, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct LessonError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// toml's messages name Rust types ("expected usize"); say what a lesson writer means.
fn plain_types(msg: &str) -> String {
    msg.replace("expected usize", "expected a whole number (0 or more)")
        .replace("expected u64", "expected a whole number (0 or more)")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected true or false")
        .replace("expected a string", "expected text in quotes")
        .replace("expected a sequence", "expected a list in [ ]")
}

/// Parse and check a lesson's text; `name` is used in messages.
pub fn parse(text: &str, name: &str) -> Result<Lesson, LessonError> {
    let at = |span: Option<Range<usize>>, message: String| {
        let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
        LessonError {
            path: name.to_string(),
            line,
            column,
            message,
        }
    };
    let lesson: Lesson = toml::from_str(text).map_err(|e| {
        // toml's own message carries a snippet; keep its first line (what was expected).
        let msg = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        at(e.span(), plain_types(&msg))
    })?;
    if lesson.steps.is_empty() {
        return Err(at(None, "a lesson needs at least one [[step]]".into()));
    }
    for step in &lesson.steps {
        let span = Some(step.workload.span());
        let Some(w) = workload::find(step.workload.get_ref()) else {
            return Err(at(
                span,
                format!(
                    "unknown workload `{}`; expected one of: {}",
                    step.workload.get_ref(),
                    workload::names().join(", ")
                ),
            ));
        };
        if let Some(ms) = &step.switch_interval_ms
            && let Err(e) = crate::core::GilConfig::interval_from_ms(*ms.get_ref())
        {
            return Err(at(
                Some(ms.span()),
                format!("step \"{}\": switch_interval_ms: {e}", step.title),
            ));
        }
        if step.models.is_empty() {
            return Err(at(
                span,
                format!("step \"{}\": models is empty", step.title),
            ));
        }
        let args = workload::WorkloadArgs {
            size: step.size.unwrap_or(0),
            tasks: step.tasks.unwrap_or(0),
            workers: step.workers.unwrap_or(2),
            variant: step.variant.clone(),
            split: step.split,
            ..Default::default()
        };
        for m in &step.models {
            args.check_split(*m).map_err(|e| {
                at(
                    span.clone(),
                    format!(
                        "step \"{}\": {}",
                        step.title,
                        e.to_string().replace("--", "")
                    ),
                )
            })?;
        }
        args.resolve(w).map_err(|e| {
            at(
                span,
                format!(
                    "step \"{}\": {}",
                    step.title,
                    e.to_string().replace("--", "")
                ),
            )
        })?;
        check_answer(step).map_err(|(s, m)| {
            at(
                Some(s.unwrap_or_else(|| step.workload.span())),
                format!("step \"{}\": {m}", step.title),
            )
        })?;
    }
    Ok(lesson)
}

/// The question's answer fields agree with its kind.
fn check_answer(step: &Step) -> Result<(), (Option<Range<usize>>, String)> {
    let kind_span = step.answer.as_ref().map(|a| a.span());
    let kind = step.answer_kind();
    let fail = |span: Option<Range<usize>>, m: String| Err((span, m));
    match kind {
        AnswerKind::Fastest | AnswerKind::Slowest if step.models.len() < 2 => {
            return fail(
                kind_span,
                "a race between models needs two or more models (for one model ask \
                 yes-no, time, number or choice)"
                    .into(),
            );
        }
        AnswerKind::Time | AnswerKind::Number if !(2..=9).contains(&step.values.len()) => {
            return fail(
                kind_span,
                "this answer needs `values`: 2 to 9 numbers".into(),
            );
        }
        AnswerKind::Time | AnswerKind::Number
            if step.values.iter().any(|v| !(v.is_finite() && *v > 0.0)) =>
        {
            return fail(kind_span, "`values` must be numbers above 0".into());
        }
        AnswerKind::Choice if !(2..=9).contains(&step.choices.len()) => {
            return fail(kind_span, "a choice needs `choices`: 2 to 9 answers".into());
        }
        AnswerKind::Time if !step.models.contains(&step.timed_model()) => {
            return fail(
                kind_span,
                format!(
                    "`of = \"{}\"` is not one of the step's models",
                    step.timed_model()
                ),
            );
        }
        _ => {}
    }
    if kind != AnswerKind::Open && step.predict.is_none() {
        return fail(
            kind_span,
            "an answer kind needs a question in `predict`".into(),
        );
    }
    if let Some(y) = &step.yes_if {
        if kind != AnswerKind::YesNo {
            return fail(
                Some(y.span()),
                "`yes_if` is for `answer = \"yes-no\"`".into(),
            );
        }
        YesIf::parse(y.get_ref()).map_err(|m| (Some(y.span()), m))?;
    }
    if let Some(e) = &step.expect
        && step.expected().is_none()
    {
        let want = match kind {
            AnswerKind::Open => "nothing: an open question expects no answer".to_string(),
            AnswerKind::Time | AnswerKind::Number => "a number".to_string(),
            _ => format!("one of: {}", step.options().join(", ")),
        };
        return fail(Some(e.span()), format!("`expect` should be {want}"));
    }
    Ok(())
}

/// Read and check a lesson file.
pub fn load(path: &Path) -> Result<Lesson, LessonError> {
    let name = path.display().to_string();
    let fail = |message: String| LessonError {
        path: name.clone(),
        line: 0,
        column: 0,
        message,
    };
    // Read at most the cap (plus one byte to notice more): `/dev/zero` is not a lesson.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_LESSON_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_LESSON_BYTES {
        return Err(fail(format!(
            "larger than {} KiB: not a lesson",
            MAX_LESSON_BYTES / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_col(
            &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
            usize::MAX,
        );
        LessonError {
            path: name.clone(),
            line,
            column,
            message: "not UTF-8 text".into(),
        }
    })?;
    parse(&text, &name)
}

/// The shipped lessons, in order: (name, lesson or its error).
pub fn shipped() -> Vec<(&'static str, Result<Lesson, LessonError>)> {
    SHIPPED
        .iter()
        .map(|(name, text)| (*name, parse(text, &format!("{name}.toml"))))
        .collect()
}

/// Open `name`: a file on disk (a user's own lesson), else a shipped lesson by name (with
/// or without `.toml`, or a unique prefix such as `02`). Otherwise a message pointing to
/// `--list` and the closest names.
pub fn open(name: &str) -> Result<Lesson, String> {
    let path = Path::new(name);
    if path.is_file() {
        return load(path).map_err(|e| e.to_string());
    }
    let bare = name.trim_end_matches(".toml");
    let bare = bare.rsplit('/').next().unwrap_or(bare);
    let exact = SHIPPED.iter().find(|(n, _)| *n == bare);
    let prefixed: Vec<_> = SHIPPED
        .iter()
        .filter(|(n, _)| n.starts_with(bare))
        .collect();
    let hit = exact.or(match prefixed.as_slice() {
        [one] if !bare.is_empty() => Some(*one),
        _ => None,
    });
    if let Some((n, text)) = hit {
        return parse(text, &format!("{n}.toml")).map_err(|e| e.to_string());
    }
    let mut msg = if path.exists() {
        format!("`{name}` is not a lesson file")
    } else {
        format!("no lesson `{name}`: not a file, and no shipped lesson has that name")
    };
    let close = close_names(bare);
    if !close.is_empty() {
        msg += &format!("; did you mean {}?", close.join(" or "));
    }
    msg += "\n`conlab lesson --list` lists the shipped lessons";
    Err(msg)
}

/// Shipped names near `name` (by edit distance, or sharing a word).
fn close_names(name: &str) -> Vec<&'static str> {
    let name = name.to_lowercase();
    let mut scored: Vec<(f64, &'static str)> = SHIPPED
        .iter()
        .map(|(n, _)| {
            let stem = n.split_once('-').map_or(*n, |(_, s)| s);
            let sim = strsim::jaro_winkler(&name, stem).max(strsim::jaro_winkler(&name, n));
            let shares = name.len() >= 3 && n.contains(name.as_str());
            (if shares { 1.0 } else { sim }, *n)
        })
        .filter(|(s, _)| *s >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
title = "t"
summary = "s"

[[step]]
title = "waiting"
text = "four downloads"
workload = "sleep"
workers = 4
predict = "which wins?"
"#;

    #[test]
    fn parses_with_defaults() {
        let l = parse(GOOD, "good.toml").expect("parses");
        assert_eq!(l.steps.len(), 1);
        assert_eq!(l.steps[0].models, Model::POOLS.to_vec());
        assert!(l.steps[0].gil);
        assert_eq!(l.steps[0].workload.get_ref(), "sleep");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let bad = GOOD.replace("workers = 4", "workers = = 4");
        let e = parse(&bad, "bad.toml").expect_err("bad TOML");
        assert_eq!(e.line, 9, "{e}");
        assert!(e.column > 1, "{e}");
        assert!(e.to_string().starts_with("bad.toml:9:"), "{e}");
    }

    #[test]
    fn wrong_type_and_unknown_field_are_named() {
        let e = parse(&GOOD.replace("workers = 4", "workers = \"four\""), "x").expect_err("type");
        assert_eq!(e.line, 9, "{e}");
        assert!(
            e.message.contains("integer") || e.message.contains("invalid type"),
            "{e}"
        );
        let e = parse(&GOOD.replace("workers = 4", "wrokers = 4"), "x").expect_err("unknown");
        assert!(e.message.contains("wrokers"), "{e}");
        assert_eq!(e.line, 9, "{e}");
    }

    #[test]
    fn unknown_workload_points_at_it() {
        let e = parse(&GOOD.replace("\"sleep\"", "\"nap\""), "x").expect_err("workload");
        assert_eq!((e.line, e.column), (8, 12), "{e}");
        assert!(e.message.contains("unknown workload `nap`"), "{e}");
    }

    #[test]
    fn missing_steps_and_bad_sizes() {
        let e = parse("title = \"t\"\nsummary = \"s\"\nstep = []\n", "x").expect_err("no steps");
        assert!(e.message.contains("at least one"), "{e}");
        let e = parse(&GOOD.replace("workers = 4", "size = 999999999"), "x").expect_err("size");
        assert!(e.message.contains("size"), "{e}");
    }

    #[test]
    fn every_shipped_lesson_is_valid_and_embedded() {
        let all = shipped();
        assert!(all.len() >= 5, "ship a set of lessons");
        for (n, l) in all {
            if let Err(e) = l {
                panic!("{n}: {e}");
            }
        }
        // Every file in assets/lessons/ is embedded, and nothing else.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/lessons");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("assets/lessons")
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(String::from))?
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = SHIPPED.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn open_finds_shipped_names_prefixes_and_files() {
        assert!(open("02-computing-with-the-gil").is_ok());
        assert!(open("02-computing-with-the-gil.toml").is_ok());
        assert_eq!(
            open("07").expect("unique prefix").title,
            open("07-deadlock").expect("name").title
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("mine.toml");
        std::fs::write(&p, GOOD).expect("writes");
        assert_eq!(
            open(p.to_str().expect("utf-8")).expect("by path").title,
            "t"
        );
    }

    #[test]
    fn unknown_lesson_points_to_list_and_close_names() {
        let e = open("nope").expect_err("no such lesson");
        assert!(e.contains("conlab lesson --list"), "{e}");
        assert!(!e.contains(":0:0"), "{e}");
        let e = open("deadlok").expect_err("typo");
        assert!(e.contains("07-deadlock"), "{e}");
        let e = open("convoy").expect_err("a word of a name");
        assert!(e.contains("09-convoy"), "{e}");
    }

    #[test]
    fn answer_kinds_default_and_offer_their_options() {
        let l = parse(GOOD, "x").expect("parses");
        assert_eq!(l.steps[0].answer_kind(), AnswerKind::Fastest);
        assert_eq!(
            l.steps[0].options(),
            vec!["sequential", "threads", "processes"]
        );
        let yn = GOOD.replace(
            "predict = \"which wins?\"",
            "models = [\"threads\"]\npredict = \"lost?\"\nanswer = \"yes-no\"\nyes_if = \"answer == 0\"\nexpect = \"no\"",
        );
        let l = parse(&yn, "x").expect("yes-no parses");
        assert_eq!(l.steps[0].options(), vec!["yes", "no"]);
        assert_eq!(l.steps[0].expected(), Some(1));
        assert!(matches!(
            l.steps[0].yes_if(),
            Some(YesIf::Answer { op: Op::Eq, .. })
        ));
        // A race on one model is refused, with where.
        let one = GOOD.replace(
            "workers = 4",
            "workers = 4\nmodels = [\"threads\"]\nanswer = \"fastest\"",
        );
        let e = parse(&one, "x").expect_err("fastest of one");
        assert!(e.message.contains("two or more models"), "{e}");
        let t = GOOD.replace(
            "predict = \"which wins?\"",
            "predict = \"how long?\"\nanswer = \"time\"\nvalues = [1, 4, 8]\nexpect = 1.2",
        );
        let l = parse(&t, "x").expect("time parses");
        assert_eq!(l.steps[0].timed_model(), Model::Threads);
        assert_eq!(l.steps[0].expected(), Some(0));
        let bad = t.replace("values = [1, 4, 8]", "values = [1]");
        assert!(
            parse(&bad, "x")
                .expect_err("one value")
                .message
                .contains("values")
        );
    }

    #[test]
    fn yes_if_reads_its_forms() {
        assert!(YesIf::parse("answer != deadlock").is_ok());
        assert!(YesIf::parse("answer < 2.5").is_ok());
        assert!(YesIf::parse("answer < many").is_err());
        assert_eq!(
            YesIf::parse("threads faster than sequential"),
            Ok(YesIf::Faster {
                a: Model::Threads,
                b: Model::Sequential
            })
        );
        assert!(YesIf::parse("threads are quick").is_err());
    }

    #[test]
    fn rust_type_names_become_plain_words() {
        let e = parse(&GOOD.replace("workers = 4", "workers = -1"), "x").expect_err("negative");
        assert!(!e.message.contains("usize"), "{e}");
        assert!(e.message.contains("whole number"), "{e}");
    }

    #[test]
    fn closest_is_on_a_log_scale() {
        assert_eq!(closest(&[1.0, 4.0, 8.0], 1.9), Some(0));
        assert_eq!(closest(&[1.0, 4.0, 8.0], 2.1), Some(1));
        assert_eq!(closest(&[0.01, 1.0, 5.0], 5.2), Some(2));
    }
}

//! Lessons: TOML files under `assets/lessons/` that step through the articles' decision
//! guide. Each step sets a scene (workload, models, options), explains it, may ask the
//! audience to predict, runs on a key and reveals the measured answer.
//!
//! A malformed file is rejected with its line and column and what was expected.

use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::exec::Model;
use crate::workload;

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

/// One step: a scene, its explanation, an optional prediction.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    /// Shown before the run.
    pub text: String,
    pub workload: Spanned<String>,
    /// Models to run, in order (default: all three).
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
    /// A question for the audience before the run, e.g. "Which model wins?".
    pub predict: Option<String>,
    /// Shown after the run, next to the measured numbers.
    pub reveal: Option<String>,
}

fn all_models() -> Vec<Model> {
    Model::ALL.to_vec()
}

fn yes() -> bool {
    true
}

/// Largest lesson file read (the shipped ones are a few KiB).
pub const MAX_LESSON_BYTES: u64 = 1024 * 1024;

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
        at(e.span(), msg)
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
            ..Default::default()
        };
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
    }
    Ok(lesson)
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

/// Where the shipped lessons live.
pub fn lessons_dir() -> PathBuf {
    let local = PathBuf::from("assets/lessons");
    if local.is_dir() {
        local
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/lessons")
    }
}

/// The shipped lessons, sorted by file name: (path, lesson or its error).
pub fn shipped() -> Vec<(PathBuf, Result<Lesson, LessonError>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(lessons_dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let l = load(&p);
            (p, l)
        })
        .collect()
}

/// Resolve `NAME` to a shipped lesson file, or take it as a path.
pub fn find(name: &str) -> PathBuf {
    let p = PathBuf::from(name);
    if p.exists() {
        return p;
    }
    let shipped = lessons_dir().join(format!("{name}.toml"));
    if shipped.exists() { shipped } else { p }
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
        assert_eq!(l.steps[0].models, Model::ALL.to_vec());
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
    fn every_shipped_lesson_is_valid() {
        let all = shipped();
        assert!(all.len() >= 5, "ship a set of lessons");
        for (p, l) in all {
            if let Err(e) = l {
                panic!("{}: {e}", p.display());
            }
        }
    }
}

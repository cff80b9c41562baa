//! The room's guesses: the hands the teacher counted for each answer of a lesson step,
//! their spread as bars, and each step's line of the end-of-lesson summary — the
//! question, the room's guess, the measurement and whether the room was right.

use serde::Serialize;

use super::judge::StepVerdict;
use super::lesson::{AnswerKind, Step};
use super::rehearsal::Outcome;

/// The most hands one answer can hold (a lecture hall, with room to spare).
pub const MAX_HANDS: u32 = 9_999;

/// The answer most hands went up for, when one leads (no hands, or a tie: none).
pub fn leader(hands: &[u32]) -> Option<usize> {
    let max = *hands.iter().max()?;
    if max == 0 || hands.iter().filter(|&&h| h == max).count() > 1 {
        return None;
    }
    hands.iter().position(|&h| h == max)
}

/// Each answer's bar length in cells, the largest count drawn `width` long (a count
/// above zero is at least one cell, so no hand vanishes).
pub fn bars(hands: &[u32], width: usize) -> Vec<usize> {
    let max = hands.iter().copied().max().unwrap_or(0);
    hands
        .iter()
        .map(|&h| {
            if h == 0 || max == 0 {
                0
            } else {
                ((h as usize * width).div_ceil(max as usize)).clamp(1, width)
            }
        })
        .collect()
}

/// The spread in words, for text and JSON: "yes 12 · no 5".
pub fn spread_text(options: &[String], hands: &[u32]) -> String {
    options
        .iter()
        .zip(hands)
        .map(|(o, h)| format!("{o} {h}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One step of the end-of-lesson summary (also written as JSON beside a screenshot).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepSummary {
    /// From 1, as the dashboard counts.
    pub step: usize,
    pub title: String,
    pub question: Option<String>,
    /// The answers the room chose between.
    pub options: Vec<String>,
    /// Hands counted for each answer (empty when nobody counted).
    pub hands: Vec<u32>,
    /// The room's guess: the key pressed, else the answer most hands went up for.
    pub guess: Option<String>,
    /// The measurement in words; `None` when the step did not run.
    pub measured: Option<String>,
    /// The answer the measurement picks, when it decides one.
    pub answer: Option<String>,
    /// The room's guess against the measurement.
    pub verdict: Outcome,
    /// Why not right or wrong (inconclusive, not run, nothing guessed).
    pub reason: Option<String>,
}

/// Put the room's guess (`guess`, an index into the step's options) against what the
/// step measured (`verdict`, `None` when it did not run).
pub fn summarize(
    index: usize,
    step: &Step,
    hands: &[u32],
    guess: Option<usize>,
    verdict: Option<&StepVerdict>,
) -> StepSummary {
    let options = step.options();
    let guess = guess.or_else(|| leader(hands));
    let open = step.answer_kind() == AnswerKind::Open || options.is_empty();
    let (outcome, reason) = match verdict {
        None => (Outcome::Unjudged, Some("not run".to_string())),
        Some(_) if open => (
            Outcome::Unjudged,
            Some("a question for the room: no measurement decides it".into()),
        ),
        Some(v) => match (v.state.reason(), v.right, guess) {
            (Some(r), _, _) => (Outcome::Inconclusive, Some(r.to_string())),
            (None, None, _) => (
                Outcome::Unjudged,
                Some("no measurement decides it".to_string()),
            ),
            (None, Some(_), None) => (
                Outcome::Unjudged,
                Some(if hands.iter().any(|&h| h > 0) {
                    "the hands were split evenly".to_string()
                } else {
                    "no guess recorded".to_string()
                }),
            ),
            (None, Some(r), Some(g)) if r == g => (Outcome::Right, None),
            (None, Some(r), Some(_)) => (
                Outcome::Wrong,
                Some(format!(
                    "measured {}",
                    options.get(r).cloned().unwrap_or_default()
                )),
            ),
        },
    };
    StepSummary {
        step: index + 1,
        title: step.title.clone(),
        question: step.predict.clone(),
        hands: if hands.iter().any(|&h| h > 0) {
            hands.to_vec()
        } else {
            Vec::new()
        },
        guess: guess.and_then(|g| options.get(g).cloned()),
        measured: verdict.map(|v| v.measured.clone()),
        answer: verdict
            .filter(|v| v.state.is_conclusive())
            .and_then(|v| options.get(v.right?).cloned()),
        options,
        verdict: outcome,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::verdict::State;

    fn step() -> Step {
        crate::experiment::lesson::parse(
            r#"
title = "t"
summary = "s"
[[step]]
title = "race"
text = "t"
workload = "race"
models = ["threads"]
predict = "Exact?"
answer = "yes-no"
yes_if = "answer == 0"
"#,
            "t.toml",
        )
        .expect("valid")
        .steps
        .remove(0)
    }

    fn measured(right: Option<usize>, state: State) -> StepVerdict {
        StepVerdict {
            measured: "3 updates lost".into(),
            right,
            state,
            evidence: None,
            warnings: Vec::new(),
            text_disagrees: None,
        }
    }

    #[test]
    fn the_most_hands_lead_unless_tied() {
        assert_eq!(leader(&[12, 5]), Some(0));
        assert_eq!(leader(&[3, 3]), None);
        assert_eq!(leader(&[0, 0]), None);
        assert_eq!(leader(&[]), None);
        assert_eq!(bars(&[12, 5, 0, 1], 8), vec![8, 4, 0, 1]);
        assert_eq!(bars(&[0, 0], 8), vec![0, 0]);
    }

    #[test]
    fn the_room_is_right_wrong_or_undecided() {
        let s = step();
        let no = measured(Some(1), State::Conclusive);
        let right = summarize(0, &s, &[4, 12], None, Some(&no));
        assert_eq!(right.verdict, Outcome::Right, "{right:?}");
        assert_eq!(right.guess.as_deref(), Some("no"));
        assert_eq!(spread_text(&right.options, &right.hands), "yes 4 · no 12");
        let wrong = summarize(0, &s, &[12, 4], None, Some(&no));
        assert_eq!(wrong.verdict, Outcome::Wrong);
        assert_eq!(wrong.reason.as_deref(), Some("measured no"));
        // The key pressed wins over the hands.
        assert_eq!(
            summarize(0, &s, &[12, 4], Some(1), Some(&no)).verdict,
            Outcome::Right
        );
        let tie = summarize(0, &s, &[3, 3], None, Some(&no));
        assert_eq!(tie.verdict, Outcome::Unjudged);
        assert_eq!(tie.reason.as_deref(), Some("the hands were split evenly"));
        let busy = measured(None, State::inconclusive("other programs were busy"));
        let i = summarize(0, &s, &[1, 2], None, Some(&busy));
        assert_eq!(i.verdict, Outcome::Inconclusive);
        assert_eq!(i.reason.as_deref(), Some("other programs were busy"));
        let not_run = summarize(0, &s, &[1, 2], None, None);
        assert_eq!(
            (not_run.verdict, not_run.measured),
            (Outcome::Unjudged, None)
        );
    }
}

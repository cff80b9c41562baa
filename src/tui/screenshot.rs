//! The screenshot effect: what the dashboard shows now → `<dir>/conlab-<UTC time>.svg`
//! (+ .txt, .ans; in a lesson also `.lesson.json`: the room's guesses and the
//! measurements), the outcome reported back as [`Msg::ShotSaved`].

use std::path::{Path, PathBuf};

use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};

use crate::app::{App, Msg};
use crate::ui;

/// Save the frame `app` draws at `size` into `dir`; the result as a message for the app.
pub fn save(app: &App, size: Size, dir: &Path) -> Msg {
    Msg::ShotSaved(write(app, size, dir).map_err(|e| format!("{e:#}")))
}

fn write(app: &App, size: Size, dir: &Path) -> anyhow::Result<PathBuf> {
    let area = Rect::new(0, 0, size.width, size.height);
    let mut buf = Buffer::empty(area);
    ui::render(app, area, &mut buf);
    let name = format!("conlab-{}", timestamp());
    let svg = crate::recording::shot::write_files(
        &buf,
        dir,
        &name,
        &crate::recording::shot::title_of(app),
        app.theme().name,
    )?;
    // In a lesson, the room's guesses and the measurements so far, as data.
    if let Some(l) = app.lesson() {
        let path = dir.join(format!("{name}.lesson.json"));
        let body = lesson_json(&l.lesson.title, crate::app::lesson_mode::summaries(app))?;
        crate::sys::atomic_file::write(&path, body.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(svg)
}

/// A lesson's summary as JSON: its title, then each step's question, the room's hands
/// and guess, the measurement and the room's verdict.
fn lesson_json(
    title: &str,
    steps: Vec<crate::experiment::room::StepSummary>,
) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        lesson: &'a str,
        steps: Vec<crate::experiment::room::StepSummary>,
    }
    Ok(serde_json::to_string_pretty(&Doc {
        lesson: title,
        steps,
    })? + "\n")
}

/// UTC `YYYYMMDD-HHMMSS` for file names, now.
pub(crate) fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_stamp(secs)
}

/// UTC `YYYYMMDD-HHMMSS` of `secs` since the Unix epoch (no time-zone database, no date
/// crate: conlab needs this one conversion, for file names).
fn utc_stamp(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lesson_is_saved_with_the_rooms_guesses_as_json() {
        use crate::app::{App, Msg, Settings};
        use crossterm::event::{KeyCode, KeyEvent};
        let mut app = App::new(
            Settings::new("primes", 0, 2, true, 5.0),
            crate::ui::theme::Theme::default(),
        );
        app.update(Msg::Lesson(Box::new(
            crate::experiment::lesson::open("06-races-and-locks").expect("shipped"),
        )));
        for c in "v1222v".chars() {
            app.update(Msg::Key(KeyEvent::from(KeyCode::Char(c))));
        }
        let dir = std::env::temp_dir().join(format!("conlab-shot-{}", std::process::id()));
        let svg = write(&app, Size::new(80, 24), &dir).expect("saved");
        let json_path = svg.with_extension("lesson.json");
        let body = std::fs::read_to_string(&json_path).expect("written beside");
        let _ = std::fs::remove_dir_all(&dir);
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(v["steps"][0]["hands"], serde_json::json!([1, 3]));
        assert_eq!(v["steps"][0]["guess"], "no");
        assert_eq!(v["steps"][0]["verdict"], "unjudged");
        assert_eq!(v["steps"][0]["reason"], "not run");
    }

    #[test]
    fn stamps_are_civil_utc_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        // 2000-02-29 (a leap day in a century leap year) 23:59:59.
        assert_eq!(utc_stamp(951_868_799), "20000229-235959");
        // 2026-11-24 01:07:55.
        assert_eq!(utc_stamp(1_795_482_475), "20261124-010755");
    }
}

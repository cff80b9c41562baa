//! Presenter mode (`--present`, key `P`), for a projector: fewer and larger things — a
//! one-line header, each model's elapsed time and speed-up in large digits, the lesson's
//! question and reveal, every model's timeline on one time axis, and the explanation
//! line in its own framed box. Readable from the back of a room at 100x30.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use tui_big_text::{BigText, PixelSize};

use super::{block, lesson_panel, timelines};
use crate::app::{App, ModelRun, RunState};
use crate::core::fmt::{fit, thousands};
use crate::exec::Model;
use crate::ui::theme::Theme;

/// Rows of large digits (both pixel sizes used are four rows tall).
const DIGIT_ROWS: u16 = 4;

/// The panels shown: every model that ran, runs or waits; before any run, every model
/// (or the lesson step's).
fn shown(app: &App) -> Vec<usize> {
    let ran: Vec<usize> = (0..app.panels().len())
        .filter(|&i| app.panels()[i].state != RunState::Idle)
        .collect();
    if !ran.is_empty() {
        return ran;
    }
    (0..app.panels().len())
        .filter(|&i| {
            app.lesson()
                .is_none_or(|l| l.current().models.contains(&app.panels()[i].model))
        })
        .collect()
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let lesson_rows = if app.lesson().is_some() {
        lesson_panel::rows_wanted(app, area.width).min(area.height / 3)
    } else {
        0
    };
    // Numbers: a frame, elapsed digits, speed-up digits (once a run has finished), a
    // line for the answer.
    let any_finished = app.panels().iter().any(|p| p.is_finished());
    let mut numbers_h = 2 + (1 + u16::from(any_finished)) * DIGIT_ROWS + 1;
    let mut explain_h = 4;
    // Room for two lanes of every run (the kernel's view: two threads, in its frame):
    // the speed-up digits go first, then a row of the explanation's box.
    let want = lanes_wanted(app);
    if area.height < 1 + lesson_rows + explain_h + 1 + numbers_h + want {
        numbers_h = 2 + DIGIT_ROWS + 1;
    }
    if area.height < 1 + lesson_rows + explain_h + 1 + numbers_h + want {
        explain_h = 3;
    }
    let [head, lesson_area, numbers, timeline, explain, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(lesson_rows),
        Constraint::Length(numbers_h),
        Constraint::Min(0),
        Constraint::Length(explain_h),
        Constraint::Length(1),
    ])
    .areas(area);
    render_head(app, head, buf);
    if lesson_rows > 0 {
        lesson_panel::render(app, lesson_area, buf);
    }
    let panels = shown(app);
    let cols = Layout::horizontal(vec![
        Constraint::Ratio(1, panels.len().max(1) as u32);
        panels.len()
    ])
    .split(numbers);
    for (k, &i) in panels.iter().enumerate() {
        render_numbers(app, i, cols[k], buf);
    }
    if app.kernel().on && timeline.height >= 3 {
        super::kernel::render(app, timeline, buf);
    } else if timeline.height >= 4 {
        timelines::render(app, timeline, buf);
    }
    render_explain(app, explain, buf);
    let line = Line::from(vec![
        Span::styled(" P", t.key),
        Span::styled(" leave presenter mode  ", t.dim),
        Span::styled(if app.lesson().is_some() { "n" } else { "a" }, t.key),
        Span::styled(
            if app.lesson().is_some() {
                " next step  "
            } else {
                " run all  "
            },
            t.dim,
        ),
        Span::styled("⏎", t.key),
        Span::styled(" run  ", t.dim),
        Span::styled("q", t.key),
        Span::styled(" quit", t.dim),
    ]);
    Paragraph::new(line).render(keys, buf);
}

/// Rows the lanes want: two lanes of every run on one axis (the axis row under them), or
/// two threads in the kernel's view; both in a frame.
fn lanes_wanted(app: &App) -> u16 {
    if app.kernel().on {
        return 2 + 2;
    }
    let runs = app.panels().iter().filter(|p| p.config.is_some()).count();
    let runs = if runs == 0 { shown(app).len() } else { runs };
    2 + 1 + 2 * runs as u16
}

/// One line: the workload, its size, the workers and the GIL, bold.
fn render_head(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let s = &app.settings();
    let gil = if s.gil { "GIL on" } else { "GIL off" };
    let text = format!(
        " {} · size {} · {} workers · {gil} · {} ",
        s.workload().name(),
        thousands(s.size.into()),
        s.workers,
        s.runtime_label()
    );
    let line = Line::from(vec![
        Span::styled(" conlab ", t.title.add_modifier(Modifier::REVERSED)),
        Span::styled(fit(&text, (area.width as usize).saturating_sub(8)), t.title),
    ]);
    Paragraph::new(line).render(area, buf);
}

/// Seconds in at most six characters, for large digits: "3.04s", "12.4s", "152s".
fn short_secs(us: u64) -> String {
    let s = us as f64 / 1e6;
    if s < 10.0 {
        format!("{s:.2}s")
    } else if s < 100.0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.0}s")
    }
}

/// `text` in large digits in `area` (8 or 4 columns a character, 4 rows), or in bold
/// when even the small digits do not fit.
fn big(text: &str, style: Style, area: Rect, buf: &mut Buffer) {
    let n = text.chars().count() as u16;
    let size = if n * 8 <= area.width {
        Some(PixelSize::HalfHeight)
    } else if n * 4 <= area.width {
        Some(PixelSize::Quadrant)
    } else {
        None
    };
    match size {
        Some(size) => BigText::builder()
            .pixel_size(size)
            .style(style)
            .lines(vec![Line::from(text.to_string())])
            .centered()
            .build()
            .render(area, buf),
        None => Paragraph::new(Line::styled(
            text.to_string(),
            style.add_modifier(Modifier::BOLD),
        ))
        .centered()
        .render(
            Rect::new(area.x, area.y + area.height / 2, area.width, 1),
            buf,
        ),
    }
}

fn render_numbers(app: &App, i: usize, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let p: &ModelRun = &app.panels()[i];
    let selected = app.selected() == i;
    let mut title = format!(" {} ", p.model);
    for tag in p.title_tags() {
        title += &format!("· {tag} ");
    }
    let b = block(
        Line::styled(title, if selected { t.border_selected } else { t.title }),
        t,
        selected,
    );
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let digits = |row: u16| Rect::new(inner.x, inner.y + row, inner.width, DIGIT_ROWS);
    let two_rows = inner.height > 2 * DIGIT_ROWS;
    let mut below: Vec<Span> = Vec::new();
    match &p.state {
        RunState::Idle | RunState::Queued => {
            let what = if p.state == RunState::Queued {
                "queued…"
            } else {
                "not run yet"
            };
            let mid = Rect::new(inner.x, inner.y + DIGIT_ROWS / 2, inner.width, 1);
            Paragraph::new(Line::styled(what, t.dim))
                .centered()
                .render(mid, buf);
        }
        RunState::Running => {
            big(&short_secs(p.elapsed_us), t.accent, digits(0), buf);
            below.push(Span::styled(
                format!("running · {:.0}% done", p.progress() * 100.0),
                t.accent,
            ));
        }
        RunState::Cancelled => {
            big(&short_secs(p.elapsed_us), t.dim, digits(0), buf);
            below.push(Span::styled("cancelled", t.warn));
        }
        RunState::Failed(why) => {
            big("failed", t.bad, digits(0), buf);
            below.push(Span::styled(why.clone(), t.bad));
        }
        RunState::Finished => {
            big(&short_secs(p.elapsed_us), t.title, digits(0), buf);
            let speed = app.speedup(i);
            if let Some(s) = speed {
                let style = if p.model == Model::Sequential {
                    t.text
                } else if s >= 1.3 {
                    t.ok
                } else if s < 0.95 {
                    t.bad
                } else {
                    t.warn
                };
                let text = format!("{s:.2}×");
                if two_rows {
                    big(&text, style, digits(DIGIT_ROWS), buf);
                } else {
                    below.push(Span::styled(
                        format!("{text} "),
                        style.add_modifier(Modifier::BOLD),
                    ));
                }
                below.push(Span::styled(
                    if p.model == Model::Sequential {
                        "the baseline"
                    } else {
                        "speed-up"
                    },
                    t.dim,
                ));
            }
            if let Some(a) = &p.answer
                && !app.settings().workload().answer_is_measured()
            {
                let mark = match app.answers_agree() {
                    Some(true) => " ✓",
                    Some(false) => " ✗",
                    None => "",
                };
                // The answer when it fits on the line, else only its mark.
                let used: usize = below.iter().map(|s| s.width()).sum();
                let long = format!(" · answer {}{mark}", a.value);
                if used + long.chars().count() <= inner.width as usize {
                    below.push(Span::styled(long, t.dim));
                } else if !mark.is_empty() {
                    below.push(Span::styled(mark, t.dim));
                }
            }
        }
    }
    let last = Rect::new(inner.x, inner.y + inner.height - 1, inner.width, 1);
    Paragraph::new(Line::from(below))
        .centered()
        .render(last, buf);
}

/// The explanation, framed and bold, wrapped over the box's rows.
fn render_explain(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let (text, style) = if let Some(n) = app.notice() {
        (n.to_string(), t.warn)
    } else if let Some(n) = app.info() {
        (n.to_string(), t.text)
    } else if let Some(e) = crate::app::explain(app) {
        (e, t.title)
    } else if app.is_running() {
        (
            "measuring… the explanation follows the numbers".to_string(),
            t.dim,
        )
    } else if app.lesson().is_some() {
        (
            "guess, then press ⏎ to run the step; n / p move between steps".to_string(),
            t.dim,
        )
    } else {
        ("press a to run every model in turn".to_string(), t.dim)
    };
    let b = block(Line::styled(" why ", t.accent), t, true);
    let inner = b.inner(area);
    b.render(area, buf);
    Paragraph::new(Line::styled(text, style.add_modifier(Modifier::BOLD)))
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_fit_six_characters() {
        assert_eq!(super::short_secs(3_039_000), "3.04s");
        assert_eq!(super::short_secs(12_410_000), "12.4s");
        assert_eq!(super::short_secs(152_000_000), "152s");
    }
}

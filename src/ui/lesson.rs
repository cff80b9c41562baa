//! The lesson panel: the step's title and text, the question for the audience, their
//! guess, and — once every model of the step has run — the measured answer and the
//! lesson's reveal.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{block, fmt};
use crate::app::App;
use crate::app::lesson::{fastest, step_done};

/// Rows the panel wants inside a screen of `height` rows.
pub fn rows_wanted(height: u16) -> u16 {
    match height {
        40.. => 9,
        32..=39 => 8,
        _ => 7,
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(l) = &app.lesson else { return };
    let t = &app.theme;
    let step = l.current();
    let title = Line::from(vec![
        Span::styled(
            format!(" lesson {}/{} ", l.step + 1, l.lesson.steps.len()),
            t.title,
        ),
        Span::styled(format!("· {} ", l.lesson.title), t.dim),
    ]);
    let keys = Line::from(vec![
        Span::styled(" n", t.key),
        Span::styled(" next  ", t.dim),
        Span::styled("p", t.key),
        Span::styled(" previous  ", t.dim),
        Span::styled("1 2 3", t.key),
        Span::styled(" guess  ", t.dim),
        Span::styled("⏎", t.key),
        Span::styled(" run ", t.dim),
    ]);
    let b = block(title, t, false).title_bottom(keys.right_aligned());
    let inner = b.inner(area);
    b.render(area, buf);

    let mut lines = vec![
        Line::from(Span::styled(step.title.clone(), t.title)),
        Line::from(Span::styled(step.text.clone(), t.text)),
    ];
    if step_done(app) {
        let mut measured = vec![Span::styled("measured: ", t.accent)];
        let single = (step.models.len() == 1)
            .then(|| fastest(app))
            .flatten()
            .and_then(|(m, us)| {
                let i = crate::exec::Model::ALL.iter().position(|x| *x == m)?;
                let a = app.panels[i].answer.as_ref()?;
                Some(format!(
                    "{} ({}) on {m} in {}",
                    a.value,
                    a.meaning,
                    fmt::secs(us)
                ))
            });
        if let Some(text) = single {
            // One model: the lesson is in its answer, not in a race between models.
            measured.push(Span::styled(text, t.ok));
        } else if let Some((m, us)) = fastest(app) {
            measured.push(Span::styled(
                format!("{m} fastest in {}", fmt::secs(us)),
                t.ok,
            ));
            if let Some(g) = l.guess {
                measured.push(Span::styled(
                    if g == m {
                        format!(" — the audience guessed {g} ✓")
                    } else {
                        format!(" — the audience guessed {g} ✗")
                    },
                    if g == m { t.ok } else { t.warn },
                ));
            }
        }
        lines.push(Line::from(measured));
        if let Some(r) = &step.reveal {
            lines.push(Line::from(Span::styled(r.clone(), t.text)));
        }
    } else {
        if let Some(q) = &step.predict {
            lines.push(Line::from(vec![
                Span::styled("? ", t.accent),
                Span::styled(q.clone(), t.title),
            ]));
        }
        let models: Vec<String> = step.models.iter().map(|m| m.to_string()).collect();
        let guess = match l.guess {
            Some(g) => format!("guess: {g} — press ⏎ to run {}", models.join(", ")),
            None => format!(
                "guess the fastest with 1 sequential · 2 threads · 3 processes, then ⏎ runs {}",
                models.join(", ")
            ),
        };
        lines.push(Line::from(Span::styled(guess, t.dim)));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Settings;
    use crate::ui::theme::Theme;

    fn text(buf: &Buffer) -> String {
        let mut s = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    #[test]
    fn shows_step_question_and_keys() {
        let mut app = App::new(Settings::new("primes", 0, 2, true, 5.0), Theme::default());
        let path = crate::lesson::lessons_dir().join("02-computing-with-the-gil.toml");
        crate::app::lesson::start(
            &mut app,
            crate::lesson::load(&path).expect("shipped lesson"),
        );
        let area = Rect::new(0, 0, 100, 9);
        let mut buf = Buffer::empty(area);
        render(&app, area, &mut buf);
        let s = text(&buf);
        assert!(s.contains("lesson 1/2"), "{s}");
        assert!(s.contains("Count primes on every model"), "{s}");
        assert!(s.contains("? Will two threads be faster than one?"), "{s}");
        assert!(s.contains("n next"), "{s}");
    }
}

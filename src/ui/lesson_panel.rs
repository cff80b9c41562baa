//! The lesson panel: the step's text, the question with the answers its keys record, and
//! — once every model of the step has run — the measurement first, the guess against it,
//! a warning when the lesson's written text disagrees with it, then the lesson's reveal.

use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use crate::app::App;
use crate::app::lesson_mode::{step_done, verdict};
use crate::core::fmt::fit;
use crate::experiment::lesson::AnswerKind;
use crate::ui::wrap::wrap_spans;

/// The longest bar of the room's spread, in cells.
const BAR: usize = 10;

/// The room's spread as spans: "yes ▇▇▇▇ 12 · no ▇▇ 5", each answer's key before it
/// when `keys` (counting), the measured answer (`right`) marked ✓.
pub fn spread_spans(
    options: &[String],
    hands: &[u32],
    right: Option<usize>,
    keys: bool,
    t: &Theme,
) -> Vec<Span<'static>> {
    let bars = crate::experiment::room::bars(hands, BAR);
    let mut v = Vec::new();
    for (i, o) in options.iter().enumerate() {
        if i > 0 {
            v.push(Span::styled(" · ", t.dim));
        }
        if keys {
            v.push(Span::styled(format!("{} ", i + 1), t.key));
        }
        let mine = right == Some(i);
        v.push(Span::styled(o.clone(), if mine { t.ok } else { t.text }));
        let n = hands.get(i).copied().unwrap_or(0);
        let bar = bars.get(i).copied().unwrap_or(0);
        v.push(Span::styled(
            format!(" {}", "▇".repeat(bar)),
            if mine { t.ok } else { t.accent },
        ));
        let mark = if mine { " ✓" } else { "" };
        v.push(Span::styled(
            format!("{}{n}{mark}", if bar > 0 { " " } else { "" }),
            if mine { t.ok } else { t.title },
        ));
    }
    v
}

/// The panel's lines for an inner width of `width` cells.
pub fn lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let Some(l) = &app.lesson() else {
        return Vec::new();
    };
    let t = &Theme::of(app.theme());
    let step = l.current();
    let options = step.options();
    let mut out = wrap_spans(vec![Span::styled(step.text.clone(), t.text)], width, 0);
    let guess = l.guess_text();
    if let Some(q) = &l.quiet {
        let left = q
            .until
            .map_or(crate::app::lesson_mode::QUIET_PATIENCE.as_secs(), |u| {
                u.saturating_sub(app.now()).as_secs()
            });
        let others = q
            .others
            .map_or("measuring other programs' load".to_string(), |o| {
                format!("other programs use {o:.1} cores")
            });
        out.extend(wrap_spans(
            vec![
                Span::styled("⏳ waiting for a quiet moment: ", t.accent),
                Span::styled(
                    format!("{others} · runs once quiet for 2 s, or in {left} s · "),
                    t.text,
                ),
                Span::styled("⏎", t.key),
                Span::styled(" runs now, ", t.dim),
                Span::styled("Esc", t.key),
                Span::styled(" stops waiting", t.dim),
            ],
            width,
            2,
        ));
        return out;
    }
    if let Some(v) = verdict(app) {
        if let Some(q) = &step.predict {
            let mut q = vec![
                Span::styled("? ", t.accent),
                Span::styled(q.clone(), t.title),
            ];
            if let Some(g) = &guess {
                q.push(Span::styled(" — guessed ", t.dim));
                q.push(Span::styled(g.clone(), t.text));
                match v.right {
                    Some(r) if options.get(r) == Some(g) => {
                        q.push(Span::styled(" ✓", t.ok));
                    }
                    Some(r) => {
                        q.push(Span::styled(" ✗", t.bad));
                        q.push(Span::styled(format!(" (measured: {})", options[r]), t.dim));
                    }
                    None => {}
                }
            } else if let Some(r) = v.right {
                q.push(Span::styled(format!(" — measured: {}", options[r]), t.dim));
            }
            out.extend(wrap_spans(q, width, 2));
        }
        if l.any_hands() {
            let mut room = vec![Span::styled("room ", t.accent)];
            room.extend(spread_spans(&options, &l.hands, v.right, false, t));
            out.extend(wrap_spans(room, width, 5));
        }
        out.extend(wrap_spans(
            vec![
                Span::styled("measured ", t.accent),
                Span::styled(
                    v.measured.clone(),
                    if v.state.is_conclusive() {
                        t.ok
                    } else {
                        t.warn
                    },
                ),
            ],
            width,
            2,
        ));
        if let Some(e) = &v.evidence {
            out.extend(wrap_spans(
                vec![
                    Span::styled("because ", t.accent),
                    Span::styled(e.clone(), t.text),
                ],
                width,
                2,
            ));
        }
        if let Some(reason) = v.state.reason() {
            // Never ask the class to trust a disturbed measurement: say what disturbed
            // it, and offer to run again or to wait for a quiet moment.
            out.extend(wrap_spans(
                vec![
                    Span::styled("⚠ inconclusive: ", t.warn),
                    Span::styled(reason.to_string(), t.text),
                    Span::styled(" — ", t.dim),
                    Span::styled("⏎", t.key),
                    Span::styled(" runs the step again, ", t.dim),
                    Span::styled("w", t.key),
                    Span::styled(" waits for a quiet moment", t.dim),
                ],
                width,
                2,
            ));
        }
        for w in &v.warnings {
            out.extend(wrap_spans(
                vec![Span::styled(format!("⚠ {w}"), t.warn)],
                width,
                2,
            ));
        }
        if let (Some(e), Some(r)) = (v.text_disagrees, v.right) {
            out.extend(wrap_spans(
                vec![Span::styled(
                    format!(
                        "⚠ the text below expects \"{}\", measured \"{}\": trust the measurement",
                        options[e], options[r]
                    ),
                    t.warn,
                )],
                width,
                2,
            ));
        }
        if let Some(r) = &step.reveal {
            out.extend(wrap_spans(
                vec![
                    Span::styled("lesson ", t.dim),
                    Span::styled(r.clone(), t.text),
                ],
                width,
                2,
            ));
        }
        return out;
    }
    if let Some(q) = &step.predict {
        out.extend(wrap_spans(
            vec![
                Span::styled("? ", t.accent),
                Span::styled(q.clone(), t.title),
            ],
            width,
            2,
        ));
    }
    let runs = match step.models.len() {
        _ if step.models == crate::core::Model::POOLS => "the three models in turn".to_string(),
        _ if step.models == crate::core::Model::ALL => "every model in turn".to_string(),
        _ => step
            .models
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" then "),
    };
    let mut g: Vec<Span<'static>> = Vec::new();
    if l.counting {
        // Counting hands: a key press per hand, the spread growing as they count.
        let mut c = vec![Span::styled("hands ", t.accent)];
        c.extend(spread_spans(&options, &l.hands, None, true, t));
        out.extend(wrap_spans(c, width, 6));
        out.extend(wrap_spans(
            vec![
                Span::styled("a key per hand · ", t.dim),
                Span::styled("⌫", t.key),
                Span::styled(" takes one back · ", t.dim),
                Span::styled("0", t.key),
                Span::styled(" clears · ", t.dim),
                Span::styled("v", t.key),
                Span::styled(" done · ", t.dim),
                Span::styled("⏎", t.key),
                Span::styled(format!(" runs {runs}"), t.dim),
            ],
            width,
            2,
        ));
        return out;
    }
    if l.any_hands() {
        let mut c = vec![Span::styled("room ", t.accent)];
        c.extend(spread_spans(&options, &l.hands, None, false, t));
        out.extend(wrap_spans(c, width, 5));
    }
    if step.answer_kind() == AnswerKind::Open || options.is_empty() {
        g.push(Span::styled("discuss, then ", t.dim));
    } else if let Some(guess) = &guess {
        g.push(Span::styled("guess ", t.dim));
        g.push(Span::styled(guess.clone(), t.title));
        g.push(Span::styled(" — ", t.dim));
    } else {
        g.push(Span::styled("guess: ", t.dim));
        for (i, o) in options.iter().enumerate() {
            g.push(Span::styled(format!("{}", i + 1), t.key));
            g.push(Span::styled(format!(" {o}  "), t.text));
        }
        g.push(Span::styled("then ", t.dim));
    }
    g.push(Span::styled("⏎", t.key));
    g.push(Span::styled(format!(" runs {runs}"), t.dim));
    if crate::app::stepping::offered(app) {
        g.push(Span::styled(" · ", t.dim));
        g.push(Span::styled("t", t.key));
        g.push(Span::styled(" you are the scheduler", t.dim));
    }
    if app.is_running() || step_done(app) {
        g.clear();
        if let Some(guess) = &guess {
            g.push(Span::styled("guessed ", t.dim));
            g.push(Span::styled(guess.clone(), t.title));
            g.push(Span::styled(" · ", t.dim));
        }
        g.push(Span::styled("measuring…", t.accent));
    }
    out.extend(wrap_spans(g, width, 2));
    out
}

/// Rows the panel wants (with its frame) at `width` columns.
pub fn rows_wanted(app: &App, width: u16) -> u16 {
    lines(app, width.saturating_sub(2) as usize).len() as u16 + 2
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(l) = &app.lesson() else { return };
    let t = &Theme::of(app.theme());
    let step = l.current();
    let head = format!(
        " lesson {}/{} · {} ",
        l.step + 1,
        l.lesson.steps.len(),
        step.title
    );
    let room = (area.width as usize).saturating_sub(4);
    let mut title = vec![Span::styled(fit(&head, room), t.title)];
    let rest = room.saturating_sub(head.chars().count());
    if rest > 12 {
        title.push(Span::styled(
            fit(&format!("· {} ", l.lesson.title), rest),
            t.dim,
        ));
    }
    let mut keys = vec![Span::styled(" n", t.key), Span::styled(" next  ", t.dim)];
    if area.width >= 60 {
        keys.push(Span::styled("p", t.key));
        keys.push(Span::styled(" back  ", t.dim));
    }
    keys.push(Span::styled("⏎", t.key));
    keys.push(Span::styled(" run ", t.dim));
    let b = block(Line::from(title), t, false).title_bottom(Line::from(keys).right_aligned());
    let inner = b.inner(area);
    b.render(area, buf);
    let mut body = lines(app, inner.width as usize);
    if body.len() > inner.height as usize && inner.height > 0 {
        // Never cut silently: the last row says more was there.
        body.truncate(inner.height as usize - 1);
        body.push(Line::styled("… (enlarge the terminal for the rest)", t.dim));
    }
    Paragraph::new(body).render(inner, buf);
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
        crate::app::lesson_mode::start(
            &mut app,
            crate::experiment::lesson::open("02-computing-with-the-gil").expect("shipped lesson"),
        );
        let area = Rect::new(0, 0, 100, 9);
        let mut buf = Buffer::empty(area);
        render(&app, area, &mut buf);
        let s = text(&buf);
        assert!(s.contains("lesson 1/2"), "{s}");
        assert!(s.contains("Count primes on every model"), "{s}");
        assert!(s.contains("? "), "{s}");
        assert!(s.contains("n next"), "{s}");
    }
}

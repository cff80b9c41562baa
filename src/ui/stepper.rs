//! The stepping screen: the class as the scheduler. Each thread's `counter += 1` as
//! bytecode with its next instruction marked, its value stack, the shared counter, the
//! steps so far with the schedule that replays them, and the lost update announced at
//! the store that causes it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use crate::app::App;
use crate::core::fmt::fit;
use crate::ui::theme::Theme;
use crate::workload::scenes::stepper::{INTERPRETER, Machine, PROGRAM, THREADS};

/// A value stack as Python would print a list: "[0, 1]".
fn stack_text(s: &[i64]) -> String {
    format!(
        "[{}]",
        s.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    )
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(m) = app.stepper() else { return };
    let t = &Theme::of(app.theme());
    let threads_h = PROGRAM.len() as u16 + 3;
    let [head, threads, shared, steps, news, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(threads_h),
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(area);
    let title = format!(" you are the scheduler · counter += 1 on two threads · {INTERPRETER} ");
    Paragraph::new(Line::from(vec![
        Span::styled(" conlab ", t.title.add_modifier(Modifier::REVERSED)),
        Span::styled(
            fit(&title, (head.width as usize).saturating_sub(8)),
            t.title,
        ),
    ]))
    .render(head, buf);
    let cols =
        Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).split(threads);
    for (i, col) in cols.iter().enumerate() {
        render_thread(app, m, i, *col, buf);
    }
    render_shared(app, m, shared, buf);
    render_steps(app, m, steps, buf);
    render_news(app, m, news, buf);
    let mut k = Vec::new();
    for (key, what) in [
        ("a", "A's next"),
        ("b", "B's next"),
        ("u", "undo"),
        ("r", "reset"),
        ("Esc", "back"),
        ("q", "quit"),
    ] {
        k.push(Span::styled(format!(" {key}"), t.key));
        k.push(Span::styled(format!(" {what} "), t.dim));
    }
    Paragraph::new(Line::from(k)).render(keys, buf);
}

/// One thread: its four instructions (done ✓, next ▶), then its value stack.
fn render_thread(app: &App, m: &Machine, i: usize, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let pc = m.pc(i);
    let next = !m.done(i);
    let b = block(
        Line::styled(format!(" thread {} ", THREADS[i]), t.title),
        t,
        next,
    );
    let inner = b.inner(area);
    b.render(area, buf);
    let mut lines: Vec<Line> = PROGRAM
        .iter()
        .enumerate()
        .map(|(k, (op, arg))| {
            let (mark, style) = if k < pc {
                ("✓ ", t.dim)
            } else if k == pc {
                (
                    "▶ ",
                    t.accent.add_modifier(Modifier::BOLD | Modifier::REVERSED),
                )
            } else {
                ("  ", t.text)
            };
            Line::from(vec![
                Span::styled(format!(" {mark}"), if k == pc { t.accent } else { t.dim }),
                Span::styled(
                    fit(
                        &format!("{op:<13} {arg}"),
                        (inner.width as usize).saturating_sub(4),
                    ),
                    style,
                ),
            ])
        })
        .collect();
    let stack = m.stack(i);
    let mut s = vec![
        Span::styled(" stack ", t.dim),
        Span::styled(stack_text(stack), t.title),
    ];
    if let Some(read) = m
        .steps
        .iter()
        .rev()
        .find(|s| s.thread == THREADS[i] && s.op == "LOAD_GLOBAL")
        .and_then(|s| s.stack.last())
        && !m.done(i)
    {
        s.push(Span::styled(format!(" · read counter = {read}"), t.dim));
    }
    if m.done(i) {
        s.push(Span::styled(" · done", t.ok));
    }
    lines.push(Line::from(s));
    Paragraph::new(lines).render(inner, buf);
}

/// The shared counter and what it should reach.
fn render_shared(app: &App, m: &Machine, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let b = block(Line::styled(" shared ", t.title), t, false);
    let inner = b.inner(area);
    b.render(area, buf);
    let expected = THREADS.len();
    Paragraph::new(Line::from(vec![
        Span::styled(" counter = ", t.text),
        Span::styled(m.counter.to_string(), t.title.add_modifier(Modifier::BOLD)),
        Span::styled(
            format!("   expected {expected} once both threads have added 1"),
            t.dim,
        ),
    ]))
    .render(inner, buf);
}

/// The steps so far, the latest at the bottom (the earliest scroll off a short screen).
fn render_steps(app: &App, m: &Machine, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    // The command that replays this schedule, step for step.
    let schedule = m.schedule();
    let replay = format!(
        " replay: conlab step race --schedule {} ",
        if schedule.is_empty() {
            "A,B,A"
        } else {
            &schedule
        }
    );
    let b = block(
        Line::styled(
            format!(" steps · {} of {} ", m.steps.len(), 2 * PROGRAM.len()),
            t.title,
        ),
        t,
        false,
    )
    .title_bottom(
        Line::styled(fit(&replay, (area.width as usize).saturating_sub(4)), t.dim).right_aligned(),
    );
    let inner = b.inner(area);
    b.render(area, buf);
    let lost = m.lost_update().map(|l| l.step);
    let mut lines: Vec<Line> = m
        .steps
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let style = if lost == Some(k) { t.bad } else { t.text };
            Line::from(vec![
                Span::styled(format!("{:>2} ", k + 1), t.dim),
                Span::styled(format!("{} ", s.thread), t.accent),
                Span::styled(
                    fit(
                        &format!(
                            "{:<13} {:<8} stack {:<7} counter {}",
                            s.op,
                            s.arg,
                            stack_text(&s.stack),
                            s.counter
                        ),
                        (inner.width as usize).saturating_sub(5),
                    ),
                    style,
                ),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            "nothing has run yet: who goes first? a runs A's next instruction, b runs B's",
            t.dim,
        ));
    }
    let skip = lines.len().saturating_sub(inner.height as usize);
    Paragraph::new(lines.split_off(skip)).render(inner, buf);
}

/// The news: the lost update when it happens, or how the run ended.
fn render_news(app: &App, m: &Machine, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let width = area.width as usize;
    let (text, style) = if let Some(n) = app.notice() {
        (format!(" ! {n}"), t.warn)
    } else if let Some(l) = m.lost_update() {
        let other = THREADS[usize::from(l.thread == 'A')];
        (
            format!(
                " ✗ lost update at step {}: {} stored {} over {other}'s {} — {} had read {} \
                 before {other} stored. counter = {}, expected 2.",
                l.step + 1,
                l.thread,
                l.stored,
                l.overwrote,
                l.thread,
                l.read,
                m.counter
            ),
            t.bad.add_modifier(Modifier::BOLD),
        )
    } else if m.done(0) && m.done(1) {
        (
            " ✓ both done, counter = 2: no update lost — each read the other's store".into(),
            t.ok,
        )
    } else {
        (
            " an update is lost when both threads read counter before either stores it: \
             can you make it happen?"
                .into(),
            t.dim,
        )
    };
    let lines = super::wrap(&text, width, area.height as usize);
    Paragraph::new(
        lines
            .into_iter()
            .map(|l| Line::styled(l, style))
            .collect::<Vec<_>>(),
    )
    .render(area, buf);
}

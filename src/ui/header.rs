//! The header: the settings the next run uses, each with the key that changes it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::App;
use crate::core::fmt::{fit, thousands};
use crate::exec::Model;
use crate::ui::theme::Theme;
use crate::workload::WorkKind;

fn kind_name(k: WorkKind) -> &'static str {
    match k {
        WorkKind::Cpu => "CPU-bound",
        WorkKind::Io => "I/O-bound",
        WorkKind::Mixed => "mixed",
        WorkKind::Overhead => "tiny tasks",
        WorkKind::Scene => "lesson",
    }
}

/// The runtime that ran the shown panel (a replay knows it only from the run's note),
/// else the one the next run uses (`r` clears the panels, so the two never disagree).
fn runtime_label(app: &App) -> String {
    match &app.panels()[app.focus()].runtime {
        Some(label) => label.clone(),
        None => app.settings().runtime_label(),
    }
}

/// The workers, with the CPU quota beside them when one applies (`1 · quota 0.5`).
fn workers_text(app: &App) -> String {
    let w = app.settings().workers;
    match app.cpu().given.as_ref().and_then(|g| g.cpu_quota) {
        Some(q) => format!("{w} · quota {}", crate::core::cpus_text(q)),
        None => w.to_string(),
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let s = &app.settings();
    let w = s.workload();
    let gil = if s.gil {
        format!("on · {} ms", s.switch_interval_ms)
    } else {
        "off".to_string()
    };
    let model = Model::ALL[app.selected()].name();
    let items_with = |quota: bool| -> [(&str, &str, String); 5] {
        [
            ("w", "workload", w.name().to_string()),
            ("[]", "size", thousands(s.size.into())),
            (
                "+-",
                "workers",
                if quota {
                    workers_text(app)
                } else {
                    s.workers.to_string()
                },
            ),
            ("g", "GIL", gil.clone()),
            ("←→", "model", model.to_string()),
        ]
    };
    let build = |labels: bool, quota: bool| {
        let items = items_with(quota);
        let mut spans = vec![Span::styled(
            " conlab ",
            t.title.add_modifier(Modifier::REVERSED),
        )];
        for (k, label, value) in &items {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(*k, t.key));
            spans.push(Span::raw(" "));
            if labels || *label == "GIL" || *label == "workers" {
                spans.push(Span::styled(format!("{label} "), t.dim));
            }
            spans.push(Span::styled(value.clone(), t.title));
        }
        Line::from(spans)
    };
    // The quota beside the workers where it fits (the CPU panel always says it).
    let fits = |l: &Line| l.width() <= area.width as usize;
    let line1 = [(true, true), (false, true), (true, false), (false, false)]
        .into_iter()
        .map(|(labels, quota)| build(labels, quota))
        .find(fits)
        .unwrap_or_else(|| build(false, false));
    let status = if let Some((_, i)) = app.active() {
        let queued = app.queue().len();
        format!(
            "▶ running {}{}",
            Model::ALL[i].name(),
            if queued > 0 {
                format!(" ({queued} queued)")
            } else {
                String::new()
            }
        )
    } else {
        String::new()
    };
    let kind = kind_name(w.kind());
    let desc = if w.summary().contains(kind) {
        format!(" {} · size = {}", w.summary(), w.size_meaning())
    } else {
        format!(" {} · {kind} · size = {}", w.summary(), w.size_meaning())
    };
    // The command line's other flags this workload reads come first: they change the run.
    let flags: Vec<String> = s
        .shown_flags()
        .into_iter()
        .map(|(f, v)| format!("{f} {v}"))
        .collect();
    let desc = if flags.is_empty() {
        desc
    } else {
        format!(" {} ·{desc}", flags.join(" "))
    };
    // Which runtime, with the key that switches it: always shown, the description yields.
    let runtime = format!(" {}", runtime_label(app));
    let right = status.chars().count() + 2 + runtime.chars().count() + 1;
    let room = (area.width as usize).saturating_sub(right + 1);
    let desc = fit(&desc, room);
    let pad = (area.width as usize).saturating_sub(desc.chars().count() + right);
    let line2 = Line::from(vec![
        Span::styled(desc, t.dim),
        Span::raw(" ".repeat(pad)),
        Span::styled(status, t.accent),
        Span::raw("  "),
        Span::styled("r", t.key),
        Span::styled(runtime, t.title),
        Span::raw(" "),
    ]);
    Paragraph::new(vec![line1, line2]).render(area, buf);
}

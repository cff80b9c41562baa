//! Screenshots without a terminal: replay a recording into an [`App`], render it into a
//! frame of a chosen size, write it as SVG, plain text and ANSI (deterministically: the
//! same recording gives byte-identical files); record a scenario run for real. The
//! `conlab shot` command is `commands::shot`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::{App, Settings};
use crate::exec::{CancelToken, RunSpec, Sink, Stamped};
use crate::frame::{svg, text};
use crate::monitor::CpuSample;
use crate::record::{Recorder, Recording};
use crate::replay::Player;
use crate::ui::{self, theme::Theme, theme::ThemeName};

/// A frame size such as `120x36`.
pub fn parse_frame_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("invalid --size `{s}`: expected WIDTHxHEIGHT, e.g. 120x36"))?;
    let w: u16 = w
        .trim()
        .parse()
        .map_err(|_| format!("invalid --size `{s}`: bad width"))?;
    let h: u16 = h
        .trim()
        .parse()
        .map_err(|_| format!("invalid --size `{s}`: bad height"))?;
    if !(20..=500).contains(&w) || !(8..=200).contains(&h) {
        return Err(format!(
            "invalid --size `{s}`: allowed 20..=500 columns and 8..=200 rows"
        ));
    }
    Ok((w, h))
}

/// What one screenshot shows.
#[derive(Clone, Debug)]
pub struct View {
    pub width: u16,
    pub height: u16,
    pub theme: ThemeName,
    pub help: bool,
}

/// The app after playing `rec` all the way through.
pub fn replayed_app(rec: &Recording, theme: ThemeName) -> App {
    let mut app = App::new(
        Settings::new("primes", 0, 1, true, 5.0),
        Theme::new(theme, true),
    );
    Player::new(rec.clone()).play_all(&mut app);
    app
}

/// Render `app` into a buffer of the view's size.
pub fn render(app: &mut App, view: &View) -> Buffer {
    app.size = (view.width, view.height);
    app.help = view.help;
    let area = Rect::new(0, 0, view.width, view.height);
    let mut buf = Buffer::empty(area);
    ui::render(app, area, &mut buf);
    buf
}

/// Write `<dir>/<name>.svg`, `.txt` and `.ans`; returns the SVG's path.
pub fn write_files(
    buf: &Buffer,
    dir: &Path,
    name: &str,
    title: &str,
    theme: ThemeName,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let defaults = svg::defaults_for(theme == ThemeName::Light);
    let svg_path = dir.join(format!("{name}.svg"));
    let write = |path: PathBuf, body: String| {
        std::fs::write(&path, body)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
    };
    write(svg_path.clone(), svg::render(buf, title, defaults))?;
    write(dir.join(format!("{name}.txt")), text::plain(buf))?;
    write(dir.join(format!("{name}.ans")), text::ansi(buf))?;
    Ok(svg_path)
}

/// The window title drawn atop a screenshot, from what the app shows (the one place this
/// format is written).
pub fn title_of(app: &App) -> String {
    let s = &app.settings;
    format!(
        "conlab — {} · {} workers · GIL {}",
        s.workload().name(),
        s.workers,
        if s.gil { "on" } else { "off" }
    )
}

/// Run `specs` one after another for real, recording every event and CPU sample to `path`.
pub fn record_scenario(specs: &[RunSpec], path: &Path, cancel: &CancelToken) -> anyhow::Result<()> {
    enum Item {
        Cpu(CpuSample),
        Ev(u32, Stamped),
        Failed(String),
    }
    let recorder = Recorder::create(path)?;
    let (tx, rx) = crossbeam_channel::unbounded::<Item>();
    let _monitor = crate::monitor::spawn(tx.clone(), Item::Cpu)?;
    let t0 = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let runs_tx = tx;
        scope.spawn(move || {
            for (n, spec) in specs.iter().enumerate() {
                let events = runs_tx.clone();
                let sink = Sink::new(move |ev| {
                    let _ = events.send(Item::Ev(n as u32, ev));
                });
                match crate::runtime::run(spec, &sink, cancel) {
                    Ok(r) if r.cancelled => {
                        let _ = runs_tx.send(Item::Failed("cancelled".into()));
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = runs_tx.send(Item::Failed(e.to_string()));
                        return;
                    }
                }
            }
            let _ = runs_tx.send(Item::Failed(String::new()));
        });
        for item in rx.iter() {
            match item {
                // Samples only from the first run's start: the recording is of the runs.
                Item::Cpu(s) if t0.elapsed().as_millis() > 0 => {
                    recorder.cpu(serde_json::to_value(s)?);
                }
                Item::Cpu(_) => {}
                Item::Ev(n, ev) => recorder.event(n, &ev),
                Item::Failed(e) if e.is_empty() => break,
                Item::Failed(e) => anyhow::bail!("the scenario stopped: {e}"),
            }
        }
        Ok(())
    })?;
    recorder.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes() {
        assert_eq!(parse_frame_size("120x36"), Ok((120, 36)));
        assert_eq!(parse_frame_size("80X24"), Ok((80, 24)));
        assert!(
            parse_frame_size("120")
                .expect_err("invalid")
                .contains("WIDTHxHEIGHT")
        );
        assert!(
            parse_frame_size("5x5")
                .expect_err("invalid")
                .contains("allowed")
        );
        assert!(parse_frame_size("ax5").is_err());
    }
}

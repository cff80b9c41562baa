//! Screenshots without a terminal: replay a recording into an [`App`], render it into a
//! frame of a chosen size, write it as SVG, plain text and ANSI (deterministically: the
//! same recording gives byte-identical files); play a recording into frames at a fixed
//! rate for an animated SVG or an asciicast; record a scenario run for real. The
//! `conlab shot` command is `commands::shot`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::{App, Msg, Settings};
use crate::exec::{CancelToken, RunSpec, Sink, Stamped};
use crate::frame::animate::{Animation, Loop};
use crate::frame::cast::Cast;
use crate::frame::{svg, text};
use crate::observe::monitor::CpuSample;
use crate::recording::record::{Entry, Recorder, Recording};
use crate::recording::replay::Player;
use crate::ui::{self, theme::Theme, theme::ThemeName};

/// A frame size such as `120x36`.
pub fn parse_frame_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("invalid --frame `{s}`: expected WIDTHxHEIGHT, e.g. 120x36"))?;
    let w: u16 = w
        .trim()
        .parse()
        .map_err(|_| format!("invalid --frame `{s}`: bad width"))?;
    let h: u16 = h
        .trim()
        .parse()
        .map_err(|_| format!("invalid --frame `{s}`: bad height"))?;
    if !(20..=500).contains(&w) || !(8..=200).contains(&h) {
        return Err(format!(
            "invalid --frame `{s}`: allowed 20..=500 columns and 8..=200 rows"
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
    /// Presenter mode (`--present`).
    pub present: bool,
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
    app.update(Msg::Resize(view.width, view.height));
    app.update(Msg::Help(view.help));
    app.update(Msg::Present(view.present));
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
    // Whole or not at all: a full disk leaves no truncated picture.
    let write = |path: PathBuf, body: String| {
        crate::sys::atomic_file::write(&path, body.as_bytes())
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
    let s = &app.settings();
    format!(
        "conlab — {} · {} workers · GIL {}",
        s.workload().name(),
        s.workers,
        if s.gil { "on" } else { "off" }
    )
}

/// How a recording becomes frames: `fps` frames per second of picture time, recording
/// time running `speed` times as fast as picture time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Motion {
    pub fps: f64,
    pub speed: f64,
}

impl Default for Motion {
    /// The dashboard's own redraw rate, in real time.
    fn default() -> Self {
        Motion {
            fps: 1.0 / crate::ui::FRAME.as_secs_f64(),
            speed: 1.0,
        }
    }
}

/// How long the last frame stays before the picture starts again.
pub const HOLD: Duration = Duration::from_secs(3);
/// More frames than this is refused (lower --fps or raise --speed).
pub const MAX_FRAMES: u64 = 20_000;

/// Check `--fps` and `--speed`, naming the flag.
pub fn check_motion(m: Motion) -> Result<Motion, String> {
    if !(m.fps.is_finite() && (0.5..=60.0).contains(&m.fps)) {
        return Err(format!("invalid --fps: {} (allowed 0.5..=60)", m.fps));
    }
    if !(m.speed.is_finite() && (0.05..=100.0).contains(&m.speed)) {
        return Err(format!("invalid --speed: {} (allowed 0.05..=100)", m.speed));
    }
    Ok(m)
}

/// Play `rec` into a fresh app and hand `each` a frame of the view every `1/fps` seconds
/// of picture time, with its time in seconds: from the first run's start to the
/// recording's end. Then the finished dashboard once more — showing panel `final_panel`
/// if given — held for [`HOLD`]. Returns the cycle's length in seconds.
pub fn play_frames(
    rec: &Recording,
    view: &View,
    motion: Motion,
    final_panel: Option<usize>,
    mut each: impl FnMut(&Buffer, f64),
) -> Result<f64, String> {
    let start = rec
        .entries
        .iter()
        .find(|e| matches!(e, Entry::Event { .. }))
        .map_or(0, Entry::t_us);
    let end = rec.entries.last().map_or(0, Entry::t_us);
    let span_s = end.saturating_sub(start) as f64 / 1e6;
    let last = (span_s / motion.speed * motion.fps).ceil() as u64;
    if last + 2 > MAX_FRAMES {
        return Err(format!(
            "{:.1} s of recording at --fps {} and --speed {} makes {} frames (at most {MAX_FRAMES}): lower --fps or raise --speed",
            span_s,
            motion.fps,
            motion.speed,
            last + 2
        ));
    }
    let mut app = App::new(
        Settings::new("primes", 0, 1, true, 5.0),
        Theme::new(view.theme, true),
    );
    let mut player = Player::new(rec.clone());
    for k in 0..=last {
        let at_s = k as f64 / motion.fps;
        let rec_us = start + (at_s * motion.speed * 1e6).round() as u64;
        player.play_until(&mut app, Duration::from_micros(rec_us.min(end)));
        each(&render(&mut app, view), at_s);
    }
    player.play_all(&mut app);
    if let Some(panel) = final_panel {
        app.update(Msg::Select(panel));
    }
    let at_s = (last + 1) as f64 / motion.fps;
    each(&render(&mut app, view), at_s);
    Ok(at_s + HOLD.as_secs_f64())
}

/// What an animation or a cast came to: frames rendered, pictures or events stored, bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MotionStats {
    pub frames: usize,
    pub stored: usize,
    pub bytes: usize,
}

/// Which moving pictures to make of one recording.
#[derive(Clone, Debug, Default)]
pub struct MotionOut {
    /// An animated SVG, played this many times.
    pub svg: Option<(PathBuf, Loop)>,
    /// An asciicast.
    pub cast: Option<PathBuf>,
    /// The asciicast as v3 (asciinema 3's default) instead of v2.
    pub cast_v3: bool,
}

/// Render `rec` once into every moving picture `out` asks for, titled `title`; returns
/// each file with what it holds.
pub fn write_motion(
    rec: &Recording,
    view: &View,
    motion: Motion,
    final_panel: Option<usize>,
    title: &str,
    out: &MotionOut,
) -> anyhow::Result<Vec<(PathBuf, MotionStats)>> {
    let defaults = svg::defaults_for(view.theme == ThemeName::Light);
    let mut anim = out.svg.as_ref().map(|_| Animation::new(title, defaults));
    let mut cast = out.cast.as_ref().map(|_| {
        if out.cast_v3 {
            Cast::new_v3(view.width, view.height, title)
        } else {
            Cast::new(view.width, view.height, title)
        }
    });
    let mut frames = 0;
    let cycle = play_frames(rec, view, motion, final_panel, |buf, at| {
        frames += 1;
        if let Some(a) = &mut anim {
            a.frame(buf, at);
        }
        if let Some(c) = &mut cast {
            c.frame(buf, at);
        }
    })
    .map_err(anyhow::Error::msg)?;
    let mut written = Vec::new();
    let mut write = |path: &Path, stored: usize, body: String| -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        crate::sys::atomic_file::write(path, body.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        let bytes = body.len();
        let stats = MotionStats {
            frames,
            stored,
            bytes,
        };
        written.push((path.to_path_buf(), stats));
        Ok(())
    };
    if let (Some(a), Some((path, loops))) = (anim, &out.svg) {
        write(path, a.pictures(), a.finish(cycle, *loops))?;
    }
    if let (Some(c), Some(path)) = (cast, &out.cast) {
        write(path, c.events(), c.finish(cycle))?;
    }
    Ok(written)
}

/// Run `specs` one after another for real, recording every event and CPU sample to `path`.
pub fn record_scenario(specs: &[RunSpec], path: &Path, cancel: &CancelToken) -> anyhow::Result<()> {
    record_scenario_on(&crate::runtime::NativeRunner, specs, path, cancel)
}

/// [`record_scenario`] on any runtime's runner.
pub fn record_scenario_on(
    runner: &dyn crate::exec::Runner,
    specs: &[RunSpec],
    path: &Path,
    cancel: &CancelToken,
) -> anyhow::Result<()> {
    enum Item {
        Cpu(CpuSample),
        Ev(u32, Stamped),
        Failed(String),
    }
    let recorder = Recorder::create(path)?;
    let (tx, rx) = crossbeam_channel::unbounded::<Item>();
    let _monitor = crate::observe::monitor::spawn(tx.clone(), Item::Cpu)?;
    let t0 = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let runs_tx = tx;
        scope.spawn(move || {
            for (n, spec) in specs.iter().enumerate() {
                let events = runs_tx.clone();
                let sink = Sink::new(move |ev| {
                    let _ = events.send(Item::Ev(n as u32, ev));
                });
                match runner.run(spec, &sink, cancel) {
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
    recorder
        .finish()
        .map_err(|e| anyhow::anyhow!("cannot write recording {}: {e}", path.display()))?;
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
        // It is --frame's value: the error names --frame, not the workload's --size.
        let err = parse_frame_size("0x0").expect_err("invalid");
        assert!(err.contains("--frame") && !err.contains("--size"), "{err}");
    }
}

//! `conlab shot`: render the dashboard headlessly into a frame of a chosen size and write
//! it as SVG, plain text and ANSI — after running a scenario for real, or from a recording
//! (deterministically: the same recording gives byte-identical files). `--all` regenerates
//! every screenshot committed under `screenshots/` from `assets/recordings/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::{App, Settings};
use crate::cli::{OnOff, ShotArgs};
use crate::exec::{self, CancelToken, Model, RunSpec, Sink, Stamped};
use crate::frame::{svg, text};
use crate::headless::{CliError, cancel_on_ctrl_c};
use crate::monitor::CpuSample;
use crate::record::{self, Recorder, Recording};
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
                match exec::run(spec, &sink, cancel) {
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

/// One committed screenshot: which recording, how it is shown, and the scenario that
/// made the recording (for `--all --rerecord`).
struct Scene {
    name: &'static str,
    recording: &'static str,
    theme: ThemeName,
    help: bool,
    workload: &'static str,
    gil: bool,
}

const SCENES: &[Scene] = &[
    Scene {
        name: "cpu-gil-on",
        recording: "primes-gil-on",
        theme: ThemeName::Dark,
        help: false,
        workload: "primes",
        gil: true,
    },
    Scene {
        name: "cpu-gil-off",
        recording: "primes-gil-off",
        theme: ThemeName::Dark,
        help: false,
        workload: "primes",
        gil: false,
    },
    Scene {
        name: "io-bound",
        recording: "io-gil-on",
        theme: ThemeName::Dark,
        help: false,
        workload: "sleep",
        gil: true,
    },
    Scene {
        name: "help",
        recording: "primes-gil-on",
        theme: ThemeName::Dark,
        help: true,
        workload: "primes",
        gil: true,
    },
    Scene {
        name: "light-theme",
        recording: "primes-gil-on",
        theme: ThemeName::Light,
        help: false,
        workload: "primes",
        gil: true,
    },
];

/// Frame size of the committed screenshots.
const ALL_SIZE: (u16, u16) = (120, 36);

fn scenario_specs(workload: &str, workers: usize, gil: bool, models: &[Model]) -> Vec<RunSpec> {
    models
        .iter()
        .map(|&m| {
            let mut s = RunSpec::new(workload, m, workers);
            s.gil.enabled = gil;
            s
        })
        .collect()
}

fn all_command(args: &ShotArgs, cancel: &CancelToken) -> Result<ExitCode, CliError> {
    let rec_dir = args.recordings.clone();
    if args.rerecord {
        let mut done = std::collections::HashSet::new();
        for scene in SCENES {
            if !done.insert(scene.recording) {
                continue;
            }
            let path = rec_dir.join(format!("{}.jsonl", scene.recording));
            eprintln!("recording {} …", path.display());
            std::fs::create_dir_all(&rec_dir).map_err(|e| CliError::Other(e.into()))?;
            let specs = scenario_specs(
                scene.workload,
                crate::cli::default_workers(),
                scene.gil,
                &Model::ALL,
            );
            record_scenario(&specs, &path, cancel)?;
        }
    }
    for scene in SCENES {
        let path = rec_dir.join(format!("{}.jsonl", scene.recording));
        let rec = record::load(&path).map_err(|e| {
            CliError::Usage(format!(
                "{e} (run `conlab shot --all --rerecord` to make it)"
            ))
        })?;
        let view = View {
            width: ALL_SIZE.0,
            height: ALL_SIZE.1,
            theme: scene.theme,
            help: scene.help,
        };
        let mut app = replayed_app(&rec, scene.theme);
        // Show the threads panel's timeline: the picture that explains the GIL.
        app.selected = 1;
        let buf = render(&mut app, &view);
        let out = write_files(&buf, &args.out, scene.name, &title_of(&app), scene.theme)?;
        println!("{}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn shot_command(args: &ShotArgs) -> Result<ExitCode, CliError> {
    let (width, height) = parse_frame_size(&args.size).map_err(CliError::Usage)?;
    let cancel = CancelToken::new();
    cancel_on_ctrl_c(&cancel);
    if args.all {
        return all_command(args, &cancel);
    }
    let rec = match &args.from {
        Some(path) => record::load(path).map_err(|e| CliError::Usage(e.to_string()))?,
        None => {
            let w = crate::workload::find(&args.workload).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown workload `{}`; choose one of: {}",
                    args.workload,
                    crate::workload::names().join(", ")
                ))
            })?;
            let workers = args.workers.unwrap_or_else(crate::cli::default_workers);
            let mut specs = scenario_specs(w.name(), workers, args.gil == OnOff::On, &args.models);
            for s in &mut specs {
                s.args.size = args.work_size.unwrap_or(0);
                s.args.tasks = args.tasks.unwrap_or(0);
                s.args
                    .clone()
                    .resolve(w)
                    .map_err(|e| CliError::Usage(e.to_string().replace("--size", "--work-size")))?;
            }
            let tmp;
            let path = match &args.record {
                Some(p) => p.clone(),
                None => {
                    tmp = tempfile_path()?;
                    tmp.clone()
                }
            };
            record_scenario(&specs, &path, &cancel)?;
            let rec = record::load(&path).map_err(|e| CliError::Other(e.into()))?;
            if args.record.is_none() {
                let _ = std::fs::remove_file(&path);
            }
            rec
        }
    };
    let view = View {
        width,
        height,
        theme: args.theme,
        help: args.help_overlay,
    };
    let mut app = replayed_app(&rec, args.theme);
    let buf = render(&mut app, &view);
    let name = args.name.clone().unwrap_or_else(|| {
        format!(
            "{}-gil-{}-{}x{}",
            app.settings.workload().name(),
            if app.settings.gil { "on" } else { "off" },
            width,
            height
        )
    });
    let out = write_files(&buf, &args.out, &name, &title_of(&app), args.theme)?;
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn tempfile_path() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir();
    Ok(dir.join(format!("conlab-shot-{}.jsonl", std::process::id())))
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

    #[test]
    fn committed_recordings_render_byte_identically() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/recordings");
        for scene in SCENES {
            let path = dir.join(format!("{}.jsonl", scene.recording));
            let rec = record::load(&path).expect("committed recording loads");
            let view = View {
                width: 120,
                height: 36,
                theme: scene.theme,
                help: scene.help,
            };
            let mut app = replayed_app(&rec, scene.theme);
            app.selected = 1;
            let a = render(&mut app, &view);
            let mut again = replayed_app(&rec, scene.theme);
            again.selected = 1;
            let b = render(&mut again, &view);
            let title = "t";
            assert_eq!(
                svg::render(&a, title, svg::defaults_for(false)),
                svg::render(&b, title, svg::defaults_for(false)),
                "{}",
                scene.name
            );
            // What is committed is what the recording renders to.
            let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("screenshots")
                .join(format!("{}.txt", scene.name));
            let expected = std::fs::read_to_string(&committed).expect("committed screenshot");
            assert_eq!(
                text::plain(&a),
                expected,
                "{} is stale: run `conlab shot --all`",
                scene.name
            );
        }
    }
}

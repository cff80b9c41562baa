//! `conlab shot`: a screenshot of the dashboard after running a scenario for real or from a
//! recording — a still, or with `--animate`/`--cast` the run as it unfolded; `--all`
//! regenerates every screenshot committed under `screenshots/` (stills and animations)
//! from `assets/recordings/`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::Msg;
use crate::cli::{OnOff, ShotArgs};
use crate::commands::ctrl_c::cancel_on_ctrl_c;
use crate::commands::error::CliError;
use crate::exec::{CancelToken, Model, RunSpec};
use crate::frame::animate::Loop;
use crate::recording::record;
use crate::recording::shot::{
    Motion, MotionOut, MotionStats, View, check_motion, parse_frame_size, record_scenario, render,
    replayed_app, title_of, write_files, write_motion,
};
use crate::ui::theme::ThemeName;

/// One committed screenshot: which recording, how it is shown, and the scenario that
/// made the recording (for `--all --rerecord`).
struct Scene {
    name: &'static str,
    recording: &'static str,
    theme: ThemeName,
    help: bool,
    workload: &'static str,
    gil: bool,
    /// Also `<name>-animated.svg` and `<name>.cast`: the run as it unfolded.
    moving: bool,
    /// The picture's size in cells.
    frame: (u16, u16),
    /// Presenter mode.
    present: bool,
}

impl Scene {
    /// How the scene is drawn: its frame, theme, help overlay and presenter mode.
    fn view(&self) -> View {
        View {
            width: self.frame.0,
            height: self.frame.1,
            theme: self.theme,
            help: self.help,
            present: self.present,
        }
    }
}

/// The usual scene: the dark theme over the primes recording with the GIL on, at
/// [`ALL_SIZE`], a still; each scene below says how it differs.
const PRIMES: Scene = Scene {
    name: "",
    recording: "primes-gil-on",
    theme: ThemeName::Dark,
    help: false,
    workload: "primes",
    gil: true,
    moving: false,
    frame: ALL_SIZE,
    present: false,
};

const SCENES: &[Scene] = &[
    Scene {
        name: "cpu-gil-on",
        moving: true,
        ..PRIMES
    },
    Scene {
        name: "cpu-gil-off",
        recording: "primes-gil-off",
        gil: false,
        moving: true,
        ..PRIMES
    },
    Scene {
        name: "io-bound",
        recording: "io-gil-on",
        workload: "sleep",
        moving: true,
        ..PRIMES
    },
    Scene {
        name: "help",
        help: true,
        ..PRIMES
    },
    Scene {
        name: "light-theme",
        theme: ThemeName::Light,
        ..PRIMES
    },
    Scene {
        name: "big-screen",
        frame: (200, 60),
        ..PRIMES
    },
    Scene {
        name: "presenter",
        frame: (100, 30),
        present: true,
        ..PRIMES
    },
];

/// Frame size of the committed screenshots (but the big screen's and the presenter's).
const ALL_SIZE: (u16, u16) = (120, 36);

/// The panel the committed screenshots show at the end: threads, whose timeline is the
/// picture that explains the GIL.
const ALL_PANEL: usize = 1;

/// Where `--all` writes a scene's moving pictures.
fn moving_out(dir: &std::path::Path, name: &str) -> MotionOut {
    MotionOut {
        svg: Some((dir.join(format!("{name}-animated.svg")), Loop::Infinite)),
        cast: Some(dir.join(format!("{name}.cast"))),
        cast_v3: false,
    }
}

fn print_motion(written: &[(PathBuf, MotionStats)]) {
    for (path, s) in written {
        let what = if path.extension().is_some_and(|e| e == "cast") {
            "output events"
        } else {
            "distinct pictures"
        };
        crate::outln!(
            "{}  ({} frames, {} {what}, {:.0} KB)",
            path.display(),
            s.frames,
            s.stored,
            s.bytes as f64 / 1024.0
        );
    }
}

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

/// A spinner on stderr while a scenario runs, when stderr is a terminal.
fn running_spinner(msg: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let s = indicatif::ProgressBar::new_spinner().with_message(msg.to_string());
    s.enable_steady_tick(std::time::Duration::from_millis(100));
    Some(s)
}

fn all_command(args: &ShotArgs, cancel: &CancelToken) -> Result<ExitCode, CliError> {
    let rec_dir = args.recordings.clone();
    if !rec_dir.is_dir() && !args.rerecord {
        return Err(CliError::Usage(format!(
            "`shot --all` regenerates the screenshots of a conlab checkout from its \
             recordings, and there is no {} here: run it from the repository's root \
             (or point --recordings at them); `conlab shot --workload NAME` or \
             `--from FILE` work anywhere",
            rec_dir.display()
        )));
    }
    if args.rerecord {
        let mut done = std::collections::HashSet::new();
        for scene in SCENES {
            if !done.insert(scene.recording) {
                continue;
            }
            let path = rec_dir.join(format!("{}.jsonl", scene.recording));
            eprintln!(
                "recording {} (runs every model, a few seconds) …",
                path.display()
            );
            std::fs::create_dir_all(&rec_dir).map_err(|e| CliError::Other(e.into()))?;
            let specs = scenario_specs(
                scene.workload,
                crate::core::default_workers(),
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
        let view = scene.view();
        let mut app = replayed_app(&rec, scene.theme);
        app.update(Msg::Select(ALL_PANEL));
        let buf = render(&mut app, &view);
        let title = title_of(&app);
        let out = write_files(&buf, &args.out, scene.name, &title, scene.theme)?;
        crate::outln!("{}", out.display());
        if scene.moving {
            let written = write_motion(
                &rec,
                &view,
                Motion::default(),
                Some(ALL_PANEL),
                &title,
                &moving_out(&args.out, scene.name),
            )?;
            print_motion(&written);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn shot_command(args: &ShotArgs) -> Result<ExitCode, CliError> {
    let (width, height) = parse_frame_size(&args.frame).map_err(|e| {
        if args.frame.trim().parse::<u64>().is_ok() {
            CliError::Usage(format!(
                "{e} (--frame is the picture's size; the workload's size is --size)"
            ))
        } else {
            CliError::Usage(e)
        }
    })?;
    let motion = check_motion(Motion {
        fps: args.fps,
        speed: args.speed,
    })
    .map_err(CliError::Usage)?;
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
            let workers = args.workers.unwrap_or_else(crate::core::default_workers);
            let mut specs = scenario_specs(w.name(), workers, args.gil == OnOff::On, &args.models);
            for s in &mut specs {
                s.args.size = args.size.unwrap_or(0);
                s.args.tasks = args.tasks.unwrap_or(0);
                s.args
                    .clone()
                    .resolve(w)
                    .map_err(|e| CliError::Usage(e.to_string()))?;
            }
            let tmp;
            let path = match &args.record {
                Some(p) => p.clone(),
                None => {
                    tmp = tempfile_path()?;
                    tmp.clone()
                }
            };
            let runtime = crate::runtime::prepare(&args.runtime.choice().map_err(CliError::Usage)?)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let spinner = running_spinner(&format!(
                "running {} on {} …",
                w.name(),
                args.models
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let ran = crate::recording::shot::record_scenario_on(
                runtime.runner.as_ref(),
                &specs,
                &path,
                &cancel,
            );
            if let Some(s) = spinner {
                s.finish_and_clear();
            }
            ran?;
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
        present: args.present,
    };
    let mut app = replayed_app(&rec, args.theme);
    if args.animate.is_some() || args.cast.is_some() {
        let out = MotionOut {
            svg: args.animate.clone().map(|p| (p, args.loops)),
            cast: args.cast.clone(),
            cast_v3: args.cast_v3,
        };
        let written = write_motion(&rec, &view, motion, None, &title_of(&app), &out)?;
        print_motion(&written);
        return Ok(ExitCode::SUCCESS);
    }
    let buf = render(&mut app, &view);
    let name = args.name.clone().unwrap_or_else(|| {
        format!(
            "{}-gil-{}-{}x{}",
            app.settings().workload().name(),
            if app.settings().gil { "on" } else { "off" },
            width,
            height
        )
    });
    let out = write_files(&buf, &args.out, &name, &title_of(&app), args.theme)?;
    crate::outln!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn tempfile_path() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir();
    Ok(dir.join(format!("conlab-shot-{}.jsonl", std::process::id())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{svg, text};
    use std::path::Path;

    #[test]
    fn committed_recordings_render_byte_identically() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/recordings");
        for scene in SCENES {
            let path = dir.join(format!("{}.jsonl", scene.recording));
            let rec = record::load(&path).expect("committed recording loads");
            let view = scene.view();
            let mut app = replayed_app(&rec, scene.theme);
            app.update(Msg::Select(1));
            let a = render(&mut app, &view);
            let mut again = replayed_app(&rec, scene.theme);
            again.update(Msg::Select(1));
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

    /// `shot --all`'s moving pictures are what the committed recordings give, byte for
    /// byte, every time; each animation is valid XML with at least 20 pictures and at most
    /// 1.5 MB.
    #[test]
    fn committed_animations_are_reproducible_and_small() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let tmp = tempfile::tempdir().expect("tempdir");
        for scene in SCENES.iter().filter(|s| s.moving) {
            let rec =
                record::load(&root.join(format!("assets/recordings/{}.jsonl", scene.recording)))
                    .expect("committed recording loads");
            let view = scene.view();
            let mut app = replayed_app(&rec, scene.theme);
            app.update(Msg::Select(ALL_PANEL));
            let title = title_of(&app);
            let mut bytes = Vec::new();
            for run in ["a", "b"] {
                let dir = tmp.path().join(run);
                let out = moving_out(&dir, scene.name);
                write_motion(
                    &rec,
                    &view,
                    Motion::default(),
                    Some(ALL_PANEL),
                    &title,
                    &out,
                )
                .expect("writes");
                let svg = std::fs::read(dir.join(format!("{}-animated.svg", scene.name)))
                    .expect("svg written");
                let cast =
                    std::fs::read(dir.join(format!("{}.cast", scene.name))).expect("cast written");
                bytes.push((svg, cast));
            }
            assert_eq!(
                bytes[0], bytes[1],
                "{}: the same recording, the same bytes",
                scene.name
            );
            let (svg, cast) = &bytes[0];
            let text = std::str::from_utf8(svg).expect("utf-8");
            roxmltree::Document::parse(text).expect("valid XML");
            let pictures = crate::frame::animate::count_layers(text) + 1;
            assert!(pictures >= 20, "{}: {pictures} pictures", scene.name);
            assert!(
                svg.len() <= 1_500_000,
                "{}: {} bytes",
                scene.name,
                svg.len()
            );
            for (file, made) in [
                (format!("{}-animated.svg", scene.name), svg),
                (format!("{}.cast", scene.name), cast),
            ] {
                let committed =
                    std::fs::read(root.join("screenshots").join(&file)).unwrap_or_default();
                assert!(
                    committed == *made,
                    "screenshots/{file} is stale: run `conlab shot --all`"
                );
            }
        }
    }
}

//! `conlab shot`: a screenshot of the dashboard after running a scenario for real or from a
//! recording; `--all` regenerates every screenshot committed under `screenshots/` from
//! `assets/recordings/`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{OnOff, ShotArgs};
use crate::exec::{CancelToken, Model, RunSpec};
use crate::headless::{CliError, cancel_on_ctrl_c};
use crate::record;
use crate::shot::{
    View, parse_frame_size, record_scenario, render, replayed_app, title_of, write_files,
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
            let runtime = crate::runtime::prepare(&args.runtime.choice().map_err(CliError::Usage)?)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            crate::shot::record_scenario_on(runtime.runner.as_ref(), &specs, &path, &cancel)?;
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
    use crate::frame::{svg, text};
    use std::path::Path;

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

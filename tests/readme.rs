//! The README runs as written: every `conlab …` line in its code blocks is run with the
//! built binary, with sizes and waits shortened so the whole test stays short. Commands
//! that open the dashboard run in a pseudo-terminal until it draws, then get `q`; a
//! command that needs what this machine lacks (python3) is skipped with the reason
//! printed. A documented command that fails fails this test.

mod common;

use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Every `conlab …` line in the README's fenced code blocks, comments cut off.
fn readme_commands(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let line = line.split(" #").next().unwrap_or(line).trim();
        if fenced && (line == "conlab" || line.starts_with("conlab ")) {
            out.push(line.split_whitespace().skip(1).map(String::from).collect());
        }
    }
    out
}

/// The same command, quicker: smaller sizes, shorter waits, one repeat, a free port, and
/// `shot --all` writing into `tmp` instead of the committed screenshots.
fn shorten(args: &[String], tmp: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        out.push(a.clone());
        let cap = match a.as_str() {
            "--size" => Some(200_000u64),
            "--delay-ms" => Some(50),
            "--repeat" => Some(1),
            _ => None,
        };
        if let Some(cap) = cap
            && let Some(v) = it.next()
        {
            let n: u64 = v.parse().expect("a number");
            out.push(n.min(cap).to_string());
        }
        if a == "--port" && it.next().is_some() {
            out.push("0".into());
        }
    }
    match out.first().map(String::as_str) {
        Some("shot") if out.iter().any(|a| a == "--all") && !out.iter().any(|a| a == "--out") => {
            out.extend(["--out".into(), tmp.display().to_string()]);
        }
        Some("fidelity") => {
            if !out.iter().any(|a| a == "--size") {
                out.extend(["--size".into(), "20000".into()]);
            }
            out.push("--no-convoy".into());
        }
        Some("compare" | "run")
            if !out.iter().any(|a| a == "--size") && out.iter().any(|a| a == "primes") =>
        {
            out.extend(["--size".into(), "200000".into()]);
        }
        _ => {}
    }
    out
}

/// Opens the dashboard (or an interactive watch) and so needs a terminal.
fn interactive(args: &[String]) -> bool {
    match args.first().map(String::as_str) {
        None => true,
        Some(a) if a.starts_with('-') => true,
        Some("tui") => true,
        Some("lesson") => !args.iter().any(|a| a == "--list" || a == "--auto"),
        Some("replay") => !args.iter().any(|a| a == "--trace"),
        Some("watch") => !args.iter().any(|a| a == "--headless"),
        _ => false,
    }
}

/// Why the command cannot run here, if it cannot.
fn skip_reason(args: &[String]) -> Option<String> {
    let needs_python = args.iter().any(|a| a == "python3" || a == "cpython")
        || args.first().is_some_and(|a| a == "fidelity");
    if needs_python && let Err(why) = common::python3() {
        return Some(why);
    }
    None
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_conlab")
}

/// A long-running server: it must say where it listens, then it is stopped.
fn run_server(args: &[String]) -> Result<(), String> {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let said = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    match said {
        Ok(s) if s.contains("listening on") => Ok(()),
        Ok(s) => Err(format!("its first line does not say where it listens: {s}")),
        Err(_) => Err("said nothing within 30 s".into()),
    }
}

/// Run in a pseudo-terminal until the screen shows `conlab`, press `q`, expect exit 0 (or,
/// for `watch`, the exit code of the program it stopped, which it passes through).
fn run_in_pty(args: &[String]) -> Result<(), String> {
    let passes_code_through = args.first().is_some_and(|a| a == "watch");
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|e| e.to_string())?;
    let mut cmd = CommandBuilder::new(bin());
    cmd.args(args);
    cmd.cwd(env!("CARGO_MANIFEST_DIR"));
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).map_err(|e| e.to_string())?;
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(24).expect("rows"),
        std::num::NonZeroU16::new(80).expect("cols"),
        0,
    )));
    let mut reader = pair.master.try_clone_reader().map_err(|e| e.to_string())?;
    let feed = parser.clone();
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().expect("parser").process(&buf[..n]);
        }
    });
    let mut writer = pair.master.take_writer().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let drawn = loop {
        let s = parser.lock().expect("parser").screen().contents();
        if s.contains("conlab") || s.contains("watch") {
            break Ok(());
        }
        if let Ok(Some(st)) = child.try_wait() {
            break Err(format!("exited before drawing ({st:?}):\n{s}"));
        }
        if start.elapsed() > Duration::from_secs(30) {
            break Err(format!("drew nothing within 30 s:\n{s}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.write_all(b"q");
    let _ = writer.flush();
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break Some(st);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(writer);
    drop(pair.master);
    let _ = pump.join();
    drawn?;
    match status {
        Some(st) if st.success() => Ok(()),
        Some(st) if passes_code_through && st.exit_code() >= 128 => Ok(()),
        Some(st) => Err(format!("q did not end it cleanly: {st:?}")),
        None => Err("still running 60 s after q".into()),
    }
}

fn run_headless(args: &[String]) -> Result<(), String> {
    let out = Command::new(bin())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn the_readme_extraction_finds_the_tour() {
    let text = include_str!("../README.md");
    let cmds = readme_commands(text);
    assert!(cmds.len() >= 10, "{cmds:?}");
    assert!(
        cmds.iter()
            .any(|c| c.first().is_some_and(|a| a == "--present"))
    );
    let tmp = Path::new("/tmp/x");
    let short = shorten(
        &["run", "--size", "2000000", "--port", "8080"].map(String::from),
        tmp,
    );
    assert_eq!(short, ["run", "--size", "200000", "--port", "0"]);
}

#[test]
fn every_command_in_the_readme_runs() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let tmp = std::env::temp_dir().join(format!("conlab-readme-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("a temporary directory");
    let mut failed = Vec::new();
    for args in readme_commands(&text) {
        let shown = format!("conlab {}", args.join(" "));
        if let Some(why) = skip_reason(&args) {
            println!("skipped `{shown}`: {why}");
            continue;
        }
        let short = shorten(&args, &tmp);
        let result = if args.first().is_some_and(|a| a == "serve") {
            run_server(&short)
        } else if interactive(&args) {
            run_in_pty(&short)
        } else {
            run_headless(&short)
        };
        match result {
            Ok(()) => println!("ran `conlab {}`", short.join(" ")),
            Err(e) => failed.push(format!(
                "`{shown}` (run as `conlab {}`): {e}",
                short.join(" ")
            )),
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        failed.is_empty(),
        "documented commands failed:\n{}",
        failed.join("\n\n")
    );
}

/// English words for the counts the prose gives ("Sixteen lessons ship").
const WORDS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// Counts written in prose come from the code: the lessons that ship and the models.
#[test]
fn counts_in_the_prose_come_from_the_code() {
    let lessons = WORDS[conlab::experiment::lesson::SHIPPED.len()];
    let models = WORDS[conlab::core::Model::ALL.len()];
    for page in ["README.md", "docs/lessons.md"] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(page))
            .expect("page");
        let low = text.to_lowercase();
        assert!(
            low.contains(&format!("{lessons} lessons ship")),
            "{page} should say \"{lessons} lessons ship\""
        );
    }
    let help = Command::new(bin())
        .arg("--help")
        .output()
        .expect("conlab --help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains(&format!("{models} execution models")),
        "--help should say \"{models} execution models\":\n{help}"
    );
}

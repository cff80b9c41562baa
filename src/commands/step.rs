//! `conlab step race --schedule A,B,A`: the student as the scheduler. Each letter runs
//! that thread's next bytecode instruction of `counter += 1`; then A finishes, then B;
//! prints the steps, the final `counter` and the `expected` value (or `--json`).

use std::process::ExitCode;

use super::error::CliError;
use crate::cli::StepArgs;
use crate::core::LabError;
use crate::workload::scenes::stepper;

pub fn step_command(args: &StepArgs) -> Result<ExitCode, CliError> {
    if args.scene != "race" {
        return Err(LabError::refused(format!(
            "`{}`: only the race scene can be stepped (conlab step race --schedule A,B,A)",
            args.scene
        ))
        .into());
    }
    let schedule = stepper::parse_schedule(&args.schedule)?;
    let s = stepper::run(&schedule)?;
    let text = if args.json {
        serde_json::to_string_pretty(&s).map_err(|e| CliError::Other(e.into()))? + "\n"
    } else {
        table(&s)
    };
    // Checked: a full disk makes the command exit 1 saying the output was lost.
    crate::out!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn table(s: &stepper::Stepped) -> String {
    let mut out = format!(
        "counter += 1 on two threads, as {} runs it (schedule {}; then A finishes, then B)\n\n",
        s.interpreter,
        if s.schedule.is_empty() {
            "empty"
        } else {
            &s.schedule
        }
    );
    for (i, st) in s.steps.iter().enumerate() {
        out.push_str(&format!(
            "{:>2} {} {:<13} {:<8} stack {:<8} counter {}{}\n",
            i + 1,
            st.thread,
            st.op,
            st.arg,
            format!("{:?}", st.stack),
            st.counter,
            if st.scheduled {
                ""
            } else {
                "  (run to finish)"
            }
        ));
    }
    out.push_str(&format!(
        "\ncounter = {}, expected {}: {}\n",
        s.counter,
        s.expected,
        if s.lost_updates > 0 {
            format!(
                "{} update lost (both threads loaded counter before either stored it)",
                s.lost_updates
            )
        } else {
            "no update lost".to_string()
        }
    ));
    out
}

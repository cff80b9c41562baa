//! `conlab serve`: run the embedded server alone until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use super::error::CliError;
use crate::server::Server;

pub fn serve_command(args: &crate::cli::ServeArgs) -> Result<ExitCode, CliError> {
    let addr = SocketAddr::new(args.bind, args.port);
    if !args.bind.is_loopback() {
        eprintln!(
            "conlab: warning: serving on {} — reachable from other machines, not just this one",
            args.bind
        );
    }
    let (tx, rx) = crossbeam_channel::bounded::<()>(1);
    ctrlc::set_handler(move || {
        let _ = tx.try_send(());
    })
    .map_err(|e| CliError::Other(anyhow::anyhow!("could not catch Ctrl-C: {e}")))?;
    let server = Server::start(addr).map_err(|e| CliError::Usage(format!("{e:#}")))?;
    // Whoever reads our stdout may stop after the address line: a closed pipe must not
    // panic (println! would), the server keeps serving. Any other failure (a full disk)
    // stops it at once: nobody would learn where it listens.
    let mut out = std::io::stdout().lock();
    let said = writeln!(
        out,
        "conlab serve: listening on http://{addr}\n  try: curl http://{addr}/delay/1\n  Ctrl-C stops it.",
        addr = server.addr()
    )
    .and_then(|()| out.flush());
    drop(out);
    if let Err(e) = said
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(CliError::Other(anyhow::anyhow!(
            "cannot write to standard output ({e}): the address it listens on would be lost; stopping"
        )));
    }
    let _ = rx.recv();
    let _ = writeln!(std::io::stderr(), "conlab serve: stopping");
    drop(server);
    Ok(ExitCode::SUCCESS)
}

//! The shell around a run: parse flags, set up logging on stderr, run, print the summary, pick the exit code
//! ([`exit_code`], one pure function).
//!
//! The only file that chooses exit codes or prints to stderr directly; it holds no crawl logic.

use std::process::ExitCode;

use crate::app::logs::{JsonSafe, JsonSafeStderr, SafeFields};
use crate::cli::LogFormat;
use crate::output::file::Busy;
use crate::{Outcome, Signal, WriterEnd};

/// sysexits.h's "temporary failure, try again later": another run holds `--state`'s lock or writes one of this
/// run's files.
const EX_TEMPFAIL: u8 = 75;
use tracing_subscriber::EnvFilter;

/// The whole binary: parse flags, set up logging, run, print the summary, pick the exit code.
#[must_use]
pub fn main() -> ExitCode {
    // First: a signal from here on stops the run gracefully, even one sent before the runtime exists.
    let early = crate::app::signal::catch_early();
    let cli = match crate::cli::command::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    if let Some(kind) = cli.generate {
        return print(&crate::cli::command::generate(kind), "the output");
    }
    if cli.schema {
        return print(
            crate::record::fields::RECORD_SCHEMA.as_bytes(),
            "the schema",
        );
    }
    let json_logs = cli.log_format == LogFormat::Json;
    init_logging(cli.verbose, cli.quiet, cli.log_format);
    let from_env = crate::cli::command::variables_with_values();
    if !from_env.is_empty() {
        // Values nobody typed change the run (CRAWLFISH_SHARD drops URLs): `-v` says which.
        tracing::info!(variables = %from_env.join(" "), "options set from the environment");
    }
    let mut config = match cli.into_config() {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    if let Some(warc) = config.warc.as_mut() {
        let args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        warc.command = crate::cli::redact::command_line(&args);
    }
    // Bare `crawlfish` at a prompt would wait on the keyboard in silence. An explicit `-` still reads the
    // terminal: the user asked for it (typing URLs, then Ctrl-D).
    if config.files.is_empty() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        say("crawlfish: no input: give FILE arguments or pipe URLs on stdin (crawlfish --help)");
        environment_note();
        return ExitCode::from(2);
    }
    if let Err(e) = crate::app::process::raise_open_files(config.crawl.concurrency) {
        return usage_error(&anyhow::anyhow!(e));
    }
    let summary = config.summary;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage_error(&anyhow::Error::new(e).context("cannot start the runtime")),
    };
    if let Err(e) = runtime.block_on(async { crate::app::process::catch_file_size_signal() }) {
        return usage_error(&anyhow::Error::new(e).context("cannot catch SIGXFSZ"));
    }
    // The handlers are installed here, before the run starts anything (see `shutdown_signal`).
    let stop = {
        let _inside = runtime.enter();
        shutdown(&early, !summary, json_logs)
    };
    // The run is a task on the worker threads, not `block_on`'s future on this one: every page finished on a
    // worker woke the scheduler here, a cross-thread unpark each (a third of the run's context switches).
    let outcome = runtime.block_on(async {
        match tokio::spawn(crate::run(config, stop)).await {
            Ok(outcome) => outcome,
            Err(e) => Err(anyhow::Error::new(e).context("the run failed")),
        }
    });
    // Do not wait for an input thread blocked on an idle stdin.
    runtime.shutdown_background();
    match &outcome {
        Ok(o) => {
            if let WriterEnd::Failed(e) = &o.writer {
                say(format_args!("crawlfish: {e}"));
            }
            if summary && o.writer != WriterEnd::BrokenPipe {
                if json_logs {
                    say(crate::app::summary::json(o));
                } else {
                    say(crate::app::summary::line(o));
                }
            }
            if o.writer != WriterEnd::BrokenPipe {
                link_report(o, summary, json_logs);
            }
        }
        Err(e) => {
            say(format_args!("crawlfish: {e:#}"));
            environment_note();
        }
    }
    exit_code(outcome.as_ref())
}

/// `--check-links`' report, after the summary. Broken links are the answer a link check is run for, so `-q`
/// (which keeps errors) does not silence them; it only drops the all-clear line.
fn link_report(o: &Outcome, summary: bool, json_logs: bool) {
    let Some(report) = &o.links else {
        return;
    };
    if !summary && !crate::app::summary::links_worth_saying(report) {
        return;
    }
    if json_logs {
        // Server text in JSON: DEL, C1 controls and bidirectional overrides escaped as in JSON logs.
        let mut err = JsonSafe(std::io::stderr());
        let line = crate::app::summary::links_json(report);
        let _ = std::io::Write::write_fmt(&mut err, format_args!("{line}\n"));
    } else {
        say(crate::app::summary::links_line(report));
    }
}

/// What the first signal prints (unless -q).
const INTERRUPTED: &str = "interrupted, finishing requests in flight (interrupt again to stop now)";

/// The first SIGINT/SIGTERM/SIGHUP starts a graceful stop; a second SIGINT ends the process at once.
fn shutdown(
    early: &crate::app::signal::Early,
    quiet: bool,
    json_logs: bool,
) -> impl std::future::Future<Output = Signal> {
    let first = crate::app::signal::shutdown_signal(early);
    async move {
        let sig = first.await;
        let again = crate::app::signal::next_interrupt();
        tokio::spawn(async {
            again.await;
            std::process::exit(130);
        });
        match (quiet, json_logs) {
            (true, _) => {}
            // A plain line would break `jq` over a `--log-format json` stderr (an attack run's case).
            (false, true) => tracing::warn!("{INTERRUPTED}"),
            (false, false) => say(format_args!("crawlfish: {INTERRUPTED}")),
        }
        sig
    }
}

/// The exit code of a run: a pure function of its outcome (README's exit-code table). A run that could not
/// start is 2, or 75 (`EX_TEMPFAIL`) when another run holds `--state`'s lock or writes one of its files.
fn exit_code(outcome: Result<&Outcome, &anyhow::Error>) -> ExitCode {
    let o = match outcome {
        Ok(o) => o,
        Err(e) if e.is::<Busy>() => return ExitCode::from(EX_TEMPFAIL),
        Err(_) => return ExitCode::from(2),
    };
    match (o.signal, &o.writer) {
        (Some(Signal::Interrupt), _) => ExitCode::from(130),
        (Some(Signal::Terminate), _) => ExitCode::from(143),
        (Some(Signal::Hangup), _) => ExitCode::from(129),
        // A failed write (disk full …): the job itself is broken.
        (None, WriterEnd::Failed(_)) => ExitCode::from(2),
        (None, WriterEnd::Drained) if o.input_error.is_some() => ExitCode::from(2),
        // --check-links: 1 for a broken link (a failed listed URL included), whatever else the records say.
        (None, WriterEnd::Drained) if o.links.as_ref().is_some_and(|l| l.broken > 0) => {
            ExitCode::from(1)
        }
        (None, WriterEnd::Drained) if o.links.is_none() && o.summary.failed > 0 => {
            ExitCode::from(1)
        }
        // The reader went away (`| head -1`): like ripgrep, a normal and quiet end.
        (None, WriterEnd::Drained | WriterEnd::BrokenPipe) => ExitCode::SUCCESS,
    }
}

/// Writes `bytes` to stdout for `--schema`/`--generate`. A closed reader (`| head`) is a normal end, as for
/// records; any other failed write exits 2.
fn print(bytes: &[u8], what: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match std::io::Write::write_all(&mut out, bytes).and_then(|()| std::io::Write::flush(&mut out))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => usage_error(&anyhow::Error::new(e).context(format!("cannot write {what}"))),
    }
}

fn usage_error(e: &anyhow::Error) -> ExitCode {
    say(format_args!("crawlfish: {e:#}"));
    environment_note();
    ExitCode::from(2)
}

/// clap's own end: `--help`/`--version` on stdout with 0, a usage error on stderr with 2.
fn clap_exit(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        environment_note();
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

/// After a usage error: which `CRAWLFISH_*` option variables were set, since their values count as if typed.
fn environment_note() {
    let vars = crate::cli::command::variables_in_use();
    if !vars.is_empty() {
        say(format_args!(
            "crawlfish: note: options set from the environment: {}",
            vars.join(", ")
        ));
    }
}

/// One line on stderr. A failed write is ignored: after SIGHUP the terminal may be gone, and `eprintln!` would
/// panic there instead of exiting with the run's code.
fn say(line: impl std::fmt::Display) {
    let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("{line}\n"));
}

fn init_logging(verbose: u8, quiet: bool, format: LogFormat) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // hickory warns per stray UDP datagram (forged, malformed, wrong ID): anyone who can send packets to our port
    // could fill stderr. What a lookup ended as is in the records; its errors still show.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "crawlfish={default},warn,hickory_proto=error,hickory_resolver=error"
        ))
    });
    // Colour only for a person at a terminal: cron logs, pipes and files get plain text (and NO_COLOR is obeyed).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // A log write that fails (the terminal is gone after SIGHUP) is dropped: reporting it would panic.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .log_internal_errors(false);
    // Field values quote servers: control characters are escaped in both formats (`logs.rs`).
    match format {
        LogFormat::Text => builder
            .fmt_fields(SafeFields)
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Json => builder.json().with_writer(JsonSafeStderr).init(),
    }
}

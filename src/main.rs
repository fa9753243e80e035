//! The `crawlfish` binary: parse flags, set up logging on stderr, run, print the summary, pick the exit code.
//!
//! The only file that chooses exit codes or prints to stderr directly; it holds no crawl logic.

use std::fmt::Write as _;
use std::process::ExitCode;

use crawlfish::cli::LogFormat;
use crawlfish::logs::{JsonSafeStderr, SafeFields};
use crawlfish::state::Busy;
use crawlfish::{Outcome, Signal, WriterEnd};

/// sysexits.h's "temporary failure, try again later": another run holds `--state`'s lock.
const EX_TEMPFAIL: u8 = 75;
use tracing_subscriber::EnvFilter;

// A crawl allocates a few short strings per link (~720,000 links in the 20,000-page benchmark); glibc malloc
// was ~9 % of the profile. mimalloc, interleaved 5 runs each: W1 1.21 -> 1.09 s, CPU -6 %; peak RSS 19 -> 31 MB
// (the budget is 60), and a 1,000,000-line list still peaks at the same RSS as 20,000 lines. Arena memory is
// committed as used (a compile-time default: `.cargo/config.toml`), so W1 peaks at ~24 MB, not ~39 MB.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match crawlfish::cli_command::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    if let Some(kind) = cli.generate {
        return print(&crawlfish::cli_command::generate(kind), "the output");
    }
    if cli.schema {
        return print(crawlfish::fields::RECORD_SCHEMA.as_bytes(), "the schema");
    }
    let json_logs = cli.log_format == LogFormat::Json;
    init_logging(cli.verbose, cli.quiet, cli.log_format);
    let from_env = crawlfish::cli_command::variables_with_values();
    if !from_env.is_empty() {
        // Values nobody typed change the run (CRAWLFISH_SHARD drops URLs): `-v` says which.
        tracing::info!(variables = %from_env.join(" "), "options set from the environment");
    }
    let config = match cli.into_config() {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    // Bare `crawlfish` at a prompt would wait on the keyboard in silence. An explicit `-` still reads the
    // terminal: the user asked for it (typing URLs, then Ctrl-D).
    if config.files.is_empty() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        say("crawlfish: no input: give FILE arguments or pipe URLs on stdin (crawlfish --help)");
        environment_note();
        return ExitCode::from(2);
    }
    if let Err(e) = crawlfish::process::raise_open_files(config.concurrency) {
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
    let outcome = runtime.block_on(crawlfish::run(config, shutdown(!summary, json_logs)));
    // Do not wait for an input thread blocked on an idle stdin.
    runtime.shutdown_background();
    match &outcome {
        Ok(o) => {
            if let WriterEnd::Failed(e) = &o.writer {
                say(format_args!("crawlfish: {e}"));
            }
            if summary && o.writer != WriterEnd::BrokenPipe {
                if json_logs {
                    say(summary_json(o));
                } else {
                    say(summary_line(o));
                }
            }
        }
        Err(e) => {
            say(format_args!("crawlfish: {e:#}"));
            environment_note();
        }
    }
    exit_code(outcome.as_ref())
}

/// What the first signal prints (unless -q).
const INTERRUPTED: &str = "interrupted, finishing requests in flight (interrupt again to stop now)";

/// The first SIGINT/SIGTERM/SIGHUP starts a graceful stop; a second SIGINT ends the process at once.
async fn shutdown(quiet: bool, json_logs: bool) -> Signal {
    let sig = crawlfish::signal::shutdown_signal().await;
    let again = crawlfish::signal::next_interrupt();
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

/// The exit code of a run: a pure function of its outcome (README's exit-code table). A run that could not
/// start is 2, or 75 (`EX_TEMPFAIL`) when another run holds `--state`'s lock.
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
        (None, WriterEnd::Drained) if o.summary.failed > 0 => ExitCode::from(1),
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
    let vars = crawlfish::cli_command::variables_in_use();
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

fn summary_line(o: &Outcome) -> String {
    let s = &o.summary;
    let secs = o.elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // a rate for display
    let rate = s.records as f64 / secs.max(0.001);
    let mut line = format!(
        "crawlfish: {} records in {secs:.2} s ({rate:.0} pages/s)",
        s.records
    );
    for (class, n) in s.by_class.iter().enumerate().skip(1) {
        if *n > 0 {
            let _ = write!(line, " · {class}xx {n}");
        }
    }
    let errors: u64 = s.by_kind.values().sum();
    if errors > 0 {
        let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = write!(line, " · errors {errors} ({})", kinds.join(", "));
    }
    if let Some(shard) = o.shard {
        let _ = write!(
            line,
            " · shard {shard}: skipped {} listed and {} linked URLs of other shards",
            o.other_shards.listed, o.other_shards.linked
        );
    }
    if o.signal.is_some() {
        line.push_str(" · interrupted");
    }
    if let Some(mb) = peak_rss_mb() {
        let _ = write!(line, " · peak RSS {mb:.1} MB");
    }
    line
}

/// The summary as one JSON object, so a `--log-format json` stderr stays one JSON value per line.
fn summary_json(o: &Outcome) -> serde_json::Value {
    let s = &o.summary;
    let classes: serde_json::Map<String, serde_json::Value> = s
        .by_class
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, n)| **n > 0)
        .map(|(class, n)| (format!("{class}xx"), (*n).into()))
        .collect();
    let kinds: serde_json::Map<String, serde_json::Value> = s
        .by_kind
        .iter()
        .map(|(k, n)| (k.as_str().to_owned(), (*n).into()))
        .collect();
    let mut summary = serde_json::json!({
        "records": s.records,
        "failed": s.failed,
        "elapsed_s": o.elapsed.as_secs_f64(),
        "by_status_class": classes,
        "by_error_kind": kinds,
        "interrupted": o.signal.is_some(),
        "peak_rss_mb": peak_rss_mb(),
    });
    if let (Some(shard), Some(map)) = (o.shard, summary.as_object_mut()) {
        map.insert(
            "shard".into(),
            serde_json::json!({
                "index": shard.index,
                "count": shard.count,
                "other_shards_listed": o.other_shards.listed,
                "other_shards_linked": o.other_shards.linked,
            }),
        );
    }
    serde_json::json!({ "summary": summary })
}

/// Peak resident set size (Linux `VmHWM`), for the summary: memory targets are checked from it.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
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

//! The clap `Command` the binary runs: [`Cli`]'s definition plus a `CRAWLFISH_<NAME>` environment variable for
//! every option, added here generically so a flag added to `Cli` later gets one without anyone writing `env = …`.
//! `--generate` (man page, shell completions) renders this same `Command`, env annotations included.
//!
//! Owns the environment mapping and the generated files; validation stays in [`crate::cli`] (an environment value goes
//! through the same value parser and `Cli::into_config` as the flag). Must not open files or sockets.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser as _};

use crate::cli::{Cli, Generate};

/// The binary's name, in completions and the man page.
const BIN: &str = "crawlfish";
/// Prefix of every option's environment variable.
pub(crate) const ENV_PREFIX: &str = "CRAWLFISH_";

/// Long flags that never come from the environment: clap's own, and the actions that replace a crawl with other
/// output (a stray `CRAWLFISH_SCHEMA` or `CRAWLFISH_GENERATE` would turn every later run into a no-op).
const NOT_FROM_ENV: [&str; 4] = ["help", "version", "schema", "generate"];
/// Long flags whose environment value `--help` and `-v` do not print (request headers and proxy URLs often carry
/// credentials).
const HIDDEN_ENV_VALUES: [&str; 2] = ["header", "proxy"];

/// `CRAWLFISH_` and the long flag uppercased with `-` as `_`: `--max-body` → `CRAWLFISH_MAX_BODY`.
#[must_use]
pub(crate) fn env_name(long: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        long.to_ascii_uppercase().replace('-', "_")
    )
}

/// [`Cli`]'s command with an environment variable on every option that has a long name (the FILE arguments
/// have none). On/off flags read their variable as a boolean (`1/true/yes/on` or `0/false/no/off`, anything else
/// is a usage error); `-v` reads a count (`CRAWLFISH_VERBOSE=2` is `-vv`).
#[must_use]
pub(crate) fn command() -> clap::Command {
    Cli::command().mut_args(|arg| {
        let Some(long) = arg.get_long().map(str::to_owned) else {
            return arg;
        };
        if NOT_FROM_ENV.contains(&long.as_str()) {
            return arg;
        }
        let name = env_name(&long);
        let arg = match arg.get_action() {
            ArgAction::SetTrue => {
                if std::env::var(&name).is_ok_and(|v| is_off(&v)) {
                    // clap would count `CRAWLFISH_RESUME=0` as "given" for `requires`/`conflicts_with` (exit 2
                    // with `--state`): an on/off variable that says off is as if unset.
                    return arg;
                }
                arg.value_parser(BoolishValueParser::new())
            }
            _ => arg,
        };
        arg.hide_env_values(HIDDEN_ENV_VALUES.contains(&long.as_str()))
            .env(name)
    })
}

/// What clap's boolish parser reads as off (`0/false/no/off/n/f`, any case).
fn is_off(value: &str) -> bool {
    ["0", "false", "no", "off", "n", "f"]
        .iter()
        .any(|off| value.eq_ignore_ascii_case(off))
}

/// The command line and environment of this process as a [`Cli`]: command line over environment over default.
/// `--schema` and `--generate` are read from the command line alone, so a stray variable (an invalid
/// `CRAWLFISH_TIMEOUT`, a `CRAWLFISH_RESUME` without its `-o`) cannot break them. A variable that is set but
/// empty is a usage error naming it: clap would take `CRAWLFISH_EXCLUDE=` as the regex "" (drop every link).
///
/// # Errors
/// clap's error (a usage error, or `--help`/`--version`, which clap reports as errors to print and exit 0 on).
pub(crate) fn try_parse() -> Result<Cli, clap::Error> {
    if let Ok(cli) = Cli::try_parse_from(std::env::args_os()) {
        if cli.schema || cli.generate.is_some() {
            return Ok(cli);
        }
    }
    let mut cmd = command();
    if let Some(name) = empty_variable(&cmd) {
        return Err(cmd.error(
            clap::error::ErrorKind::InvalidValue,
            format!("{name} is set but empty: give it a value or unset it"),
        ));
    }
    let matches: ArgMatches = cmd.try_get_matches_from_mut(std::env::args_os())?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// The first option variable that is set to the empty string.
fn empty_variable(cmd: &clap::Command) -> Option<String> {
    cmd.get_arguments()
        .filter_map(|a| a.get_env())
        .find(|name| std::env::var_os(name).is_some_and(|v| v.is_empty()))
        .map(|name| name.to_string_lossy().into_owned())
}

/// The option variables set in this process, for a usage error's note: a value nobody typed (a stray
/// `CRAWLFISH_TIMEOUT` in a profile) is otherwise reported as if it came from the command line.
#[must_use]
pub(crate) fn variables_in_use() -> Vec<String> {
    command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .filter(|name| std::env::var_os(name).is_some())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

/// The option variables set in this process with their values (`NAME=value`; a hidden one, `-H`'s, as
/// `NAME=***`), for the `-v` log line that makes a run's environment visible.
#[must_use]
pub(crate) fn variables_with_values() -> Vec<String> {
    command()
        .get_arguments()
        .filter_map(|a| {
            let name = a.get_env()?;
            let value = std::env::var_os(name)?;
            let shown = if a.is_hide_env_values_set() {
                "***".into()
            } else {
                value.to_string_lossy().into_owned()
            };
            Some(format!("{}={shown}", name.to_string_lossy()))
        })
        .collect()
}

/// What `kind` asks for, rendered from [`command`] (so it lists the environment variables too). Built in memory:
/// `clap_complete` panics on a failed write, and the caller decides what a closed stdout means.
#[must_use]
pub(crate) fn generate(kind: Generate) -> Vec<u8> {
    use clap_complete::Shell;
    let mut cmd = command();
    let mut out = Vec::new();
    let shell = match kind {
        Generate::Man => {
            // Writing to a Vec cannot fail.
            let _ = clap_mangen::Man::new(cmd).render(&mut out);
            return out;
        }
        Generate::CompleteBash => Shell::Bash,
        Generate::CompleteZsh => Shell::Zsh,
        Generate::CompleteFish => Shell::Fish,
        Generate::CompletePowershell => Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_with_env_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_option_but_the_excluded_has_its_variable() {
        let cmd = command();
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else {
                assert!(arg.get_env().is_none(), "{:?}", arg.get_id());
                continue;
            };
            let want = (!NOT_FROM_ENV.contains(&long)).then(|| env_name(long));
            let got = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            assert_eq!(got, want, "--{long}");
        }
        assert_eq!(env_name("max-body"), "CRAWLFISH_MAX_BODY");
    }
}

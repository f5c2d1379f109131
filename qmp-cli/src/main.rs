//! `qmp`: the QEMU Monitor Protocol from the command line, built on `qmp-core`.
//!
//! See `qmp --help` and `qmp help SUBCOMMAND`; the exit codes are in [`exit`].

#![forbid(unsafe_code)]

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod catalog;
mod decode;
mod events;
mod exec;
mod json;
mod shell;
mod style;
mod target;
mod time;

use style::{Paint, Style};

/// Exit codes, the same for every subcommand.
pub mod exit {
    /// Success: `return` from the command, every byte decoded, events followed to the end.
    pub const OK: u8 = 0;
    /// The peer answered with a QMP error reply (`exec`), or the stream had bytes that
    /// are not messages (`decode`).
    pub const QMP_ERROR: u8 = 1;
    /// No connection, the connection failed or timed out, the peer broke the protocol,
    /// or the input could not be read.
    pub const FAILURE: u8 = 2;
    /// Wrong usage: an unknown option, a missing argument, a command line that does not
    /// parse (BSD's `EX_USAGE`).
    pub const USAGE: u8 = 64;
}

const EXIT_CODES: &str = "\
Exit codes:
  0   success (exec: the command returned; decode: every byte was a message)
  1   exec: QEMU answered with an error reply (class and desc on stderr);
      decode: some bytes were not messages and were skipped
  2   no connection, connection lost, timeout, protocol violation, unreadable input
  64  wrong usage (unknown option, missing argument, a command that does not parse)";

/// The QEMU Monitor Protocol from the command line: decode captured QMP streams, run
/// commands, follow events and drive an interactive shell.
#[derive(Parser, Debug)]
#[command(name = "qmp", version, after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Frame and classify captured QMP output (compact or pretty, damaged or not, any
    /// size): one line per message, stream errors with offsets, a summary.
    #[command(after_help = DECODE_HELP)]
    Decode(DecodeArgs),
    /// Run one command against a running QEMU and print its reply.
    #[command(after_help = EXEC_HELP)]
    Exec(ExecArgs),
    /// Follow QEMU's events until interrupted, one readable line each.
    #[command(after_help = EVENTS_HELP)]
    Events(EventsArgs),
    /// An interactive QMP shell: line editing, history, completion, events between
    /// prompts.
    #[command(after_help = SHELL_HELP)]
    Shell(ShellArgs),
}

const SHELL_HELP: &str = "\
Type commands as at qmp-shell: NAME KEY=VALUE... (dotted keys for nested objects, JSON
where a value starts with {, [ or \"), or QMP's own JSON. Tab completes command names
(from query-commands), argument names and enum values (from query-qmp-schema).

Inside the shell:
  help                the command names
  help CMD            CMD's arguments (NAME? is optional), their types, what it returns
  transaction(        start a transaction: then one action per line (NAME KEY=VALUE...),
                      and ) to send it; or all on one line, actions separated by commas:
                      transaction( block-dirty-bitmap-add node=d0 name=b0, abort )
  Ctrl-C              drop the line (or the transaction being typed)
  Ctrl-D              leave

Events are printed above the prompt as they come. History is kept in ~/.qmp_history
(--history to choose, --no-history for none). With -H every line is an HMP command
sent through human-monitor-command, and its text output is printed as it is.

Exit codes:
  0   left with Ctrl-D
  2   no connection, connection lost, timeout
  64  wrong usage";

#[derive(Args, Debug)]
struct ShellArgs {
    #[arg(help = TARGET_HELP)]
    target: String,
    /// Print replies re-indented.
    #[arg(short, long)]
    pretty: bool,
    /// HMP mode: send each line through human-monitor-command.
    #[arg(short = 'H', long)]
    hmp: bool,
    /// Show each command as it is sent.
    #[arg(short, long)]
    verbose: bool,
    /// Where to keep the history.
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    history: Option<PathBuf>,
    /// Keep no history.
    #[arg(long)]
    no_history: bool,
    /// Seconds to wait for the connection, the greeting and each reply (0: for ever).
    #[arg(short, long, default_value_t = 10.0, value_name = "SECS")]
    timeout: f64,
}

const EVENTS_HELP: &str = "\
Each event is one line: the time QEMU stamped it (UTC, time of day), its name, and the
fields of its data as key=value (nested members as a.b=value, addresses as host:port).
Events keep coming until QEMU exits or you press Ctrl-C.

--spice-sessions shows what qmp-core's SPICE session tracker makes of the SPICE events
instead: a SPICE client opens one connection per channel; a session begins when its main
channel is initialized (SPICE_INITIALIZED with channel-type 1) and ends when the main
channel disconnects, whatever its other channels do; a connection that closes before its
link (a port probe) is no session. With --json, each line is an object with the
event's timestamp and name, \"outcome\" (connected, session-began, channel-attached,
session-ended, channel-closed, no-session, untracked), \"client\" (host:port),
\"connection-id\" and the channel where known, and \"sessions\" (how many are open).

Examples:
  qmp events /tmp/qmp.sock
  qmp events /tmp/qmp.sock --filter SHUTDOWN --filter 'BLOCK_JOB_*'
  qmp events /tmp/qmp.sock --json | jq .data
  qmp events /tmp/qmp.sock --spice-sessions

Exit codes:
  0   QEMU shut down (SHUTDOWN, then the connection closed), or stdout was closed
  2   no connection, connection lost, timeout while connecting
  64  wrong usage";

#[derive(Args, Debug)]
struct EventsArgs {
    #[arg(help = TARGET_HELP)]
    target: String,
    /// Only these events (repeat, or separate with commas; case does not matter; a
    /// trailing * matches any rest: 'SPICE_*').
    #[arg(short, long, value_name = "NAME")]
    filter: Vec<String>,
    /// Each event as JSON on one line (JSON Lines), as QEMU sent it, compacted.
    #[arg(long)]
    json: bool,
    /// Show SPICE sessions beginning and ending, as the SPICE session tracker sees them.
    #[arg(long)]
    spice_sessions: bool,
    /// Seconds to wait for the connection and the greeting (0: for ever); events
    /// themselves are waited for as long as they take.
    #[arg(short, long, default_value_t = 10.0, value_name = "SECS")]
    timeout: f64,
}

const TARGET_HELP: &str = "\
The QMP monitor: a unix socket path (/run/vm.qmp, ./qmp.sock, unix:PATH) or HOST:PORT
(localhost:4444, tcp:127.0.0.1:4444), as given to QEMU's -qmp option";

const EXEC_HELP: &str = "\
The command is typed as at qmp-shell: NAME KEY=VALUE..., dotted keys for nested objects
(file.driver=file), JSON where a value starts with {, [ or \", numbers, true, false and
null as JSON, anything else as a string. Or give QMP's own JSON
({\"execute\": ..., \"arguments\": {...}}; exec-oob too). Values with spaces need the
shell's quotes: command-line='info status'.

The reply's return value goes to stdout, re-indented on a terminal and on one line
otherwise (for jq and scripts); an error reply's class and desc go to stderr.

Examples:
  qmp exec /tmp/qmp.sock query-status
  qmp exec /tmp/qmp.sock device_del id=net0
  qmp exec localhost:4444 '{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"/machine\"}}'
  qmp exec /tmp/qmp.sock -H info status

Exit codes:
  0   the command returned
  1   QEMU answered with an error reply (class and desc on stderr)
  2   no connection, connection lost, timeout, protocol violation
  64  wrong usage, or a command that does not parse";

#[derive(Args, Debug)]
struct ExecArgs {
    #[arg(help = TARGET_HELP)]
    target: String,
    /// The command: NAME KEY=VALUE... or JSON (with -H: an HMP command line).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
    /// Send the words as an HMP command through human-monitor-command and print its
    /// text output.
    #[arg(short = 'H', long)]
    hmp: bool,
    /// Print the reply re-indented even when stdout is not a terminal.
    #[arg(short, long, conflicts_with = "compact")]
    pretty: bool,
    /// Print the reply on one line even on a terminal.
    #[arg(short, long)]
    compact: bool,
    /// Seconds to wait for the connection, the greeting and the reply (0: for ever).
    #[arg(short, long, default_value_t = 10.0, value_name = "SECS")]
    timeout: f64,
}

/// `SECS` as a timeout: `None` for 0.
fn timeout(secs: f64) -> Option<std::time::Duration> {
    (secs > 0.0).then(|| std::time::Duration::from_secs_f64(secs.min(1e9)))
}

const DECODE_HELP: &str = "\
One line per item, in stream order: the byte offset where it starts, its size, its kind
(greeting, return, error, event, command, json for valid JSON that is not QMP) and what
identifies it (event name and time, error class and desc, id). Bytes that are not JSON,
or a message larger than the buffer, are a SKIPPED line with the offset, the reason and
the number of bytes skipped; decoding goes on with the next message. An 'error' line is
a valid message (QEMU refusing a command), not a fault in the stream.

Examples:
  qmp decode                          the bundled capture of a real QEMU 10.0.2 session
  qmp decode qmp.log --pretty         show every payload, re-indented
  socat - UNIX:/tmp/qmp.sock | qmp decode -
  qmp decode big.bin --json | jq 'select(.kind == \"event\") | .name'

Exit codes:
  0   every byte of the input was part of a message
  1   some bytes were skipped (SKIPPED lines)
  2   the input could not be read
  64  wrong usage";

#[derive(Args, Debug)]
struct DecodeArgs {
    /// The capture to read, or `-` for standard input. Without it: standard input when
    /// that is not a terminal, else the bundled capture (testdata/captures/unix_basic.rx.bin).
    file: Option<PathBuf>,
    /// JSON Lines instead of aligned text (one object per message or stream error;
    /// the summary goes to stderr).
    #[arg(long)]
    json: bool,
    /// Show each message's payload too (re-indented; with --json, whole under "message").
    #[arg(long, short = 'p')]
    pretty: bool,
    /// Only the summary.
    #[arg(long, short = 's', conflicts_with_all = ["json", "pretty"])]
    summary: bool,
    /// The framer's buffer in bytes: the largest message decoded (a larger one is
    /// reported and skipped).
    #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1..=1 << 32))]
    buffer: u64,
    /// Leave time and throughput out of the summary (comparable outputs).
    #[arg(long, hide = true)]
    no_timing: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let code = match cli.command {
        Command::Decode(args) => run_decode(args),
        Command::Shell(args) => {
            let history = if args.no_history {
                None
            } else {
                args.history.or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".qmp_history"))
                })
            };
            shell::run(
                &args.target,
                shell::Options {
                    pretty: args.pretty,
                    hmp: args.hmp,
                    verbose: args.verbose,
                    history,
                    timeout: timeout(args.timeout),
                },
            )
        }
        Command::Events(args) => events::run(
            &args.target,
            &events::Filter::new(&args.filter),
            events::Options {
                json: args.json,
                spice_sessions: args.spice_sessions,
            },
            timeout(args.timeout),
        ),
        Command::Exec(args) => exec::run(
            &args.target,
            &args.command,
            args.hmp,
            exec::Layout::choose(args.pretty, args.compact),
            timeout(args.timeout),
        ),
    };
    ExitCode::from(code)
}

/// Help and version go to stdout with status 0; a usage error is one line on stderr
/// (clap's first, naming what is wrong) and a pointer to the help, status 64.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            let code = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                exit::USAGE
            } else {
                exit::OK
            };
            ExitCode::from(code)
        }
        _ => {
            let text = e.render().to_string();
            let mut lines = text.lines();
            let mut first = lines.next().unwrap_or("error: wrong usage").to_string();
            // "the following required arguments were not provided:" names them below.
            if first.ends_with(':') {
                let more: Vec<&str> = lines
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect();
                first = format!("{first} {}", more.join(" "));
            }
            let first = first.strip_prefix("error: ").unwrap_or(&first);
            let sub = std::env::args()
                .nth(1)
                .filter(|a| ["decode", "exec", "events", "shell"].contains(&a.as_str()))
                .map(|a| format!("qmp {a} --help"))
                .unwrap_or_else(|| "qmp --help".into());
            eprintln!("qmp: {first} (see '{sub}')");
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Print `qmp: MESSAGE` on stderr.
pub fn complain(message: &str) {
    let style = Style::stderr();
    eprintln!("{} {message}", style.paint(Paint::Bad, "qmp:"));
}

fn run_decode(args: DecodeArgs) -> u8 {
    let options = decode::Options {
        json: args.json,
        pretty: args.pretty,
        summary_only: args.summary,
        buffer: args.buffer as usize,
        no_timing: args.no_timing,
    };
    let stdout = io::stdout();
    let style = Style::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut summary = io::stderr();
    let stdin_is_tty = io::stdin().is_terminal();
    let result = match args.file {
        Some(path) if path.as_os_str() == "-" => decode::run(
            &mut io::stdin().lock(),
            options,
            style,
            &mut out,
            &mut summary,
        ),
        Some(path) => match std::fs::File::open(&path) {
            Ok(mut file) => decode::run(&mut file, options, style, &mut out, &mut summary),
            Err(e) => {
                complain(&format!("{}: {e}", path.display()));
                return exit::FAILURE;
            }
        },
        None if !stdin_is_tty => decode::run(
            &mut io::stdin().lock(),
            options,
            style,
            &mut out,
            &mut summary,
        ),
        None => {
            if !options.json {
                let note = format!(
                    "The bundled capture {} ({} bytes): what QEMU 10.0.2 sent in one \
                     session.\nGive a FILE, or pipe bytes in, to decode your own.\n",
                    decode::BUNDLED_NAME,
                    decode::BUNDLED.len()
                );
                let _ = out.write_all(style.paint(Paint::Dim, &note).as_bytes());
            }
            decode::run(
                &mut { decode::BUNDLED },
                options,
                style,
                &mut out,
                &mut summary,
            )
        }
    };
    match result {
        Ok(tally) if tally.errors().0 == 0 => exit::OK,
        Ok(_) => exit::QMP_ERROR,
        // `qmp decode | head`: the reader has seen enough.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            complain(&format!("decode: {e}"));
            exit::FAILURE
        }
    }
}

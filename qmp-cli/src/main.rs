//! `qmp`: the QEMU Monitor Protocol from the command line, built on `qmp-core`.
//!
//! See `qmp --help` and `qmp help SUBCOMMAND`; the exit codes are in [`exit`].

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod decode;
mod json;
mod style;
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
            let first = text.lines().next().unwrap_or("error: wrong usage");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("qmp: {first} (see 'qmp --help')");
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

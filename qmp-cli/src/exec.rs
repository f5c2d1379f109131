//! `qmp exec`: one command, its reply, an exit code.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use qmp_core::io::RawReply;
use qmp_core::json::{Kind, RawJson};

use crate::exit;
use crate::json;
use crate::style::{Paint, Style};
use crate::target::{self, Qmp, Target, Typed};

/// How to print a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Re-indented.
    Pretty,
    /// On one line.
    Compact,
}

impl Layout {
    /// Pretty on a terminal, compact otherwise, unless asked.
    pub fn choose(pretty: bool, compact: bool) -> Self {
        if pretty {
            Self::Pretty
        } else if compact || !io::stdout().is_terminal() {
            Self::Compact
        } else {
            Self::Pretty
        }
    }
}

/// The `return` value as text: re-indented or compact; the text of an HMP reply
/// (`human-monitor-command` returns a string) as it is when `hmp`.
pub fn format_value(value: RawJson<'_>, layout: Layout, hmp: bool) -> String {
    if hmp {
        if let Some(text) = value.as_json_str() {
            return text.to_string();
        }
    }
    let mut out = Vec::new();
    match layout {
        Layout::Pretty => json::pretty(value.as_bytes(), "", &mut out),
        Layout::Compact => json::compact(value.as_bytes(), &mut out),
    }
    out.push(b'\n');
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a command got no reply.
#[derive(Debug)]
pub struct Failure {
    /// One line for the user.
    pub message: String,
    /// Only the wait timed out: the connection is still usable (a late reply will be
    /// counted and dropped).
    pub timed_out: bool,
    /// The reply was larger than the buffer and was skipped: the connection is still
    /// in step.
    pub too_large: bool,
}

/// Send `command`, wait for its reply; the reply or why there is none.
pub fn run_one<'q>(qmp: &'q mut Qmp, command: &Typed) -> Result<RawReply<'q>, Failure> {
    // One command at a time: a command submitted before is one whose reply timed out.
    // Nobody will collect it now; if its reply still comes, it is dropped rather than
    // taken for this command's.
    qmp.abandon_submitted();
    let ticket = if command.oob() {
        qmp.submit_raw_oob(command.name(), command.arguments())
    } else {
        qmp.submit_raw(command.name(), command.arguments())
    };
    let while_ = format!("waiting for the reply to {}", command.name());
    let failure = |e: &target::QmpError| Failure {
        message: target::describe(e, &while_),
        timed_out: matches!(e, qmp_core::io::Error::Timeout),
        too_large: matches!(e, qmp_core::io::Error::ReplyTooLarge { .. }),
    };
    if let Err(e) = ticket {
        return Err(failure(&e));
    }
    match qmp.next_reply() {
        Ok(reply) => Ok(reply.reply),
        Err(e) => Err(failure(&e)),
    }
}

/// `qmp exec`.
pub fn run(
    target: &str,
    words: &[String],
    hmp: bool,
    layout: Layout,
    timeout: Option<Duration>,
) -> u8 {
    let target = match Target::parse(target) {
        Ok(t) => t,
        Err(e) => {
            crate::complain(&e);
            return exit::USAGE;
        }
    };
    let command = if hmp {
        let mut line = Vec::from(&b"human-monitor-command command-line="[..]);
        json::quote(&words.join(" "), &mut line);
        Typed::parse(&String::from_utf8_lossy(&line))
    } else {
        Typed::from_words(words)
    };
    let command = match command {
        Ok(c) => c,
        Err(e) => {
            crate::complain(&e);
            return exit::USAGE;
        }
    };
    let (mut qmp, _) = match target::connect(&target, timeout) {
        Ok(c) => c,
        Err(e) => {
            crate::complain(&e);
            return exit::FAILURE;
        }
    };
    match run_one(&mut qmp, &command) {
        Ok(RawReply::Return(ret)) => {
            let text = format_value(ret.value, layout, hmp);
            let mut out = io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            exit::OK
        }
        Ok(RawReply::Error(error)) => {
            let style = Style::stderr();
            let mut line = format!(
                "{}: {}",
                style.paint(Paint::Refused, error.class.name()),
                error.desc
            );
            if let Some(data) = error.data.filter(|d| d.kind() == Kind::Object) {
                let mut text = Vec::new();
                json::compact(data.as_bytes(), &mut text);
                line.push_str(&format!(" {}", String::from_utf8_lossy(&text)));
            }
            eprintln!("{line}");
            exit::QMP_ERROR
        }
        Err(e) => {
            crate::complain(&format!("{target}: {}", e.message));
            exit::FAILURE
        }
    }
}

//! `qmp shell`: an interactive QMP shell, in qmp-shell's habits.
//!
//! The connection lives on a thread of its own, which runs the commands the prompt
//! hands it and, between them, waits for events in short slices and prints them above
//! the prompt (rustyline's external printer), so events show while you type.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use qmp_core::io::{Error, RawReply};
use qmp_core::json::{Kind, RawJson};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, ExternalPrinter, Helper};

use crate::catalog::Catalog;
use crate::events::event_line;
use crate::exec::{format_value, run_one, Layout};
use crate::exit;
use crate::json;
use crate::style::{Paint, Style};
use crate::target::{self, Qmp, Stream, Target, Typed};

/// How the shell behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Replies re-indented.
    pub pretty: bool,
    /// Lines are HMP commands, sent through `human-monitor-command`.
    pub hmp: bool,
    /// Show each command as sent.
    pub verbose: bool,
    /// Where history is kept (`None`: nowhere).
    pub history: Option<PathBuf>,
    /// For connecting and for each reply.
    pub timeout: Option<Duration>,
}

/// The slice in which the connection thread waits for events between commands.
const POLL: Duration = Duration::from_millis(50);

/// A command for the connection thread, and where its answer goes.
struct Request {
    command: Typed,
    hmp: bool,
}

/// What became of a command, as text to print.
enum Answer {
    /// The return value.
    Returned(String),
    /// An error reply: `Class: desc`.
    Refused(String),
    /// The connection failed; the shell ends.
    Failed(String),
}

/// Completion from the catalog.
struct Completion {
    catalog: Catalog,
    hmp: bool,
}

impl Completer for Completion {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if self.hmp {
            return Ok((pos, Vec::new()));
        }
        let head = &line[..pos];
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let pairs = self
            .catalog
            .complete(head)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Completion {
    type Hint = String;
}
impl Highlighter for Completion {}
impl Validator for Completion {}
impl Helper for Completion {}

/// The values of a `return` to keep: the command list and the schema.
fn fetch(qmp: &mut Qmp, name: &str) -> Option<Vec<u8>> {
    let command = Typed::parse(name).ok()?;
    match run_one(qmp, &command) {
        Ok(RawReply::Return(ret)) => Some(ret.value.as_bytes().to_vec()),
        _ => None,
    }
}

/// `qmp shell`.
pub fn run(target: &str, options: Options) -> u8 {
    let target = match Target::parse(target) {
        Ok(t) => t,
        Err(e) => {
            crate::complain(&e);
            return exit::USAGE;
        }
    };
    let (mut qmp, handle) = match target::connect(&target, options.timeout) {
        Ok(c) => c,
        Err(e) => {
            crate::complain(&e);
            return exit::FAILURE;
        }
    };
    let version = qmp
        .qemu_version()
        .map(|[a, b, c]| format!("QEMU {a}.{b}.{c}"))
        .unwrap_or_else(|| "QEMU".into());
    // Names for completion, and the schema for argument names and `help CMD`.
    let commands = fetch(&mut qmp, "query-commands").unwrap_or_else(|| b"[]".to_vec());
    let schema = fetch(&mut qmp, "query-qmp-schema");
    let catalog = Catalog::new(
        RawJson::parse(&commands).unwrap_or(RawJson::parse(b"[]").expect("valid")),
        schema.as_deref().and_then(|s| RawJson::parse(s).ok()),
    );
    drop(schema);

    // Tab as in bash: the common prefix, then the list on a second Tab.
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .max_history_size(10_000)
        .and_then(|b| b.history_ignore_dups(true))
        .map(|b| b.build());
    let editor = config.and_then(Editor::with_config);
    let mut editor: Editor<Completion, DefaultHistory> = match editor {
        Ok(e) => e,
        Err(e) => {
            crate::complain(&format!("cannot start the line editor: {e}"));
            return exit::FAILURE;
        }
    };
    let count = catalog.commands.len();
    editor.set_helper(Some(Completion {
        catalog: catalog.clone(),
        hmp: options.hmp,
    }));
    if let Some(path) = &options.history {
        let _ = editor.load_history(path);
    }
    let style = Style::stdout();
    println!(
        "{}",
        style.paint(
            Paint::Dim,
            &format!(
                "Connected to {version} at {target} ({count} commands). {}\n\
                 Tab completes; help CMD shows its arguments; Ctrl-D leaves.",
                if options.hmp {
                    "HMP mode: lines go to human-monitor-command."
                } else {
                    "Type NAME KEY=VALUE... or JSON."
                }
            )
        )
    );

    let printer: Box<dyn ExternalPrinter + Send> = match editor.create_external_printer() {
        Ok(p) => Box::new(p),
        Err(_) => Box::new(Plain),
    };
    let (requests, requests_rx) = mpsc::channel::<Request>();
    let (answers_tx, answers) = mpsc::channel::<Answer>();
    let layout = if options.pretty {
        Layout::Pretty
    } else {
        Layout::Compact
    };
    let timeout = options.timeout;
    let connection = thread::spawn(move || {
        serve(
            qmp,
            handle,
            requests_rx,
            answers_tx,
            printer,
            layout,
            timeout,
        )
    });

    let mut transaction: Option<Vec<Vec<u8>>> = None;
    let mut code = exit::OK;
    loop {
        let prompt = match (&transaction, options.hmp) {
            (Some(_), _) => "TRANS> ",
            (None, true) => "(HMP) ",
            (None, false) => "(QEMU) ",
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            // Ctrl-C clears the line, as in a shell.
            Err(ReadlineError::Interrupted) => {
                transaction = None;
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                crate::complain(&format!("reading the line: {e}"));
                code = exit::FAILURE;
                break;
            }
        };
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(trimmed);
        // Shell words of our own.
        if transaction.is_none() && !options.hmp {
            if trimmed == "help" {
                print!("{}", columns(&catalog.commands, 100));
                println!(
                    "help CMD shows a command's arguments. transaction( starts a \
                     transaction: one action per line, ) sends it."
                );
                continue;
            }
            if let Some(name) = trimmed.strip_prefix("help ") {
                match catalog.help(name.trim()) {
                    Some(text) => print!("{text}"),
                    None => eprintln!("no command {:?}", name.trim()),
                }
                continue;
            }
        }
        let command = match build(trimmed, &mut transaction, options.hmp) {
            Ok(Some(command)) => command,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("{}", Style::stderr().paint(Paint::Bad, &e));
                continue;
            }
        };
        if options.verbose {
            println!("{}", style.paint(Paint::Dim, &command.text()));
        }
        if requests
            .send(Request {
                command,
                hmp: options.hmp,
            })
            .is_err()
        {
            code = exit::FAILURE;
            break;
        }
        match answers.recv() {
            Ok(Answer::Returned(text)) => print!("{text}"),
            Ok(Answer::Refused(text)) => {
                eprintln!("{}", Style::stderr().paint(Paint::Refused, &text))
            }
            Ok(Answer::Failed(text)) => {
                crate::complain(&text);
                code = exit::FAILURE;
                break;
            }
            Err(_) => {
                code = exit::FAILURE;
                break;
            }
        }
    }
    if let Some(path) = &options.history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
    drop(requests);
    if let Ok(Some(message)) = connection.join() {
        if code == exit::OK {
            crate::complain(&message);
            code = exit::FAILURE;
        }
    }
    code
}

/// A line as a command: in `transaction(` mode, actions are collected until `)`.
/// `Ok(None)`: nothing to send yet.
fn build(
    line: &str,
    transaction: &mut Option<Vec<Vec<u8>>>,
    hmp: bool,
) -> Result<Option<Typed>, String> {
    if hmp {
        let mut text = Vec::from(&b"human-monitor-command command-line="[..]);
        json::quote(line, &mut text);
        return Typed::parse(&String::from_utf8_lossy(&text)).map(Some);
    }
    let mut rest = line;
    if transaction.is_none() {
        match rest.strip_prefix("transaction(") {
            Some(after) => {
                *transaction = Some(Vec::new());
                rest = after.trim();
            }
            None => return Typed::parse(line).map(Some),
        }
    }
    let finish = rest.ends_with(')');
    if finish {
        rest = rest[..rest.len() - 1].trim();
    }
    let actions = transaction.as_mut().expect("in a transaction");
    for action in rest.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let typed = match Typed::parse(action) {
            Ok(t) => t,
            Err(e) => {
                return Err(format!(
                    "{e} (the action is not added; go on, or Ctrl-C to drop the transaction)"
                ))
            }
        };
        let mut entry = b"{\"type\":\"".to_vec();
        entry.extend_from_slice(typed.name().as_bytes());
        entry.extend_from_slice(b"\",\"data\":");
        match typed.arguments() {
            Some(args) => entry.extend_from_slice(args.as_bytes()),
            None => entry.extend_from_slice(b"{}"),
        }
        entry.push(b'}');
        actions.push(entry);
    }
    if !finish {
        return Ok(None);
    }
    let actions = transaction.take().unwrap_or_default();
    let mut text = b"{\"execute\":\"transaction\",\"arguments\":{\"actions\":[".to_vec();
    text.extend_from_slice(&actions.join(&b","[..]));
    text.extend_from_slice(b"]}}");
    Typed::parse(&String::from_utf8_lossy(&text)).map(Some)
}

/// `names` in columns across `width` characters, filled down then across, as `ls`.
fn columns(names: &[String], width: usize) -> String {
    let cell = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 2;
    let per_row = (width / cell.max(1)).max(1);
    let rows = names.len().div_ceil(per_row);
    let mut out = String::new();
    for row in 0..rows {
        let mut line = String::new();
        for col in 0..per_row {
            if let Some(name) = names.get(col * rows + row) {
                line.push_str(&format!("{name:<cell$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Prints straight to stdout when there is no terminal to print above.
struct Plain;

impl ExternalPrinter for Plain {
    fn print(&mut self, msg: String) -> rustyline::Result<()> {
        println!("{msg}");
        Ok(())
    }
}

/// The connection thread: run each command, print events in between. Returns why the
/// connection ended, if it failed.
fn serve(
    mut qmp: Qmp,
    handle: Stream,
    requests: Receiver<Request>,
    answers: Sender<Answer>,
    mut printer: Box<dyn ExternalPrinter + Send>,
    layout: Layout,
    timeout: Option<Duration>,
) -> Option<String> {
    let style = Style::stdout();
    let _ = handle.set_read_timeout(Some(POLL));
    loop {
        match requests.try_recv() {
            Ok(request) => {
                let _ = handle.set_read_timeout(timeout);
                let answer = match run_one(&mut qmp, &request.command) {
                    Ok(RawReply::Return(ret)) => {
                        Answer::Returned(format_value(ret.value, layout, request.hmp))
                    }
                    Ok(RawReply::Error(e)) => {
                        let mut text = format!("{}: {}", e.class.name(), e.desc);
                        if let Some(data) = e.data.filter(|d| d.kind() == Kind::Object) {
                            let mut extra = Vec::new();
                            json::compact(data.as_bytes(), &mut extra);
                            text.push_str(&format!(" {}", String::from_utf8_lossy(&extra)));
                        }
                        Answer::Refused(text)
                    }
                    // A reply late beyond the timeout: say so, and go on.
                    Err(e) if e.timed_out => {
                        Answer::Refused(format!("{} (try a longer --timeout)", e.message))
                    }
                    // Skipped whole; the connection is still in step.
                    Err(e) if e.too_large => Answer::Refused(e.message),
                    Err(e) => {
                        let _ = answers.send(Answer::Failed(e.message));
                        return None;
                    }
                };
                let _ = handle.set_read_timeout(Some(POLL));
                if answers.send(answer).is_err() {
                    return None;
                }
                // Events that came with the reply, after it.
                while let Some(event) = qmp.try_next_event() {
                    let _ = printer.print(event_line(&event, style));
                }
            }
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => match qmp.next_event() {
                Ok(event) => {
                    let _ = printer.print(event_line(&event, style));
                }
                Err(Error::Timeout) => {}
                Err(e) => {
                    let message = target::describe(&e, "waiting for events");
                    let _ = printer.print(format!(
                        "{} {message}; Ctrl-D leaves",
                        style.paint(Paint::Bad, "qmp:")
                    ));
                    // Answer the next command with the failure.
                    return match requests.recv() {
                        Ok(_) => {
                            let _ = answers.send(Answer::Failed(message));
                            None
                        }
                        Err(_) => Some(message),
                    };
                }
            },
        }
    }
}

impl Typed {
    /// The command as it goes out, without its id.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{{\"{}\":\"{}\"",
            if self.oob() { "exec-oob" } else { "execute" },
            self.name()
        );
        if let Some(args) = self.arguments() {
            let mut text = Vec::new();
            json::compact(args.as_bytes(), &mut text);
            out.push_str(",\"arguments\":");
            out.push_str(&String::from_utf8_lossy(&text));
        }
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fill_down_then_across() {
        let names: Vec<String> = ["a", "bb", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(columns(&names, 12), "a   c   e\nbb  d\n");
    }

    #[test]
    fn transactions_collect_actions() {
        let mut t = None;
        assert!(build("transaction(", &mut t, false).unwrap().is_none());
        assert!(
            build("block-dirty-bitmap-add node=d0 name=b0", &mut t, false)
                .unwrap()
                .is_none()
        );
        let sent = build("abort )", &mut t, false).unwrap().unwrap();
        assert_eq!(
            sent.text(),
            r#"{"execute":"transaction","arguments":{"actions":[{"type":"block-dirty-bitmap-add","data":{"node":"d0","name":"b0"}},{"type":"abort","data":{}}]}}"#
        );
        assert!(t.is_none());
        let one_line = build("transaction( abort, abort )", &mut t, false)
            .unwrap()
            .unwrap();
        assert_eq!(
            one_line
                .arguments()
                .unwrap()
                .get("actions")
                .unwrap()
                .elements()
                .count(),
            2
        );
        let hmp = build("info status", &mut t, true).unwrap().unwrap();
        assert_eq!(
            hmp.text(),
            r#"{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}"#
        );
    }
}

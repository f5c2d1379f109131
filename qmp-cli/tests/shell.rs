//! `qmp shell` (and `qmp decode` with a terminal on stdin) driven through a
//! pseudo-terminal, as a person would use them, against a real QEMU.

mod common;

use std::process::Command;
use std::time::Duration;

use common::qemu::Endpoint;
use common::{qemu_unix, QMP};
use expectrl::session::OsSession;
use expectrl::{Eof, Expect, Session};
use qmp_core::schema::commands::{Cont, Stop};

/// `qmp ARGS` on a pseudo-terminal, without colour unless `colour`.
fn spawn(args: &[&str], colour: bool) -> OsSession {
    let mut command = Command::new(QMP);
    command.args(args).env("TERM", "xterm-256color");
    if colour {
        command.env_remove("NO_COLOR");
    } else {
        command.env("NO_COLOR", "1");
    }
    let mut session = Session::spawn(command).expect("spawn qmp on a pty");
    session.set_expect_timeout(Some(Duration::from_secs(10)));
    session
}

/// Read until `needle`, failing with what came instead.
fn expect(session: &mut OsSession, needle: &str) -> String {
    match session.expect(needle) {
        Ok(found) => String::from_utf8_lossy(found.before()).into_owned(),
        Err(e) => panic!("waiting for {needle:?}: {e}"),
    }
}

/// Its exit code after Ctrl-D.
fn leave(mut session: OsSession) -> i32 {
    session
        .send(expectrl::ControlCode::EndOfTransmission)
        .unwrap();
    session.expect(Eof).unwrap();
    match session.get_process_mut().wait().unwrap() {
        expectrl::process::unix::WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    }
}

#[test]
fn decode_on_a_terminal_reads_the_bundled_capture() {
    let mut decode = spawn(&["decode", "--no-timing"], false);
    expect(
        &mut decode,
        "The bundled capture testdata/captures/unix_basic.rx.bin",
    );
    let listing = expect(
        &mut decode,
        "messages:      27: 1 greeting, 12 return, 13 error, 1 event",
    );
    assert!(listing.contains("event     SHUTDOWN"), "{listing}");
    expect(&mut decode, "stream errors: 0 (every byte framed)");
    decode.expect(Eof).unwrap();

    // On a terminal without NO_COLOR: colour.
    let mut decode = spawn(&["decode", "--no-timing"], true);
    let coloured = expect(&mut decode, "SHUTDOWN");
    assert!(coloured.contains("\x1b[36m"), "{coloured:?}");
    decode.expect(Eof).unwrap();
}

#[test]
fn shell_commands_completion_help_events_history() {
    let Some((mut qemu, path)) = qemu_unix(|dir| {
        vec![
            "-qmp".to_owned(),
            format!("unix:{},server=on,wait=off", dir.join("ctl.sock").display()),
        ]
    }) else {
        return;
    };
    let sock = path.to_str().unwrap().to_owned();
    let history = qemu.dir().join("history");
    let history_arg = history.to_str().unwrap().to_owned();
    let mut shell = spawn(&["shell", &sock, "--history", &history_arg], false);
    let banner = expect(&mut shell, "(QEMU) ");
    assert!(banner.contains("Connected to QEMU 10."), "{banner}");

    // The human syntax, and the reply compact.
    shell.send_line("query-status").unwrap();
    expect(&mut shell, "{\"status\":\"running\",\"running\":true}");
    expect(&mut shell, "(QEMU) ");

    // An error reply: class and desc.
    shell.send_line("device_del id=net0").unwrap();
    expect(&mut shell, "DeviceNotFound: Device 'net0' not found");
    expect(&mut shell, "(QEMU) ");

    // Raw JSON.
    shell
        .send_line(
            r#"{"execute": "qom-get", "arguments": {"path": "/machine", "property": "type"}}"#,
        )
        .unwrap();
    expect(&mut shell, "\"none-machine\"");
    expect(&mut shell, "(QEMU) ");

    // Tab completes a command name (unique prefix), then an argument name.
    shell.send("qom-ge\t").unwrap();
    expect(&mut shell, "qom-get");
    shell.send(" pa\t").unwrap();
    expect(&mut shell, "path=");
    shell.send("/machine prop\t").unwrap();
    expect(&mut shell, "property=");
    shell.send_line("type").unwrap();
    expect(&mut shell, "\"none-machine\"");
    expect(&mut shell, "(QEMU) ");

    // help CMD: the argument schema.
    shell.send_line("help qom-get").unwrap();
    let help = expect(&mut shell, "returns any");
    assert!(help.contains("path       str"), "{help}");
    assert!(help.contains("property   str"), "{help}");
    expect(&mut shell, "(QEMU) ");

    // An event while the shell waits at its prompt: printed above it.
    let mut ctl = qemu.connect_to(&Endpoint::Unix(qemu.dir().join("ctl.sock")), 64 * 1024);
    ctl.negotiate(false);
    ctl.execute(&Stop);
    expect(&mut shell, "STOP");
    ctl.execute(&Cont);
    expect(&mut shell, "RESUME");

    // A transaction over several lines.
    shell.send_line("transaction(").unwrap();
    expect(&mut shell, "TRANS> ");
    shell.send_line("abort").unwrap();
    expect(&mut shell, "TRANS> ");
    shell.send_line(")").unwrap();
    expect(
        &mut shell,
        "GenericError: Transaction aborted using Abort action",
    );
    expect(&mut shell, "(QEMU) ");

    // A line that does not parse: where, and the shell goes on.
    shell.send_line("device_del id=a id=b").unwrap();
    expect(&mut shell, "the same key is given twice at column 16");
    expect(&mut shell, "(QEMU) ");

    assert_eq!(leave(shell), 0);
    let saved = std::fs::read_to_string(&history).expect("history saved");
    assert!(saved.contains("query-status"), "{saved}");

    // The history persists: a new shell recalls the last line with the up arrow.
    let mut shell = spawn(&["shell", &sock, "--history", &history_arg, "-p"], false);
    expect(&mut shell, "(QEMU) ");
    shell.send("\x1b[A").unwrap();
    expect(&mut shell, "device_del id=a id=b");
    shell.send("\r").unwrap();
    expect(&mut shell, "the same key is given twice at column 16");
    expect(&mut shell, "(QEMU) ");
    shell.send_line("query-status").unwrap();
    // -p: pretty replies.
    expect(&mut shell, "\"status\": \"running\",");
    expect(&mut shell, "(QEMU) ");
    assert_eq!(leave(shell), 0);
}

#[test]
fn shell_hmp_mode() {
    let Some((_qemu, path)) = qemu_unix(|_| Vec::new()) else {
        return;
    };
    let mut shell = spawn(
        &["shell", "-H", path.to_str().unwrap(), "--no-history"],
        false,
    );
    expect(&mut shell, "(HMP) ");
    shell.send_line("info status").unwrap();
    expect(&mut shell, "VM status: running");
    expect(&mut shell, "(HMP) ");
    assert_eq!(leave(shell), 0);
}

#[test]
fn shell_says_when_qemu_goes_away() {
    let Some((qemu, path)) = qemu_unix(|_| Vec::new()) else {
        return;
    };
    let mut shell = spawn(&["shell", path.to_str().unwrap(), "--no-history"], false);
    expect(&mut shell, "(QEMU) ");
    // Killed while the shell waits at its prompt: said at once, above the prompt.
    drop(qemu);
    expect(
        &mut shell,
        "qmp: QEMU closed the connection while waiting for events",
    );
    // The next command gets the failure, and the shell ends with exit code 2.
    shell.send_line("query-status").unwrap();
    shell.expect(Eof).unwrap();
    match shell.get_process_mut().wait().unwrap() {
        expectrl::process::unix::WaitStatus::Exited(_, code) => assert_eq!(code, 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn shell_goes_on_after_a_reply_times_out() {
    let scratch = common::Scratch::new("late-reply");
    let path = scratch.0.join("qmp.sock");
    let _peer = common::scripted_peer(&path, |name| match name {
        "query-commands" => Some((
            Duration::ZERO,
            r#"[{"name": "slow"}, {"name": "fast"}]"#.into(),
        )),
        "query-qmp-schema" => Some((Duration::ZERO, "[]".into())),
        "slow" => Some((Duration::from_millis(1500), r#""late""#.into())),
        // Larger than the shell's 4 MiB buffer.
        "huge" => Some((Duration::ZERO, format!("\"{}\"", "x".repeat(5 << 20)))),
        _ => Some((Duration::ZERO, r#""on time""#.into())),
    });
    let mut shell = spawn(
        &["shell", "-t", "0.5", path.to_str().unwrap(), "--no-history"],
        false,
    );
    let banner = expect(&mut shell, "(QEMU) ");
    assert!(banner.contains("(2 commands)"), "{banner}");
    shell.send_line("huge").unwrap();
    expect(&mut shell, "bytes) is larger than the buffer");
    expect(&mut shell, "(QEMU) ");
    shell.send_line("slow").unwrap();
    expect(
        &mut shell,
        "timed out while waiting for the reply to slow (try a longer --timeout)",
    );
    expect(&mut shell, "(QEMU) ");
    // The late reply arrives meanwhile and is not taken for the next command's.
    std::thread::sleep(Duration::from_millis(1500));
    shell.send_line("fast").unwrap();
    let before = expect(&mut shell, "\"on time\"");
    assert!(!before.contains("late"), "{before}");
    expect(&mut shell, "(QEMU) ");
    assert_eq!(leave(shell), 0);
}

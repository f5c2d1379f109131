//! `qmp exec` against a real QEMU that each test starts, and against targets that do
//! not answer: replies, error replies, exit codes, one-line failures.

mod common;

use std::os::unix::net::UnixListener;

use common::{qemu_unix, qmp, stderr, stdout, Endpoint, Monitor, Qemu};

#[test]
fn returns_errors_json_and_hmp() {
    let Some((_qemu, path)) = qemu_unix(|_| Vec::new()) else {
        return;
    };
    let sock = path.to_str().unwrap();

    // Not a terminal: the return value compact, on one line.
    let out = qmp(&["exec", sock, "query-status"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "{\"status\":\"running\",\"running\":true}\n");
    assert!(out.stderr.is_empty());

    // --pretty re-indents.
    let out = qmp(&["exec", sock, "--pretty", "query-status"]);
    assert_eq!(
        stdout(&out),
        "{\n  \"status\": \"running\",\n  \"running\": true\n}\n"
    );

    // An error reply: exit 1, class and desc on stderr, nothing on stdout.
    let out = qmp(&["exec", sock, "device_del", "id=net0"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(stderr(&out), "DeviceNotFound: Device 'net0' not found\n");
    assert!(out.stdout.is_empty());

    // QMP's own JSON.
    let out = qmp(&[
        "exec",
        sock,
        r#"{"execute": "qom-get", "arguments": {"path": "/machine", "property": "type"}}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "\"none-machine\"\n");

    // A value with a space, its quotes taken by the shell: quoted again.
    let out = qmp(&[
        "exec",
        sock,
        "human-monitor-command",
        "command-line=info status",
    ]);
    assert_eq!(stdout(&out), "\"VM status: running\\r\\n\"\n");

    // -H: HMP through human-monitor-command, its text as it is.
    let out = qmp(&["exec", sock, "-H", "info", "status"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "VM status: running\r\n");

    // stop changes what query-status says: each exec is its own session.
    assert_eq!(qmp(&["exec", sock, "stop"]).status.code(), Some(0));
    let out = qmp(&["exec", sock, "query-status"]);
    assert_eq!(stdout(&out), "{\"status\":\"paused\",\"running\":false}\n");

    // A parameter QEMU does not know: its GenericError.
    let out = qmp(&["exec", sock, "query-status", "bogus=1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "GenericError: Parameter 'bogus' is unexpected\n"
    );
}

#[test]
fn tcp_target() {
    let Some(mut qemu) = Qemu::start(Monitor::Tcp) else {
        return;
    };
    let Endpoint::Tcp(addr) = qemu.release_monitor() else {
        unreachable!()
    };
    let addr = addr.to_string();
    let out = qmp(&["exec", &addr, "query-name"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "{}\n");
    let out = qmp(&["exec", &format!("tcp:{addr}"), "query-status"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// One line on stderr, starting with `qmp: `, and the exit code.
fn one_line(out: &std::process::Output, code: i32) -> String {
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("qmp: "), "{err}");
    assert!(out.stdout.is_empty(), "{out:?}");
    err
}

#[test]
fn unreachable_targets_exit_2() {
    let err = one_line(&qmp(&["exec", "/nonexistent/qmp.sock", "query-status"]), 2);
    assert!(
        err.contains("cannot connect to /nonexistent/qmp.sock"),
        "{err}"
    );

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    let err = one_line(&qmp(&["exec", &target, "query-status"]), 2);
    assert!(err.contains("Connection refused"), "{err}");

    // A socket that accepts and never greets: the timeout.
    let dir = std::env::temp_dir().join(format!("qmp-cli-silent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("silent.sock");
    let _listener = UnixListener::bind(&path).unwrap();
    let started = std::time::Instant::now();
    let err = one_line(
        &qmp(&[
            "exec",
            "--timeout",
            "0.5",
            path.to_str().unwrap(),
            "query-status",
        ]),
        2,
    );
    assert!(err.contains("no QMP greeting within 0.5 s"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_usage_exits_64() {
    let err = one_line(&qmp(&["exec", "/tmp/x.sock"]), 64);
    assert!(err.contains("<COMMAND>"), "{err}");
    let err = one_line(
        &qmp(&["exec", "/tmp/x.sock", "device_del", "id=a", "id=b"]),
        64,
    );
    assert!(err.contains("given twice"), "{err}");
    let err = one_line(&qmp(&["exec", "not-a-target", "query-status"]), 64);
    assert!(
        err.contains("neither a unix socket path nor HOST:PORT"),
        "{err}"
    );
    let err = one_line(&qmp(&["exec", "/tmp/x.sock", "{\"execute\": 1}"]), 64);
    assert!(err.contains("must be a JSON string"), "{err}");
    let err = one_line(&qmp(&["frobnicate"]), 64);
    assert!(err.contains("frobnicate"), "{err}");
}

#[test]
fn events_and_shell_unreachable_exit_2() {
    for sub in ["events", "shell"] {
        let err = one_line(&qmp(&[sub, "/nonexistent/qmp.sock"]), 2);
        assert!(
            err.contains("cannot connect to /nonexistent/qmp.sock"),
            "{sub}: {err}"
        );
        let err = one_line(&qmp(&[sub, "nowhere"]), 64);
        assert!(
            err.contains("neither a unix socket path nor HOST:PORT"),
            "{sub}: {err}"
        );
    }
}

#[test]
fn a_reply_that_never_comes_times_out_with_exit_2() {
    let scratch = common::Scratch::new("no-reply");
    let path = scratch.0.join("qmp.sock");
    let _peer = common::scripted_peer(&path, |_| None);
    let started = std::time::Instant::now();
    let err = one_line(
        &qmp(&["exec", "-t", "0.5", path.to_str().unwrap(), "query-status"]),
        2,
    );
    assert!(
        err.contains("timed out while waiting for the reply to query-status"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

//! Where QEMU's monitor is (`TARGET`), connecting to it, and saying why that failed.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use qmp_core::io::std::StdIo;
use qmp_core::io::{Connection, Error};
use qmp_core::json::RawJson;

/// The largest message a connection reads: QEMU 10's `query-qmp-schema` reply is
/// 236 KB; leave room for growth.
pub const BUFFER: usize = 4 << 20;
/// The bytes of events queued while a command waits for its reply.
pub const EVENT_QUEUE: usize = 64 * 1024;

/// A connection to QEMU, over either socket kind.
pub type Qmp = Connection<StdIo<Stream>, Vec<u8>, 8, EVENT_QUEUE>;
/// What a connection's calls fail with.
pub type QmpError = Error<io::Error>;

/// Where the monitor listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A unix socket path (`/run/vm.qmp`, `./qmp.sock`, `unix:PATH`).
    Unix(PathBuf),
    /// `HOST:PORT` (`localhost:4444`, `[::1]:4444`, `tcp:HOST:PORT`).
    Tcp(String),
}

impl Target {
    /// Read `TARGET` as QEMU's own option would be written, or as a plain path or
    /// `HOST:PORT`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(Self::Unix(path.split(',').next().unwrap_or(path).into()));
        }
        if let Some(addr) = text.strip_prefix("tcp:") {
            return Ok(Self::Tcp(addr.split(',').next().unwrap_or(addr).into()));
        }
        if text.contains('/') || Path::new(text).exists() {
            return Ok(Self::Unix(text.into()));
        }
        if let Some((host, port)) = text.rsplit_once(':') {
            if !host.is_empty() && port.parse::<u16>().is_ok() {
                return Ok(Self::Tcp(text.into()));
            }
        }
        Err(format!(
            "{text:?} is neither a unix socket path nor HOST:PORT (a socket in the current \
             folder is ./NAME)"
        ))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "{}", path.display()),
            Self::Tcp(addr) => f.write_str(addr),
        }
    }
}

/// A connected socket of either kind.
#[derive(Debug)]
pub enum Stream {
    /// A unix socket.
    Unix(UnixStream),
    /// A TCP connection.
    Tcp(TcpStream),
}

impl Stream {
    /// Another handle to the same socket (to change its timeouts while a connection
    /// owns the first, or to shut it down from another thread).
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(match self {
            Self::Unix(s) => Self::Unix(s.try_clone()?),
            Self::Tcp(s) => Self::Tcp(s.try_clone()?),
        })
    }

    /// Set the read timeout (`None`: wait for ever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Self::Unix(s) => s.set_read_timeout(timeout),
            Self::Tcp(s) => s.set_read_timeout(timeout),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.read(buf),
            Self::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Unix(s) => s.write(buf),
            Self::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Unix(s) => s.flush(),
            Self::Tcp(s) => s.flush(),
        }
    }
}

/// Open the socket, with `timeout` for connecting and for each read and write.
pub fn open(target: &Target, timeout: Option<Duration>) -> io::Result<Stream> {
    let stream = match target {
        Target::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
        Target::Tcp(addr) => {
            let mut last = None;
            let mut found = None;
            for addr in addr.to_socket_addrs()? {
                let stream = match timeout {
                    Some(t) => TcpStream::connect_timeout(&addr, t),
                    None => TcpStream::connect(addr),
                };
                match stream {
                    Ok(s) => {
                        found = Some(s);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            let stream = match found {
                Some(s) => s,
                None => {
                    return Err(last.unwrap_or_else(|| {
                        io::Error::new(io::ErrorKind::NotFound, "no address to connect to")
                    }))
                }
            };
            stream.set_nodelay(true)?;
            Stream::Tcp(stream)
        }
    };
    stream.set_read_timeout(timeout)?;
    match &stream {
        Stream::Unix(s) => s.set_write_timeout(timeout)?,
        Stream::Tcp(s) => s.set_write_timeout(timeout)?,
    }
    Ok(stream)
}

/// Connect, read the greeting and negotiate; also a second handle to the socket.
/// The error is one line for the user.
pub fn connect(target: &Target, timeout: Option<Duration>) -> Result<(Qmp, Stream), String> {
    let stream = open(target, timeout).map_err(|e| format!("cannot connect to {target}: {e}"))?;
    let handle = stream
        .try_clone()
        .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    match Connection::connect(StdIo(stream), vec![0u8; BUFFER]) {
        Ok(qmp) => Ok((qmp, handle)),
        Err(Error::Timeout) => Err(format!(
            "{target}: no QMP greeting within {} (QEMU serves one client at a time: is \
             another one connected? Is this a QMP monitor?)",
            describe_timeout(timeout)
        )),
        Err(e) => Err(format!("{target}: {}", describe(&e, "negotiating"))),
    }
}

/// `5 s`, or `ever`.
pub fn describe_timeout(timeout: Option<Duration>) -> String {
    match timeout {
        Some(t) => format!("{} s", t.as_secs_f64()),
        None => "ever".into(),
    }
}

/// A failed call, as one line: `while` says what was going on.
pub fn describe(error: &QmpError, while_: &str) -> String {
    match error {
        Error::Closed => format!("QEMU closed the connection while {while_}"),
        Error::Timeout => format!("timed out while {while_}"),
        Error::NoGreeting => "the peer did not greet with QMP: not a QMP monitor".into(),
        Error::Failed(e) => format!("QEMU refused while {while_}: {}: {}", e.class(), e.desc()),
        Error::Io(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            format!("QEMU reset the connection while {while_}")
        }
        e => format!("{e} (while {while_})"),
    }
}

/// The command a user typed, as a name and raw JSON arguments: either QMP's own JSON
/// (`{"execute": NAME, "arguments": {...}}`) or the human syntax
/// (`device_del id=net0`, see `qmp_core::shell`). Holds the encoded bytes.
#[derive(Debug)]
pub struct Typed {
    json: Vec<u8>,
    oob: bool,
}

impl Typed {
    /// Read `line`; the error is one line for the user.
    pub fn parse(line: &str) -> Result<Self, String> {
        let line = line.trim();
        if line.starts_with('{') {
            let raw =
                RawJson::parse(line.as_bytes()).map_err(|e| format!("not valid JSON: {e}"))?;
            let [execute, oob] = raw.get_all(["execute", "exec-oob"]);
            let (name, oob) = match (execute, oob) {
                (Some(name), None) => (name, false),
                (None, Some(name)) => (name, true),
                _ => {
                    return Err(
                        "a JSON command needs \"execute\" (or \"exec-oob\") and a name".into(),
                    )
                }
            };
            if name.as_json_str().is_none() {
                return Err("the command name must be a JSON string".into());
            }
            if let Some(args) = raw.get("arguments") {
                if args.kind() != qmp_core::json::Kind::Object {
                    return Err("\"arguments\" must be an object".into());
                }
            }
            return Ok(Self {
                json: line.as_bytes().to_vec(),
                oob,
            });
        }
        let command = qmp_core::shell::ShellCommand::parse(line).map_err(|e| {
            format!(
                "{e}: {}\u{2038}{}",
                &line[..e.column.min(line.len())],
                &line[e.column.min(line.len())..]
            )
        })?;
        let mut buf = vec![0u8; line.len() * 12 + 128];
        let n = command
            .to_slice(&mut buf, None)
            .map_err(|e| format!("cannot encode the command: {e}"))?;
        buf.truncate(n);
        Ok(Self {
            json: buf,
            oob: false,
        })
    }

    /// The words of a command line given as separate arguments (`qmp exec T device_del
    /// id=net0`), as one line: a value with whitespace in it (the shell took its
    /// quotes away) is quoted again as a JSON string.
    pub fn from_words(words: &[String]) -> Result<Self, String> {
        let first = words.first().map(String::as_str).unwrap_or("");
        if first.trim_start().starts_with('{') {
            return Self::parse(&words.join(" "));
        }
        let mut line = String::new();
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            match word.split_once('=') {
                Some((key, value))
                    if i > 0
                        && value.contains(char::is_whitespace)
                        && !value.starts_with(['{', '[', '"']) =>
                {
                    let mut quoted = Vec::new();
                    crate::json::quote(value, &mut quoted);
                    line.push_str(key);
                    line.push('=');
                    line.push_str(&String::from_utf8_lossy(&quoted));
                }
                _ => line.push_str(word),
            }
        }
        Self::parse(&line)
    }

    /// The command's name (escaped as on the wire).
    pub fn name(&self) -> &str {
        self.raw()
            .get_all(["execute", "exec-oob"])
            .into_iter()
            .flatten()
            .find_map(|n| n.as_json_str())
            .map(|n| n.raw())
            .unwrap_or("")
    }

    /// `exec-oob`?
    pub fn oob(&self) -> bool {
        self.oob
    }

    /// The arguments, if any.
    pub fn arguments(&self) -> Option<RawJson<'_>> {
        self.raw().get("arguments")
    }

    fn raw(&self) -> RawJson<'_> {
        RawJson::parse(&self.json).expect("checked when parsed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("/run/vm.qmp"),
            Ok(Target::Unix("/run/vm.qmp".into()))
        );
        assert_eq!(
            Target::parse("unix:/tmp/q.sock,server=on"),
            Ok(Target::Unix("/tmp/q.sock".into()))
        );
        assert_eq!(
            Target::parse("localhost:4444"),
            Ok(Target::Tcp("localhost:4444".into()))
        );
        assert_eq!(
            Target::parse("[::1]:4444"),
            Ok(Target::Tcp("[::1]:4444".into()))
        );
        assert_eq!(
            Target::parse("tcp:127.0.0.1:4444,server=on"),
            Ok(Target::Tcp("127.0.0.1:4444".into()))
        );
        assert!(Target::parse("no-such-thing").is_err());
    }

    #[test]
    fn typed_commands() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = Typed::from_words(&words(&["device_del", "id=net0"])).unwrap();
        assert_eq!(c.name(), "device_del");
        assert_eq!(c.arguments().unwrap().as_bytes(), br#"{"id":"net0"}"#);
        let c = Typed::from_words(&words(&[
            "human-monitor-command",
            "command-line=info version",
        ]))
        .unwrap();
        assert_eq!(
            c.arguments().unwrap().as_bytes(),
            br#"{"command-line":"info version"}"#
        );
        let c = Typed::from_words(&words(&["query-status"])).unwrap();
        assert!(c.arguments().is_none());
        let c = Typed::parse(r#"{"execute": "qom-list", "arguments": {"path": "/"}}"#).unwrap();
        assert_eq!(c.name(), "qom-list");
        assert!(!c.oob());
        assert_eq!(c.arguments().unwrap().as_bytes(), br#"{"path": "/"}"#);
        let e = Typed::parse("device_del id=a id=b").unwrap_err();
        assert!(e.ends_with("id=a \u{2038}id=b"), "{e}");
        assert!(Typed::parse(r#"{"arguments": {}}"#).is_err());
        assert!(Typed::parse(r#"{"execute": "x""#).is_err());
    }
}

//! Every described text is its `Display` text, word for word: the texts below are the
//! ones `Display` wrote with `write!` before it went through [`Describe`].

extern crate std;

use std::string::{String, ToString};

use super::{decimal, Describe};
use crate::encode::{BufferFull, EncodeError};
use crate::frame::FrameError;
use crate::message::{MessageError, MessageErrorKind};
use crate::scan::{ScanError, ScanErrorKind};
use crate::session::{ClientError, ClientMisuse, ClientState};
use crate::shell::{ShellError, ShellErrorKind};

fn described(value: &dyn Describe) -> String {
    let mut text = String::new();
    value.describe(&mut |piece| text.push_str(piece));
    text
}

/// Described as expected, and displayed the same.
fn check<T: Describe + core::fmt::Display>(value: T, expected: &str) {
    assert_eq!(described(&value), expected);
    assert_eq!(value.to_string(), expected);
}

#[test]
fn decimal_writes_every_digit() {
    for n in [0, 7, 10, 99, 100, 4_294_967_296, u64::MAX] {
        let mut text = String::new();
        decimal(n, &mut |piece| text.push_str(piece));
        assert_eq!(text, n.to_string());
    }
}

#[test]
fn scan_and_frame_errors() {
    let error = ScanError {
        kind: ScanErrorKind::InvalidLiteral,
        offset: 17,
    };
    check(error, "invalid literal at byte 17");
    check(
        FrameError::Invalid {
            error,
            start: 12,
            skipped: 9,
        },
        "invalid literal at byte 17; skipped 9 bytes from byte 12 to resynchronise",
    );
    check(
        FrameError::TooLarge {
            start: 0,
            len: 18_446_744_073_709_551_615,
        },
        "message of 18446744073709551615 bytes at byte 0 is larger than the buffer; skipped",
    );
}

#[test]
fn message_errors() {
    use MessageErrorKind::*;
    for (kind, text) in [
        (NotAnObject, "QMP message is not a JSON object"),
        (Unrecognised, "QMP message of unknown kind"),
        (Ambiguous, "QMP message has the keys of several kinds"),
        (DuplicateMember("id"), "member 'id' appears twice"),
        (WrongType("event"), "member 'event' has the wrong type"),
        (MissingMember("timestamp"), "member 'timestamp' is missing"),
    ] {
        check(kind, text);
        check(
            MessageError { kind, offset: 3 },
            &std::format!("{text} at byte 3"),
        );
    }
}

#[test]
fn shell_errors() {
    check(
        ShellError {
            kind: ShellErrorKind::DuplicateKey,
            column: 19,
        },
        "the same key is given twice at column 19",
    );
    check(
        ShellError {
            kind: ShellErrorKind::InvalidJson(ScanErrorKind::UnexpectedEnd),
            column: 0,
        },
        "invalid JSON value: unexpected end of input at column 0",
    );
}

#[test]
fn client_errors() {
    for (state, text) in [
        (ClientState::AwaitingGreeting, "awaiting the greeting"),
        (
            ClientState::Greeted { oob_offered: true },
            "greeted, not negotiated",
        ),
        (ClientState::Negotiating { oob: false }, "negotiating"),
        (ClientState::Ready { oob: true }, "ready"),
        (ClientState::Closed, "closed"),
    ] {
        check(state, text);
        check(
            ClientMisuse::CannotNegotiate(state),
            &std::format!("negotiation needs a greeting and no negotiation yet (state: {text})"),
        );
        check(
            ClientMisuse::NotReady(state),
            &std::format!("commands need a negotiated session (state: {text})"),
        );
    }
    for (misuse, text) in [
        (
            ClientMisuse::OobNotEnabled,
            "out-of-band commands need the oob capability",
        ),
        (
            ClientMisuse::OobNotAllowed,
            "this command does not allow out-of-band execution",
        ),
        (ClientMisuse::Closed, "the connection is closed"),
    ] {
        check(misuse, text);
        check(ClientError::<BufferFull>::Misuse(misuse), text);
    }
    check(
        ClientError::<BufferFull>::Busy,
        "too many commands pending: wait for a reply",
    );
    check(
        ClientError::Encode(EncodeError::Sink(BufferFull)),
        "cannot write the command: cannot write the encoded output: buffer full",
    );
}

#[test]
fn encode_errors() {
    for (error, text) in [
        (
            EncodeError::Sink(BufferFull),
            "cannot write the encoded output: buffer full",
        ),
        (
            EncodeError::NonFiniteFloat,
            "JSON cannot express NaN or infinite numbers",
        ),
        (
            EncodeError::KeyMustBeString,
            "JSON object keys must be strings, chars, integers or booleans",
        ),
        (
            EncodeError::NotAnObject,
            "`arguments` and `data` must be JSON objects",
        ),
        (
            EncodeError::NotAnArray,
            "`capabilities` must be a JSON array",
        ),
        (
            EncodeError::Custom,
            "the value's Serialize implementation failed",
        ),
    ] {
        check(error, text);
    }
}

//! Colour: only when the output is a terminal and `NO_COLOR` is not set (to anything).

use std::borrow::Cow;
use std::io::IsTerminal;

/// Whether to colour text for one output stream.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    on: bool,
}

/// What a piece of text is, which decides its colour.
#[derive(Clone, Copy, Debug)]
pub enum Paint {
    /// A greeting, a successful reply.
    Good,
    /// An error reply (the peer refusing a command).
    Refused,
    /// Bytes skipped, a broken stream, a failure of ours.
    Bad,
    /// An event name.
    Event,
    /// Offsets, sizes, times: the frame around the content.
    Dim,
    /// Headings and names.
    Bold,
}

impl Style {
    /// The style for standard output.
    pub fn stdout() -> Self {
        Self::when(std::io::stdout().is_terminal())
    }

    /// The style for standard error.
    pub fn stderr() -> Self {
        Self::when(std::io::stderr().is_terminal())
    }

    /// Colour when `terminal` and `NO_COLOR` is unset.
    pub fn when(terminal: bool) -> Self {
        Self {
            on: terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// `text` in the colour for `paint`, or as it is.
    pub fn paint(self, paint: Paint, text: &str) -> Cow<'_, str> {
        if !self.on {
            return Cow::Borrowed(text);
        }
        let code = match paint {
            Paint::Good => "32",
            Paint::Refused => "33",
            Paint::Bad => "1;31",
            Paint::Event => "36",
            Paint::Dim => "2",
            Paint::Bold => "1",
        };
        Cow::Owned(format!("\x1b[{code}m{text}\x1b[0m"))
    }
}

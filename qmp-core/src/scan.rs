//! A resumable, strict RFC 8259 JSON scanner.
//!
//! [`Scanner`] validates a stream of JSON texts byte by byte and reports where each
//! top-level value ends. It keeps all of its state in a fixed-size struct (under 200
//! bytes), so it can be fed any split of the input: each byte is examined exactly once,
//! and one-byte chunks give the same result as the whole input. It never recurses; nesting
//! is a bit-stack with one bit per open container. On the way it notes where the first
//! few containers directly inside the top-level value end, so that a
//! [`Frame`](crate::frame::Frame)'s message can be parsed without walking them again.
//!
//! What it checks: the full value grammar (objects, arrays, strings, numbers, `true`,
//! `false`, `null`), string escapes including `\u` surrogate pairs (a lone or reversed
//! surrogate is an error), raw control characters in strings (rejected), UTF-8 (overlong
//! forms, encoded surrogates and code points above U+10FFFF rejected) and the nesting
//! limit. It does not decode anything: that is the job of the views built on top.
//!
//! Top-level numbers and literals are complete only at the next delimiter byte
//! (whitespace, a structural character or `"`), or at [`Scanner::finish`]: `12` followed by
//! `3` is the number `123`. This is how QEMU reads them too.
//!
//! [`validate`] checks that a byte slice is exactly one JSON text surrounded by optional
//! whitespace.

use core::fmt;

use crate::describe::{self, Describe};

/// The default maximum nesting depth, the same as QEMU's (`MAX_NESTING` in its streamer).
pub const DEFAULT_MAX_DEPTH: u16 = 1024;

/// The deepest nesting a [`Scanner`] can track, which is also [`DEFAULT_MAX_DEPTH`].
pub const MAX_DEPTH_LIMIT: u16 = 1024;

const STACK_WORDS: usize = MAX_DEPTH_LIMIT as usize / 64;

/// What went wrong, as found by the [`Scanner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScanErrorKind {
    /// A byte that cannot start or continue anything at this point of the grammar.
    UnexpectedByte,
    /// A raw control character (U+0000 to U+001F) inside a string.
    ControlCharacter,
    /// A backslash followed by something other than `" \ / b f n r t u`.
    InvalidEscape,
    /// `\u` not followed by four hexadecimal digits.
    InvalidHexEscape,
    /// A `\u` escape of a UTF-16 surrogate that is not part of a valid pair.
    LoneSurrogate,
    /// Raw bytes that are not valid UTF-8 (including overlong forms and encoded
    /// surrogates).
    InvalidUtf8,
    /// A malformed number, such as `01`, `1.`, `-` or `1e`.
    InvalidNumber,
    /// A malformed literal, such as `tru`, `nul1` or `True`.
    InvalidLiteral,
    /// Nesting deeper than the configured maximum depth.
    TooDeep,
    /// The input ended inside a value.
    UnexpectedEnd,
    /// A `{` at the start of a line, where a value inside an unfinished message was
    /// expected: the framer's line-start rule takes it as the start of a new message. See
    /// [`ScanConfig::line_start_interrupts`].
    Interrupted,
}

impl ScanErrorKind {
    /// A short static description (also what `Display` writes).
    pub const fn description(self) -> &'static str {
        match self {
            Self::UnexpectedByte => "unexpected byte",
            Self::ControlCharacter => "raw control character in string",
            Self::InvalidEscape => "invalid escape sequence in string",
            Self::InvalidHexEscape => "invalid \\u escape in string",
            Self::LoneSurrogate => "unpaired UTF-16 surrogate escape in string",
            Self::InvalidUtf8 => "invalid UTF-8",
            Self::InvalidNumber => "invalid number",
            Self::InvalidLiteral => "invalid literal",
            Self::TooDeep => "nesting too deep",
            Self::UnexpectedEnd => "unexpected end of input",
            Self::Interrupted => "message interrupted by a new message at a line start",
        }
    }
}

impl fmt::Display for ScanErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl Describe for ScanErrorKind {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        out(self.description());
    }
}

/// A JSON syntax error and the absolute byte offset of the byte that revealed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScanError {
    /// What is wrong.
    pub kind: ScanErrorKind,
    /// Absolute offset (from the start of the stream) of the offending byte, or of the end
    /// of input for [`ScanErrorKind::UnexpectedEnd`].
    pub offset: u64,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe::display(self, f)
    }
}

impl Describe for ScanError {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        out(self.kind.description());
        out(" at byte ");
        describe::decimal(self.offset, out);
    }
}

impl core::error::Error for ScanError {}

/// What [`Scanner::scan`] stopped at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// All the input was consumed and the current value (if any) is not finished.
    NeedMore,
    /// A top-level value ended just before the returned consumed count.
    /// [`Scanner::value_start`] says where it began.
    Complete,
    /// The input is not JSON. The offending byte was not consumed. The scanner stays in
    /// this error until [`Scanner::reset`].
    Error(ScanError),
}

/// The scanner's position in the grammar. Container states are combined with the
/// bit-stack to know what encloses the current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between top-level values.
    Idle,
    /// After `{`: a key or `}`.
    ObjKeyOrEnd,
    /// After `,` in an object: a key.
    ObjKey,
    /// After a key: `:`.
    ObjColon,
    /// After `:`: a value.
    ObjValue,
    /// After a member value: `,` or `}`.
    ObjCommaOrEnd,
    /// After `[`: a value or `]`.
    ArrValueOrEnd,
    /// After `,` in an array: a value.
    ArrValue,
    /// After an element: `,` or `]`.
    ArrCommaOrEnd,
    /// Inside a string.
    Str,
    /// After a backslash in a string.
    Escape,
    /// Inside `\uXXXX`: `got` hex digits read so far, `unit` their value. `low` is set
    /// when this escape must be the low half of a surrogate pair.
    Hex { got: u8, unit: u16, low: bool },
    /// After a high-surrogate escape: a backslash must follow.
    PairBackslash,
    /// After a high-surrogate escape and a backslash: `u` must follow.
    PairU,
    /// Inside a multi-byte UTF-8 sequence: `left` continuation bytes to come, the next one
    /// in `lo..=hi`.
    Utf8 { left: u8, lo: u8, hi: u8 },
    /// After `-`.
    Minus,
    /// After a leading `0`.
    Zero,
    /// In the integer digits.
    Int,
    /// After `.`.
    Dot,
    /// In the fraction digits.
    Frac,
    /// After `e` or `E`.
    Exp,
    /// After the exponent sign.
    ExpSign,
    /// In the exponent digits.
    ExpDigits,
    /// Inside literal `which` (an index into `LITERALS`), `pos` bytes matched.
    Literal { which: u8, pos: u8 },
    /// A literal is complete; a delimiter must follow.
    LiteralEnd,
    /// A syntax error was reported; nothing more is accepted until reset.
    Failed,
}

const LITERALS: [&[u8]; 3] = [b"true", b"false", b"null"];

/// How many container ends an [`Outline`] keeps.
const OUTLINE_ENDS: usize = 4;

/// Where the first containers directly inside a top-level value end, recorded by the
/// scanner as it closes them: byte offsets just past each closing bracket, relative to
/// the start of the top-level value, in order. A QMP message has at most a few such
/// members (`timestamp` and `data`, `return`, `arguments`, `error`), so
/// [`Message::parse`](crate::message::Message::parse), walking the members in order,
/// takes the `n`-th container's end from here instead of walking it again. Containers
/// past the first [`OUTLINE_ENDS`], or ending past 4 GiB, are not recorded; their ends
/// are found by walking, as for any other value. The scanner also notes whether the
/// value is all ASCII ([`Frame::is_ascii`](crate::frame::Frame::is_ascii)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Outline {
    ends: [u32; OUTLINE_ENDS],
    /// How many of `ends` are recorded.
    len: u8,
    /// Whether the value holds a byte above 0x7F (inside a string, the only place
    /// where valid JSON has one).
    non_ascii: bool,
}

impl Outline {
    /// Nothing recorded.
    pub(crate) const EMPTY: Self = Self {
        ends: [0; OUTLINE_ENDS],
        len: 0,
        non_ascii: false,
    };

    /// An outline with the given ends, of an ASCII value (tests build the expected
    /// ones).
    #[cfg(test)]
    pub(crate) fn from_ends(ends: &[u32]) -> Self {
        let mut outline = Self::EMPTY;
        for &end in ends.iter().take(OUTLINE_ENDS) {
            outline.ends[outline.len as usize] = end;
            outline.len += 1;
        }
        outline
    }

    /// Record the end of the next container, relative to the top-level value. Ends
    /// only grow, so once one is past 4 GiB and left out, so are all later ones: none
    /// takes another's place.
    #[inline(always)]
    fn record(&mut self, end: u64) {
        if let (Some(slot), Ok(end)) = (self.ends.get_mut(self.len as usize), u32::try_from(end)) {
            *slot = end;
            self.len += 1;
        }
    }

    /// The same, of a value with (`true`) or without a byte above 0x7F (tests).
    #[cfg(test)]
    pub(crate) fn with_non_ascii(mut self, non_ascii: bool) -> Self {
        self.non_ascii = non_ascii;
        self
    }

    /// Whether the value holds a byte above 0x7F.
    #[inline]
    pub(crate) const fn non_ascii(&self) -> bool {
        self.non_ascii
    }

    /// The end of the `n`-th container, if recorded.
    #[inline]
    pub(crate) fn end(&self, n: usize) -> Option<usize> {
        if n < self.len as usize {
            self.ends.get(n).map(|&end| end as usize)
        } else {
            None
        }
    }
}

// Byte classes.
const C_OTHER: u8 = 0;
const C_WS: u8 = 1;
/// Plain string content: printable ASCII other than `"` and `\`.
const C_PLAIN: u8 = 2;
/// A byte that ends a number or literal: whitespace, `,` `:` `[` `]` `{` `}` `"`.
const C_DELIM: u8 = 4;

const fn build_classes() -> [u8; 256] {
    let mut t = [C_OTHER; 256];
    let mut b = 0x20;
    while b < 0x80 {
        t[b] = C_PLAIN;
        b += 1;
    }
    t[b'"' as usize] = C_DELIM;
    t[b'\\' as usize] = C_OTHER;
    t[b' ' as usize] = C_PLAIN | C_WS | C_DELIM;
    t[b'\t' as usize] = C_WS | C_DELIM;
    t[b'\n' as usize] = C_WS | C_DELIM;
    t[b'\r' as usize] = C_WS | C_DELIM;
    let delims = b",:[]{}";
    let mut i = 0;
    while i < delims.len() {
        t[delims[i] as usize] |= C_DELIM;
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = build_classes();

#[inline(always)]
pub(crate) fn is_ws(b: u8) -> bool {
    CLASS[b as usize] & C_WS != 0
}

#[inline(always)]
pub(crate) fn is_delim(b: u8) -> bool {
    CLASS[b as usize] & C_DELIM != 0
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Index of the first byte at or after `i` that is not plain string content (`"`, `\`,
/// a control character or a non-ASCII byte), or `s.len()`.
///
/// Eight bytes at a time: the classic "has zero byte" test reports the lowest matching
/// byte exactly (false positives only occur above a true match, through the borrow), so
/// the lowest set bit of the combined mask is the first special byte.
#[inline(always)]
pub(crate) fn skip_plain(s: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = s.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*chunk);
        let quote = w ^ (ONES * b'"' as u64);
        let bslash = w ^ (ONES * b'\\' as u64);
        // The `& !x` terms of the textbook test only clear high bits of bytes that are
        // >= 0x80 themselves, which `| w` reports anyway.
        let mask = (quote.wrapping_sub(ONES)
            | bslash.wrapping_sub(ONES)
            | w.wrapping_sub(ONES * 0x20)
            | w)
            & HIGHS;
        if mask != 0 {
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if CLASS[b as usize] & C_PLAIN == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// Index of the first non-whitespace byte at or after `i`, or `s.len()`. Runs of spaces
/// (pretty-printed indentation) go eight at a time.
#[inline(always)]
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    // Compact QEMU output has exactly one space after `:` and `,`.
    if s.get(i) == Some(&b' ') && s.get(i + 1).is_some_and(|&b| !is_ws(b)) {
        return i + 1;
    }
    loop {
        match s.get(i) {
            Some(&b) if is_ws(b) => i += 1,
            _ => return i,
        }
        while let Some(chunk) = s.get(i..).and_then(|r| r.first_chunk::<8>()) {
            if u64::from_le_bytes(*chunk) != ONES * b' ' as u64 {
                break;
            }
            i += 8;
        }
    }
}

/// Index of the first byte at or after `i` that is not an ASCII digit, or `s.len()`.
#[inline(always)]
fn skip_digits(s: &[u8], mut i: usize) -> usize {
    while let Some(b) = s.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        i += 1;
    }
    i
}

/// Scanner (and [framer](crate::frame::Framer)) settings.
///
/// Two presets: [`qmp`](Self::qmp), what a [`Framer`](crate::frame::Framer) uses unless
/// told otherwise, and [`json`](Self::json), strict RFC 8259 for any concatenated JSON
/// and what a bare [`Scanner::new`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanConfig {
    /// Maximum nesting depth, 1 to [`MAX_DEPTH_LIMIT`]; larger values are clamped.
    pub max_depth: u16,
    /// Report [`ScanErrorKind::Interrupted`] for a `{` at the very start of a line (right
    /// after LF) where a value inside a container is expected: a new message begins
    /// there, and the unfinished one is dropped. QEMU never writes such a line inside a
    /// message; see the [framer's resynchronisation rule](crate::frame#resynchronisation-rule).
    pub line_start_interrupts: bool,
    /// After an error, also resynchronise at a `{` anywhere, not only at the start of a
    /// line: what a server needs, whose clients (QEMU's own Python one included) send
    /// requests back to back without a newline. QEMU's input engine resumes at the next
    /// structural character after bad bytes, so the next request is not lost; see the
    /// [framer's resynchronisation rule](crate::frame#resynchronisation-rule).
    pub resync_at_any_brace: bool,
}

impl ScanConfig {
    /// For QMP streams: depth 1024 (as QEMU), line-start interrupts on.
    pub const fn qmp() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            line_start_interrupts: true,
            resync_at_any_brace: false,
        }
    }

    /// For what a QMP server reads (a client's requests): depth 1024, no line-start
    /// interrupts (QEMU reads a `{` at the start of a line inside a message as part of
    /// it), and after an error the next `{` anywhere starts a new message.
    pub const fn qmp_server() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            line_start_interrupts: false,
            resync_at_any_brace: true,
        }
    }

    /// For arbitrary JSON: depth 1024, line-start interrupts off (`[` LF `{}]` is one
    /// valid text).
    pub const fn json() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            line_start_interrupts: false,
            resync_at_any_brace: false,
        }
    }

    /// The same settings with another maximum depth.
    pub const fn with_max_depth(mut self, max_depth: u16) -> Self {
        self.max_depth = max_depth;
        self
    }
}

/// A resumable strict JSON scanner. See the [module docs](self).
///
/// ```
/// use qmp_core::scan::{Scanner, Step};
///
/// let mut s = Scanner::new();
/// // Partial input is a state, not an error.
/// assert_eq!(s.scan(b"{\"return\": {"), (12, Step::NeedMore));
/// // The rest completes the value; the trailing CRLF is left for the next call.
/// assert_eq!(s.scan(b"}}\r\n"), (2, Step::Complete));
/// assert_eq!(s.value_start(), 0);
/// assert_eq!(s.offset(), 14);
/// ```
#[derive(Clone, Debug)]
pub struct Scanner {
    state: State,
    /// Whether the string being scanned is an object key.
    key: bool,
    /// Number of open containers.
    depth: u16,
    config: ScanConfig,
    /// Bit `d` set: the container at depth `d + 1` is an object.
    stack: [u64; STACK_WORDS],
    /// Absolute offset of the next byte to scan.
    offset: u64,
    /// Absolute offset where the current (or last) top-level value began.
    value_start: u64,
    /// The last byte consumed, for the line-start rule across chunk boundaries.
    last: u8,
    /// Where the first containers directly inside the current (or last) top-level
    /// value end.
    outline: Outline,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    /// A scanner for arbitrary JSON ([`ScanConfig::json`]), at offset 0.
    pub const fn new() -> Self {
        Self::with_config(ScanConfig::json())
    }

    /// A scanner with the given configuration, at offset 0.
    pub const fn with_config(config: ScanConfig) -> Self {
        let mut config = config;
        if config.max_depth > MAX_DEPTH_LIMIT {
            config.max_depth = MAX_DEPTH_LIMIT;
        }
        Self {
            state: State::Idle,
            key: false,
            depth: 0,
            config,
            stack: [0; STACK_WORDS],
            offset: 0,
            value_start: 0,
            last: b'\n',
            outline: Outline::EMPTY,
        }
    }

    /// The configuration in use.
    pub const fn config(&self) -> ScanConfig {
        self.config
    }

    /// Absolute offset of the next byte to be scanned.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Absolute offset where the current top-level value began (after [`Step::Complete`],
    /// where the completed one began). After an error between values, the offset of the
    /// offending byte.
    pub const fn value_start(&self) -> u64 {
        self.value_start
    }

    /// Whether the scanner is between top-level values (no value begun).
    pub const fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// The last byte consumed (`b'\n'` at the start of a stream).
    pub const fn last_byte(&self) -> u8 {
        self.last
    }

    /// Current nesting depth (open objects and arrays).
    pub const fn depth(&self) -> u16 {
        self.depth
    }

    /// Where the containers directly inside the current (or last) top-level value end,
    /// relative to its start.
    pub(crate) const fn outline(&self) -> Outline {
        self.outline
    }

    /// Forget any partial value or error and continue as if a new stream began at
    /// absolute offset `offset`, with `last` the byte just before it (use `b'\n'` for a
    /// fresh line).
    pub fn reset(&mut self, offset: u64, last: u8) {
        self.state = State::Idle;
        self.key = false;
        self.depth = 0;
        self.offset = offset;
        self.value_start = offset;
        self.last = last;
        self.outline = Outline::EMPTY;
    }

    /// Signal the end of input. Completes a pending top-level number or literal
    /// (`Ok(true)`), reports nothing to do between values (`Ok(false)`), or reports a value
    /// cut short ([`ScanErrorKind::UnexpectedEnd`]).
    pub fn finish(&mut self) -> Result<bool, ScanError> {
        if self.is_idle() {
            Ok(false)
        } else if self.end_scalar() {
            Ok(true)
        } else {
            Err(self.fail(ScanErrorKind::UnexpectedEnd, self.offset))
        }
    }

    /// Whether the current value is a top-level number or literal that is complete as
    /// it stands: the next delimiter byte (not part of it) or [`finish`](Self::finish)
    /// ends it, and any other byte either continues it or is an error in it.
    pub(crate) const fn ends_at_delimiter(&self) -> bool {
        self.depth == 0
            && matches!(
                self.state,
                State::Zero | State::Int | State::Frac | State::ExpDigits | State::LiteralEnd
            )
    }

    /// If [`ends_at_delimiter`](Self::ends_at_delimiter), end the value here, as a
    /// delimiter byte would (without consuming anything), and return true.
    pub(crate) fn end_scalar(&mut self) -> bool {
        let ends = self.ends_at_delimiter();
        if ends {
            self.state = State::Idle;
        }
        ends
    }

    fn fail(&mut self, kind: ScanErrorKind, offset: u64) -> ScanError {
        if matches!(self.state, State::Idle) {
            self.value_start = offset;
        }
        self.state = State::Failed;
        ScanError { kind, offset }
    }

    /// Scan `input`, which continues the stream at [`Scanner::offset`]. Returns the
    /// number of bytes consumed and why scanning stopped. On [`Step::Complete`] the rest
    /// of the input (after the consumed bytes) is still to be scanned.
    pub fn scan(&mut self, input: &[u8]) -> (usize, Step) {
        let (used, step) = self.run(input);
        if used > 0 {
            self.last = input[used - 1];
        }
        self.offset += used as u64;
        (used, step)
    }

    /// The state machine proper. `i` is the index of the next byte.
    #[inline(always)]
    fn run(&mut self, s: &[u8]) -> (usize, Step) {
        // The hot state lives in locals (registers) and is written back on every exit.
        let mut i = 0usize;
        let mut st = self.state;
        let mut key = self.key;
        let mut depth = self.depth;
        macro_rules! ret {
            ($step:expr) => {{
                self.state = st;
                self.key = key;
                self.depth = depth;
                return (i, $step);
            }};
        }
        macro_rules! fail {
            ($kind:expr) => {{
                let offset = self.offset + i as u64;
                if matches!(st, State::Idle) {
                    self.value_start = offset;
                }
                st = State::Failed;
                ret!(Step::Error(ScanError {
                    kind: $kind,
                    offset
                }));
            }};
        }
        // A container closed in the general states (`i` is just past its bracket): one
        // level up, and the outline records containers that return to depth 1. The
        // fast path in `next_string!` leaves those closes to the general states, so
        // that this code exists at four sites rather than at every expansion.
        macro_rules! closed {
            () => {
                depth -= 1;
                if depth == 1 {
                    let end = (self.offset + i as u64).wrapping_sub(self.value_start);
                    self.outline.record(end);
                }
            };
        }
        // Fast paths that skip the dispatch loop for the common token sequences. Each
        // only moves forward over bytes it fully checks; anything unusual (including
        // every error) is left to the general states, which then see the same bytes.
        //
        // Begin a value at index `j` (`j >= 1`), going on into the first key of an
        // object.
        macro_rules! try_begin {
            ($j:expr) => {{
                let j = $j;
                match s.get(j) {
                    Some(&b'"') => {
                        i = j + 1;
                        st = State::Str;
                    }
                    Some(&v)
                        if !(v == b'{'
                            && self.config.line_start_interrupts
                            && s.get(j.wrapping_sub(1)) == Some(&b'\n')) =>
                    {
                        if let Ok(next) =
                            begin_value(&mut self.stack, &mut depth, self.config.max_depth, v)
                        {
                            i = j + 1;
                            st = next;
                            if matches!(next, State::ObjKeyOrEnd) && s.get(i) == Some(&b'"') {
                                i += 1;
                                key = true;
                                st = State::Str;
                            }
                        }
                    }
                    _ => {}
                }
            }};
        }
        // After a value inside a container (`st` is ObjCommaOrEnd or ArrCommaOrEnd): the
        // closing brackets that follow at once, then `,` and the next key or element.
        macro_rules! next_string {
            () => {
                loop {
                    match s.get(i) {
                        Some(b',') => {
                            let j = skip_ws(s, i + 1);
                            if matches!(st, State::ObjCommaOrEnd) {
                                if s.get(j) == Some(&b'"') {
                                    i = j + 1;
                                    key = true;
                                    st = State::Str;
                                }
                            } else {
                                try_begin!(j);
                            }
                            break;
                        }
                        // A container closing back to depth 1 goes through the
                        // general states, which record it in the outline.
                        Some(b'}') if matches!(st, State::ObjCommaOrEnd) && depth != 2 => {}
                        Some(b']') if matches!(st, State::ArrCommaOrEnd) && depth != 2 => {}
                        _ => break,
                    }
                    i += 1;
                    depth -= 1;
                    st = after_value!();
                    if matches!(st, State::Idle) {
                        ret!(Step::Complete);
                    }
                }
            };
        }
        // `next_string!` where a value ended outside a string (a close, a number, a
        // literal). In wasm32 builds these sites leave it to the general states, which
        // see the same bytes: its seven copies there cost 7.7 KB of the npm
        // package's .wasm and measured no faster in Node. `--cfg qmp_compact_scanner`
        // builds that variant on any target, so that the native tests run it too
        // (scripts/test does).
        macro_rules! next_string_outside {
            () => {
                #[cfg(not(any(target_arch = "wasm32", qmp_compact_scanner)))]
                next_string!();
            };
        }
        macro_rules! after_value {
            () => {
                if depth == 0 {
                    State::Idle
                } else {
                    let d = (depth - 1) as usize;
                    if self.stack[d / 64] & (1 << (d % 64)) != 0 {
                        State::ObjCommaOrEnd
                    } else {
                        State::ArrCommaOrEnd
                    }
                }
            };
        }
        'scan: while let Some(&b) = s.get(i) {
            match st {
                // Strings loop here, through the fast transitions to the next string, without
                // going back to the dispatch.
                State::Str => loop {
                    i = skip_plain(s, i);
                    let Some(&b) = s.get(i) else { break 'scan };
                    match b {
                        b'"' => {
                            i += 1;
                            if key {
                                key = false;
                                st = State::ObjColon;
                                // `:` and the member value.
                                if s.get(i) == Some(&b':') {
                                    try_begin!(skip_ws(s, i + 1));
                                }
                            } else {
                                st = after_value!();
                                if matches!(st, State::Idle) {
                                    ret!(Step::Complete);
                                }
                                next_string!();
                            }
                            if !matches!(st, State::Str) {
                                continue 'scan;
                            }
                        }
                        b'\\' => match s.get(i + 1) {
                            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                            _ => {
                                i += 1;
                                st = State::Escape;
                                continue 'scan;
                            }
                        },
                        0x00..=0x1F => fail!(ScanErrorKind::ControlCharacter),
                        _ => {
                            self.outline.non_ascii = true;
                            st = match b {
                                0xC2..=0xDF => State::Utf8 {
                                    left: 1,
                                    lo: 0x80,
                                    hi: 0xBF,
                                },
                                0xE0 => State::Utf8 {
                                    left: 2,
                                    lo: 0xA0,
                                    hi: 0xBF,
                                },
                                0xED => State::Utf8 {
                                    left: 2,
                                    lo: 0x80,
                                    hi: 0x9F,
                                },
                                0xE1..=0xEF => State::Utf8 {
                                    left: 2,
                                    lo: 0x80,
                                    hi: 0xBF,
                                },
                                0xF0 => State::Utf8 {
                                    left: 3,
                                    lo: 0x90,
                                    hi: 0xBF,
                                },
                                0xF1..=0xF3 => State::Utf8 {
                                    left: 3,
                                    lo: 0x80,
                                    hi: 0xBF,
                                },
                                0xF4 => State::Utf8 {
                                    left: 3,
                                    lo: 0x80,
                                    hi: 0x8F,
                                },
                                _ => fail!(ScanErrorKind::InvalidUtf8),
                            };
                            i += 1;
                            continue 'scan;
                        }
                    }
                },
                State::Utf8 { left, lo, hi } => {
                    if b < lo || b > hi {
                        fail!(ScanErrorKind::InvalidUtf8);
                    }
                    i += 1;
                    st = if left == 1 {
                        State::Str
                    } else {
                        State::Utf8 {
                            left: left - 1,
                            lo: 0x80,
                            hi: 0xBF,
                        }
                    };
                }
                State::Escape => {
                    st = match b {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => State::Str,
                        b'u' => State::Hex {
                            got: 0,
                            unit: 0,
                            low: false,
                        },
                        _ => fail!(ScanErrorKind::InvalidEscape),
                    };
                    i += 1;
                }
                State::Hex { got, unit, low } => {
                    let digit = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        b'A'..=b'F' => b - b'A' + 10,
                        _ => fail!(ScanErrorKind::InvalidHexEscape),
                    };
                    let unit = (unit << 4) | digit as u16;
                    if got < 3 {
                        st = State::Hex {
                            got: got + 1,
                            unit,
                            low,
                        };
                    } else {
                        let is_high = (0xD800..0xDC00).contains(&unit);
                        let is_low = (0xDC00..0xE000).contains(&unit);
                        st = if low {
                            if !is_low {
                                fail!(ScanErrorKind::LoneSurrogate);
                            }
                            State::Str
                        } else if is_high {
                            State::PairBackslash
                        } else if is_low {
                            fail!(ScanErrorKind::LoneSurrogate);
                        } else {
                            State::Str
                        };
                    }
                    i += 1;
                }
                State::PairBackslash => {
                    if b != b'\\' {
                        fail!(ScanErrorKind::LoneSurrogate);
                    }
                    st = State::PairU;
                    i += 1;
                }
                State::PairU => {
                    if b != b'u' {
                        fail!(ScanErrorKind::LoneSurrogate);
                    }
                    st = State::Hex {
                        got: 0,
                        unit: 0,
                        low: true,
                    };
                    i += 1;
                }
                State::Idle
                | State::ObjValue
                | State::ArrValue
                | State::ArrValueOrEnd
                | State::ObjKeyOrEnd
                | State::ObjKey
                | State::ObjColon
                | State::ObjCommaOrEnd
                | State::ArrCommaOrEnd
                    if is_ws(b) =>
                {
                    i = skip_ws(s, i + 1);
                }
                State::Idle => {
                    self.value_start = self.offset + i as u64;
                    self.outline = Outline::EMPTY;
                    match begin_value(&mut self.stack, &mut depth, self.config.max_depth, b) {
                        Ok(next) => {
                            st = next;
                            i += 1;
                            // A message's first key.
                            if matches!(st, State::ObjKeyOrEnd) && s.get(i) == Some(&b'"') {
                                i += 1;
                                key = true;
                                st = State::Str;
                            }
                        }
                        Err(kind) => fail!(kind),
                    }
                }
                State::ObjValue | State::ArrValue | State::ArrValueOrEnd => {
                    if b == b']' && matches!(st, State::ArrValueOrEnd) {
                        i += 1;
                        closed!();
                        st = after_value!();
                        if matches!(st, State::Idle) {
                            ret!(Step::Complete);
                        }
                        next_string_outside!();
                        continue;
                    }
                    if b == b'{' && self.config.line_start_interrupts {
                        let prev = if i > 0 { s[i - 1] } else { self.last };
                        if prev == b'\n' {
                            fail!(ScanErrorKind::Interrupted);
                        }
                    }
                    match begin_value(&mut self.stack, &mut depth, self.config.max_depth, b) {
                        Ok(next) => {
                            st = next;
                            i += 1;
                        }
                        Err(kind) => fail!(kind),
                    }
                }
                State::ObjKeyOrEnd | State::ObjKey => match b {
                    b'"' => {
                        i += 1;
                        key = true;
                        st = State::Str;
                    }
                    b'}' if matches!(st, State::ObjKeyOrEnd) => {
                        i += 1;
                        closed!();
                        st = after_value!();
                        if matches!(st, State::Idle) {
                            ret!(Step::Complete);
                        }
                        next_string_outside!();
                    }
                    _ => fail!(ScanErrorKind::UnexpectedByte),
                },
                State::ObjColon => {
                    if b != b':' {
                        fail!(ScanErrorKind::UnexpectedByte);
                    }
                    i += 1;
                    st = State::ObjValue;
                }
                State::ObjCommaOrEnd | State::ArrCommaOrEnd => {
                    let object = matches!(st, State::ObjCommaOrEnd);
                    match b {
                        b',' => {
                            i += 1;
                            st = if object {
                                State::ObjKey
                            } else {
                                State::ArrValue
                            };
                        }
                        b'}' if object => {
                            i += 1;
                            closed!();
                            st = after_value!();
                            if matches!(st, State::Idle) {
                                ret!(Step::Complete);
                            }
                            next_string_outside!();
                        }
                        b']' if !object => {
                            i += 1;
                            closed!();
                            st = after_value!();
                            if matches!(st, State::Idle) {
                                ret!(Step::Complete);
                            }
                            next_string_outside!();
                        }
                        _ => fail!(ScanErrorKind::UnexpectedByte),
                    }
                }
                State::Minus => {
                    st = match b {
                        b'0' => State::Zero,
                        b'1'..=b'9' => State::Int,
                        _ => fail!(ScanErrorKind::InvalidNumber),
                    };
                    i += 1;
                }
                State::Int | State::Frac | State::ExpDigits => {
                    i = skip_digits(s, i);
                    let Some(&b) = s.get(i) else { break };
                    match (st, b) {
                        (State::Int, b'.') => {
                            st = State::Dot;
                            i += 1;
                        }
                        (State::Int | State::Frac, b'e' | b'E') => {
                            st = State::Exp;
                            i += 1;
                        }
                        _ => {
                            if !is_delim(b) {
                                fail!(ScanErrorKind::InvalidNumber);
                            }
                            st = after_value!();
                            if matches!(st, State::Idle) {
                                ret!(Step::Complete);
                            }
                            next_string_outside!();
                        }
                    }
                }
                State::Zero => match b {
                    b'.' => {
                        st = State::Dot;
                        i += 1;
                    }
                    b'e' | b'E' => {
                        st = State::Exp;
                        i += 1;
                    }
                    _ => {
                        if !is_delim(b) {
                            fail!(ScanErrorKind::InvalidNumber);
                        }
                        st = after_value!();
                        if matches!(st, State::Idle) {
                            ret!(Step::Complete);
                        }
                        next_string_outside!();
                    }
                },
                State::Dot => {
                    if !b.is_ascii_digit() {
                        fail!(ScanErrorKind::InvalidNumber);
                    }
                    st = State::Frac;
                    i += 1;
                }
                State::Exp => {
                    st = match b {
                        b'+' | b'-' => State::ExpSign,
                        b'0'..=b'9' => State::ExpDigits,
                        _ => fail!(ScanErrorKind::InvalidNumber),
                    };
                    i += 1;
                }
                State::ExpSign => {
                    if !b.is_ascii_digit() {
                        fail!(ScanErrorKind::InvalidNumber);
                    }
                    st = State::ExpDigits;
                    i += 1;
                }
                State::Literal { which, pos } => {
                    let lit = LITERALS[which as usize];
                    if lit.get(pos as usize) != Some(&b) {
                        fail!(ScanErrorKind::InvalidLiteral);
                    }
                    i += 1;
                    st = if pos as usize + 1 == lit.len() {
                        State::LiteralEnd
                    } else {
                        State::Literal {
                            which,
                            pos: pos + 1,
                        }
                    };
                }
                State::LiteralEnd => {
                    if !is_delim(b) {
                        fail!(ScanErrorKind::InvalidLiteral);
                    }
                    st = after_value!();
                    if matches!(st, State::Idle) {
                        ret!(Step::Complete);
                    }
                    next_string_outside!();
                }
                State::Failed => {
                    let e = ScanError {
                        kind: ScanErrorKind::UnexpectedByte,
                        offset: self.offset + i as u64,
                    };
                    ret!(Step::Error(e));
                }
            }
        }
        ret!(Step::NeedMore)
    }
}

/// The state for a value starting with byte `b`, pushing a container on the stack.
#[inline(always)]
fn begin_value(
    stack: &mut [u64; STACK_WORDS],
    depth: &mut u16,
    max_depth: u16,
    b: u8,
) -> Result<State, ScanErrorKind> {
    Ok(match b {
        b'"' => State::Str,
        b'{' | b'[' => {
            if *depth >= max_depth {
                return Err(ScanErrorKind::TooDeep);
            }
            let d = *depth as usize;
            let bit = 1u64 << (d % 64);
            *depth += 1;
            if b == b'{' {
                stack[d / 64] |= bit;
                State::ObjKeyOrEnd
            } else {
                stack[d / 64] &= !bit;
                State::ArrValueOrEnd
            }
        }
        b'-' => State::Minus,
        b'0' => State::Zero,
        b'1'..=b'9' => State::Int,
        b't' => State::Literal { which: 0, pos: 1 },
        b'f' => State::Literal { which: 1, pos: 1 },
        b'n' => State::Literal { which: 2, pos: 1 },
        _ => return Err(ScanErrorKind::UnexpectedByte),
    })
}

/// Check that `input` is exactly one JSON text, with only whitespace around it.
///
/// ```
/// use qmp_core::scan::{validate, ScanErrorKind};
///
/// assert!(validate(b" {\"return\": {}}\r\n").is_ok());
/// assert_eq!(validate(b"[] []").unwrap_err().kind, ScanErrorKind::UnexpectedByte);
/// assert_eq!(validate(b"").unwrap_err().kind, ScanErrorKind::UnexpectedEnd);
/// ```
pub fn validate(input: &[u8]) -> Result<(), ScanError> {
    validate_outlined(input).map(|_| ())
}

/// [`validate`], also returning where the value lies in `input` (without the
/// surrounding whitespace) and its [`Outline`].
pub(crate) fn validate_outlined(
    input: &[u8],
) -> Result<(core::ops::Range<usize>, Outline), ScanError> {
    let mut scanner = Scanner::new();
    let (used, step) = scanner.scan(input);
    let span = |scanner: &Scanner, end: usize| {
        let start = usize::try_from(scanner.value_start()).unwrap_or(end);
        (start..end, scanner.outline())
    };
    match step {
        Step::Error(e) => Err(e),
        Step::NeedMore => match scanner.finish() {
            // A top-level number or literal, ended by the end of input.
            Ok(true) => Ok(span(&scanner, input.len())),
            Ok(false) => Err(ScanError {
                kind: ScanErrorKind::UnexpectedEnd,
                offset: input.len() as u64,
            }),
            Err(e) => Err(e),
        },
        Step::Complete => {
            let rest = input.get(used..).unwrap_or_default();
            match rest.iter().position(|&b| !is_ws(b)) {
                None => Ok(span(&scanner, used)),
                Some(p) => Err(ScanError {
                    kind: ScanErrorKind::UnexpectedByte,
                    offset: (used + p) as u64,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests;

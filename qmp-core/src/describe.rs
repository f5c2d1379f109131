//! Error texts without `core::fmt`: the [`Describe`] trait, beneath every layer.
//!
//! An error's `Display` goes through `core::fmt`, whose machinery (`Formatter`, padding,
//! integer formatting) costs several kilobytes of code in a small image: about 8 KB of
//! qmp-wasm's `.wasm`, for instance. The errors a transport meets (of the scanner, the
//! framer, the message layer, the human command syntax, the encoder and the session
//! client) also implement [`Describe`], which hands the same text out in pieces to a
//! closure; their `Display` is written through it, so the two never differ. A caller
//! that never formats anything keeps `core::fmt` out of its image.
//!
//! ```
//! use qmp_core::describe::Describe;
//! use qmp_core::frame::{Framer, FrameError};
//!
//! let mut framer = Framer::new([0u8; 64]);
//! let input = b"{\"a\": tru}\n{}";
//! assert_eq!(framer.push(input), input.len());
//! let error: FrameError = framer.next().unwrap().unwrap_err();
//!
//! // Into any buffer: here a heapless string, in firmware perhaps a UART.
//! let mut text = heapless::String::<128>::new();
//! error.describe(&mut |piece| text.push_str(piece).unwrap_or(()));
//! assert_eq!(
//!     text,
//!     "invalid literal at byte 9; skipped 11 bytes from byte 0 to resynchronise",
//! );
//! assert_eq!(text.as_str(), error.to_string());
//! ```

use core::convert::Infallible;
use core::fmt;

/// A value whose text (the same as its `Display`, where it has one) can be written
/// without `core::fmt`: [`describe`](Self::describe) calls `out` with the text in
/// pieces, in order, numbers already written in decimal.
pub trait Describe {
    /// Hands the text to `out`, piece by piece.
    fn describe(&self, out: &mut dyn FnMut(&str));
}

/// Never called: `Infallible` has no value. For sinks that cannot fail.
impl Describe for Infallible {
    fn describe(&self, _out: &mut dyn FnMut(&str)) {
        match *self {}
    }
}

/// `n` in decimal, to `out`, without `core::fmt`. Never inlined: one copy serves every
/// text.
#[inline(never)]
pub(crate) fn decimal(n: u64, out: &mut dyn FnMut(&str)) {
    // From the last digit back; `u64::MAX` has 20 digits, so the slots never run out.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        start -= 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // Only ASCII digits: the conversion cannot fail.
    if let Ok(text) = core::str::from_utf8(digits.get(start..).unwrap_or_default()) {
        out(text);
    }
}

/// `Display` through [`Describe`]: the one place where a described text meets a
/// `Formatter`.
pub(crate) fn display(value: &(impl Describe + ?Sized), f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut result = Ok(());
    value.describe(&mut |piece| {
        if result.is_ok() {
            result = f.write_str(piece);
        }
    });
    result
}

#[cfg(test)]
mod tests;

//! [`json_differential`]: `validate` and the framer accept exactly what a reference JSON
//! parser accepts.

use super::{for_each_frame, is_ws};
use crate::frame::Framer;
use crate::scan::{validate, ScanConfig};

const DIFF_CAPACITY: usize = 16 * 1024;

/// Compare our JSON verdicts with a reference parser's: [`validate`] on the whole input,
/// and every frame the framer ([`ScanConfig::json`]) finds in it, must be accepted or
/// rejected as the reference does (`None` from the reference: it cannot judge, skip).
/// A valid input that fits the buffer must also frame as exactly one frame.
pub fn json_differential(input: &[u8], reference: impl Fn(&[u8]) -> Option<bool>) {
    // Buffers sized to the input, so that small inputs do not pay for zeroing big ones.
    if input.len() <= 1024 {
        differential::<1024>(input, reference);
    } else {
        differential::<DIFF_CAPACITY>(input, reference);
    }
}

fn differential<const N: usize>(input: &[u8], reference: impl Fn(&[u8]) -> Option<bool>) {
    let ours = validate(input);
    if let Some(theirs) = reference(input) {
        assert_eq!(
            ours.is_ok(),
            theirs,
            "validate says {ours:?}, the reference says accepted={theirs}"
        );
    }
    let mut framer = Framer::with_config([0u8; N], ScanConfig::json());
    let mut frames = 0usize;
    let mut only: Option<(u64, usize)> = None;
    for_each_frame(&mut framer, input, |frame| {
        frames += 1;
        only = Some((frame.offset(), frame.len()));
        let bytes = frame.as_bytes();
        assert!(validate(bytes).is_ok(), "frame {frames} does not validate");
        assert_ne!(
            reference(bytes),
            Some(false),
            "frame {frames} at byte {}: we accept it, the reference rejects it",
            frame.offset()
        );
    });
    let start = input.iter().position(|&b| !is_ws(b)).unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |p| p + 1);
    if ours.is_ok() && end - start <= N {
        assert_eq!(frames, 1, "a valid text must frame as one frame");
        assert_eq!(
            only,
            Some((start as u64, end - start)),
            "the frame is not the text"
        );
    }
}

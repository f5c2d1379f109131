//! A growable byte buffer as an encoder sink.

use alloc::vec::Vec;
use core::convert::Infallible;

use qmp_core::encode::Sink;

/// Appends to a `Vec<u8>`; never fails.
pub(crate) struct VecSink<'a>(pub(crate) &'a mut Vec<u8>);

impl Sink for VecSink<'_> {
    type Error = Infallible;

    // Out of line: inlined, its growth path was copied into every writer of the encoder
    // and the client (measured: the .wasm 2.9 KB larger). One call per write costs little
    // beside the copy.
    #[inline(never)]
    fn write(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

//! A growable byte buffer as an encoder sink.

use alloc::vec::Vec;
use core::convert::Infallible;

use qmp_core::encode::Sink;

/// Appends to a `Vec<u8>`; never fails.
pub(crate) struct VecSink<'a>(pub(crate) &'a mut Vec<u8>);

impl Sink for VecSink<'_> {
    type Error = Infallible;

    fn write(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

//! The board's first CMSDK APB timer (`0x4000_0000`) as a free-running clock: a 32-bit
//! counter that goes down by one each cycle of the 25 MHz peripheral clock (40 ns; it
//! wraps after 171 s). Under QEMU with `-icount shift=0`, one instruction takes one
//! nanosecond of the emulated clock, so a tick is 40 instructions.

use crate::hw;

const BASE: usize = 0x4000_0000;
const CTRL: usize = BASE;
const VALUE: usize = BASE + 0x04;
const RELOAD: usize = BASE + 0x08;

/// The peripheral clock, in Hz.
pub const HZ: u32 = 25_000_000;

/// Start the counter from its top.
pub fn start() {
    hw::write(CTRL, 0);
    hw::write(RELOAD, u32::MAX);
    hw::write(VALUE, u32::MAX);
    hw::write(CTRL, 1);
}

/// A point in time, in ticks.
#[derive(Clone, Copy, Debug)]
pub struct Instant(u32);

impl Instant {
    /// Now.
    pub fn now() -> Self {
        Self(hw::read(VALUE))
    }

    /// Ticks since `self` (the counter counts down; wrapping is fine for spans under
    /// 171 s).
    pub fn elapsed(self) -> u32 {
        self.0.wrapping_sub(hw::read(VALUE))
    }
}

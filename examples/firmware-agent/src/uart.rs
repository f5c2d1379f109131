//! The CMSDK APB UART of Arm's MPS2 boards (the AN385/AN386 images; QEMU's
//! `cmsdk-apb-uart`), polled, as an [`embedded_io`] transport.
//!
//! Each UART holds one byte each way: `STATE` says whether the transmit holding
//! register is full and whether a received byte waits in `DATA`. A read waits for one
//! byte, then takes those already there; a write waits until every byte is handed over.
//!
//! Two limits keep a silent or endless peer from hanging the program:
//! - a read that sees nothing after [`READ_TIMEOUT_POLLS`] looks at the status register
//!   ([`FIRST_READ_TIMEOUT_POLLS`] for the first, the greeting) fails with
//!   [`UartError::TimedOut`] (the connection reports a typed timeout). It
//!   counts polls rather than reading the timer: under QEMU's `-icount` the emulated
//!   clock of a CPU that only polls a device advances too slowly to bound a wait;
//!   a poll takes a few instructions on any clock;
//! - the **watchdog**: after [`READ_BUDGET`] reads in all, every read fails with
//!   [`UartError::Watchdog`], so that no peer can keep the agent busy for ever.
//!
//! A byte that arrives while the previous one is still unread would be lost; QEMU's
//! model holds the sender back instead, so none is.

use crate::hw;
use crate::timer;

/// UART0, QEMU's first `-serial`.
const BASE: usize = 0x4000_4000;

/// Register addresses.
const DATA: usize = BASE;
const STATE: usize = BASE + 0x04;
const CTRL: usize = BASE + 0x08;
const BAUDDIV: usize = BASE + 0x10;

/// `STATE`: the transmit holding register is full.
const STATE_TX_FULL: u32 = 1 << 0;
/// `STATE`: a received byte waits in `DATA`.
const STATE_RX_FULL: u32 = 1 << 1;
/// `CTRL`: transmitter and receiver enabled, no interrupts.
const CTRL_TX_RX: u32 = 0b11;
/// The line speed, in bits per second.
const BAUD: u32 = 115_200;

/// How many times a read looks for its first byte before it gives up: about a second
/// to three under QEMU on this project's 2-core machine (QEMU answers in milliseconds).
pub const READ_TIMEOUT_POLLS: u32 = 1_500_000;
/// The first read (the greeting) waits eight times as long. The peer may still be
/// starting; and under QEMU, bytes that reach the board before the firmware enabled the
/// receiver wait in the host socket until QEMU's main loop next looks at it, which
/// took longer than [`READ_TIMEOUT_POLLS`] in about one run in three.
pub const FIRST_READ_TIMEOUT_POLLS: u32 = 8 * READ_TIMEOUT_POLLS;
/// How many reads the whole program may make: the script needs about 700 (one per
/// byte, as the UART holds one), the hostile peer of the tests sends about 8 000 bytes.
pub const READ_BUDGET: u32 = 20_000;

/// Why a read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartError {
    /// Nothing arrived in time.
    TimedOut,
    /// The read budget is spent.
    Watchdog,
}

impl core::fmt::Display for UartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::TimedOut => "nothing received in time",
            Self::Watchdog => "watchdog: the read budget is spent",
        })
    }
}

impl core::error::Error for UartError {}

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            Self::TimedOut => embedded_io::ErrorKind::TimedOut,
            Self::Watchdog => embedded_io::ErrorKind::Other,
        }
    }
}

/// UART0, polled.
#[derive(Debug)]
pub struct Uart {
    reads: u32,
    /// Bytes received, for the report.
    pub received: u64,
}

impl Uart {
    /// Set UART0 to [`BAUD`] and enable it.
    pub fn new() -> Self {
        hw::write(BAUDDIV, timer::HZ / BAUD);
        hw::write(CTRL, CTRL_TX_RX);
        Self {
            reads: 0,
            received: 0,
        }
    }

    /// Whether the watchdog has fired.
    pub fn watchdog_fired(&self) -> bool {
        self.reads > READ_BUDGET
    }

    fn ready(&self) -> bool {
        hw::read(STATE) & STATE_RX_FULL != 0
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = UartError;
}

impl embedded_io::Read for Uart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        self.reads = self.reads.saturating_add(1);
        if self.watchdog_fired() {
            return Err(UartError::Watchdog);
        }
        let limit = if self.received == 0 {
            FIRST_READ_TIMEOUT_POLLS
        } else {
            READ_TIMEOUT_POLLS
        };
        let mut polls = 0u32;
        while !self.ready() {
            polls += 1;
            if polls > limit {
                return Err(UartError::TimedOut);
            }
            core::hint::spin_loop();
        }
        let mut n = 0;
        for slot in buf.iter_mut() {
            if n > 0 && !self.ready() {
                break;
            }
            // Only the low 8 bits of DATA hold the byte.
            *slot = hw::read(DATA) as u8;
            n += 1;
        }
        self.received += n as u64;
        Ok(n)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        for &byte in buf {
            while hw::read(STATE) & STATE_TX_FULL != 0 {
                core::hint::spin_loop();
            }
            hw::write(DATA, u32::from(byte));
        }
        Ok(buf.len())
    }

    /// Wait until the last byte has left the holding register.
    fn flush(&mut self) -> Result<(), UartError> {
        while hw::read(STATE) & STATE_TX_FULL != 0 {
            core::hint::spin_loop();
        }
        Ok(())
    }
}

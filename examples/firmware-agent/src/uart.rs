//! The CMSDK APB UART of Arm's MPS2 boards (the AN385/AN386 images; QEMU's
//! `cmsdk-apb-uart`), polled, as an [`embedded_io`] transport and a
//! [`core::fmt::Write`] console.
//!
//! Each UART holds one byte each way: `STATE` says whether the transmit holding
//! register is full and whether a received byte waits in `DATA`. Reads block until one
//! byte has arrived, then take those that are already there; writes block until every
//! byte is handed over. Nothing fails, so the error type is [`Infallible`]. A byte that
//! arrives while the previous one is still unread is lost (the receive overrun flag is
//! left alone): the framer skips the damaged message and resynchronises.

use core::convert::Infallible;

/// The UARTs of the AN386 image that the program uses (there are five).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// UART0 at `0x4000_4000`: QEMU's first `-serial`.
    Uart0,
    /// UART1 at `0x4000_5000`: QEMU's second `-serial`.
    Uart1,
}

impl Port {
    const fn base(self) -> usize {
        match self {
            Self::Uart0 => 0x4000_4000,
            Self::Uart1 => 0x4000_5000,
        }
    }
}

/// The peripheral clock of the AN386 image (and of QEMU's model), in Hz.
const PCLK: u32 = 25_000_000;
/// The line speed, in bits per second.
const BAUD: u32 = 115_200;

/// Register offsets.
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

/// `STATE`: the transmit holding register is full.
const STATE_TX_FULL: u32 = 1 << 0;
/// `STATE`: a received byte waits in `DATA`.
const STATE_RX_FULL: u32 = 1 << 1;
/// `CTRL`: transmitter and receiver enabled, no interrupts.
const CTRL_TX_RX: u32 = 0b11;

/// One of the board's UARTs, polled.
#[derive(Debug)]
pub struct Uart {
    base: usize,
}

impl Uart {
    /// Set `port` to [`BAUD`] bits per second and enable it.
    pub fn new(port: Port) -> Self {
        let uart = Self { base: port.base() };
        uart.write_register(BAUDDIV, PCLK / BAUD);
        uart.write_register(CTRL, CTRL_TX_RX);
        uart
    }

    fn read_register(&self, offset: usize) -> u32 {
        let register = core::ptr::with_exposed_provenance::<u32>(self.base + offset);
        // SAFETY: `base` is one of `Port`'s addresses and `offset` one of the register
        // offsets above: an aligned 32-bit register of a UART in the board's device
        // memory, always mapped and not a Rust object.
        #[allow(unsafe_code)]
        unsafe {
            register.read_volatile()
        }
    }

    fn write_register(&self, offset: usize, value: u32) {
        let register = core::ptr::with_exposed_provenance_mut::<u32>(self.base + offset);
        // SAFETY: as in `read_register`.
        #[allow(unsafe_code)]
        unsafe {
            register.write_volatile(value)
        }
    }

    fn received(&self) -> bool {
        self.read_register(STATE) & STATE_RX_FULL != 0
    }

    fn send(&mut self, byte: u8) {
        while self.read_register(STATE) & STATE_TX_FULL != 0 {
            core::hint::spin_loop();
        }
        self.write_register(DATA, u32::from(byte));
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = Infallible;
}

impl embedded_io::Read for Uart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let mut n = 0;
        for slot in buf.iter_mut() {
            if n == 0 {
                while !self.received() {
                    core::hint::spin_loop();
                }
            } else if !self.received() {
                break;
            }
            // Only the low 8 bits of DATA hold the byte.
            *slot = self.read_register(DATA) as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &byte in buf {
            self.send(byte);
        }
        Ok(buf.len())
    }

    /// Wait until the last byte has left the holding register.
    fn flush(&mut self) -> Result<(), Infallible> {
        while self.read_register(STATE) & STATE_TX_FULL != 0 {
            core::hint::spin_loop();
        }
        Ok(())
    }
}

/// The console: text, with `\n` sent as `\r\n` for terminals.
impl core::fmt::Write for Uart {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        for byte in text.bytes() {
            if byte == b'\n' {
                self.send(b'\r');
            }
            self.send(byte);
        }
        Ok(())
    }
}

//! The console: lines written to the host's standard output through semihosting.

use core::fmt::{self, Write as _};

/// Writes through semihosting, a line at a time.
struct HostOut(heapless::String<256>);

impl fmt::Write for HostOut {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            if self.0.push(c).is_err() {
                self.flush();
                let _ = self.0.push(c);
            }
        }
        Ok(())
    }
}

impl HostOut {
    fn flush(&mut self) {
        if let Ok(mut out) = cortex_m_semihosting::hio::hstdout() {
            let _ = out.write_all(self.0.as_bytes());
        }
        self.0.clear();
    }
}

/// Write `args` and a newline to the host's standard output (one semihosting call for
/// lines of up to 256 bytes).
pub fn line(args: fmt::Arguments<'_>) {
    let mut out = HostOut(heapless::String::new());
    let _ = out.write_fmt(args);
    let _ = out.write_str("\n");
    out.flush();
}

/// `println!` for the host console.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::host::line(format_args!($($arg)*))
    };
}

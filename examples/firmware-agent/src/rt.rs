//! Start-up: the vector table, the reset handler that turns the FPU on and calls
//! [`main`](crate::main), and the handlers of faults and panics (they stop).
//!
//! This module and [`uart`](crate::uart)'s two register accessors are the only places
//! that need `unsafe`: exporting the entry symbol, placing the vector table, and one
//! write to a core register followed by two barriers.

#![allow(unsafe_code)]

use core::fmt::Write as _;
use core::panic::PanicInfo;

use crate::uart::{Port, Uart};

/// A handler in the vector table.
type Handler = extern "C" fn() -> !;

/// The vector table after the initial stack pointer (which `link.x` writes first): the
/// reset handler, then the system exceptions of ARMv7-M (NMI, HardFault, MemManage,
/// BusFault, UsageFault, four reserved, SVCall, DebugMonitor, one reserved, PendSV,
/// SysTick). The program uses no interrupts, so the table ends there.
#[unsafe(link_section = ".vector_table.exceptions")]
#[used]
static EXCEPTIONS: [Option<Handler>; 15] = {
    let stop = Some(stop as Handler);
    [
        Some(Reset),
        stop,
        stop,
        stop,
        stop,
        stop,
        None,
        None,
        None,
        None,
        stop,
        stop,
        None,
        stop,
        stop,
    ]
};

/// The Coprocessor Access Control Register.
const CPACR: usize = 0xE000_ED88;
/// Full access to CP10 and CP11, the FPU.
const CPACR_FPU: u32 = 0b1111 << 20;

/// The reset handler: enable the FPU (the target's ABI passes floats in its
/// registers), then run the program.
#[unsafe(no_mangle)]
pub extern "C" fn Reset() -> ! {
    let cpacr = core::ptr::with_exposed_provenance_mut::<u32>(CPACR);
    // SAFETY: CPACR is a register of the System Control Block, mapped on every
    // ARMv7-M core; nothing else accesses it. The barriers make the new access rights
    // apply to the instructions that follow, as the architecture requires.
    unsafe {
        cpacr.write_volatile(cpacr.read_volatile() | CPACR_FPU);
        core::arch::asm!("dsb", "isb");
    }
    crate::main()
}

/// Faults and unexpected exceptions: stop here (a debugger shows where from the
/// stacked registers).
extern "C" fn stop() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// A panic (none is expected: qmp-core does not panic on any input) is written to the
/// console, then the program stops.
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let _ = writeln!(Uart::new(Port::Uart1), "panic: {info}");
    stop()
}

//! Start-up: the vector table, the reset handler (FPU on, stack painted, then
//! [`main`](crate::main)), and the handlers of faults and panics, which report and end
//! the program with their own exit status.
//!
//! Exporting the entry symbol and placing the vector table are `unsafe` attributes;
//! everything else goes through [`hw`](crate::hw).

#![allow(unsafe_code)]

use core::panic::PanicInfo;

use crate::{host, hw};

/// A handler in the vector table.
type Handler = extern "C" fn() -> !;

/// The vector table after the initial stack pointer (which `link.x` writes first): the
/// reset handler, then the system exceptions of ARMv7-M (NMI, HardFault, MemManage,
/// BusFault, UsageFault, four reserved, SVCall, DebugMonitor, one reserved, PendSV,
/// SysTick). The program uses no interrupts, so the table ends there.
#[unsafe(link_section = ".vector_table.exceptions")]
#[used]
static EXCEPTIONS: [Option<Handler>; 15] = {
    let fault = Some(fault as Handler);
    [
        Some(Reset),
        fault,
        fault,
        fault,
        fault,
        fault,
        None,
        None,
        None,
        None,
        fault,
        fault,
        None,
        fault,
        fault,
    ]
};

/// The Coprocessor Access Control Register.
const CPACR: usize = 0xE000_ED88;
/// Full access to CP10 and CP11, the FPU.
const CPACR_FPU: u32 = 0b1111 << 20;

/// The top of RAM, where the stack starts (`link.x`).
pub const STACK_TOP: usize = 0x2000_0000 + 4 * 1024 * 1024;
/// How much of the stack is painted at reset and watched: a stack deeper than this is
/// reported as "more than".
pub const STACK_WATCHED: usize = 64 * 1024;

/// The reset handler: enable the FPU (the target's ABI passes floats in its
/// registers), paint the stack, then run the program.
#[unsafe(no_mangle)]
pub extern "C" fn Reset() -> ! {
    hw::write(CPACR, hw::read(CPACR) | CPACR_FPU);
    hw::barriers();
    hw::paint_stack(STACK_TOP - STACK_WATCHED);
    crate::main()
}

/// Faults and unexpected exceptions: report and end with status 4.
extern "C" fn fault() -> ! {
    host::line(format_args!("fault: an unexpected exception"));
    hw::exit(4)
}

/// A panic (none is expected: qmp-core does not panic on any input): report and end
/// with status 101, as a Rust program's panic does.
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    host::line(format_args!("panic: {info}"));
    hw::exit(101)
}

/// The deepest the stack has been since reset, in bytes (at most [`STACK_WATCHED`]).
pub fn stack_high_water() -> usize {
    STACK_TOP - hw::stack_low_water(STACK_TOP - STACK_WATCHED, STACK_TOP)
}

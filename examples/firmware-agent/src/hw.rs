//! Every access to the hardware that Rust cannot check: the memory-mapped registers of
//! the board's peripherals, the stack's paint, and the semihosting call that ends the
//! program. The rest of the crate denies `unsafe` and goes through these functions.

#![allow(unsafe_code)]

/// Read the 32-bit device register at `address`.
///
/// The callers pass the fixed addresses of the board's registers (UART, timer, System
/// Control Block): aligned, always mapped, and not Rust objects.
pub fn read(address: usize) -> u32 {
    let register = core::ptr::with_exposed_provenance::<u32>(address);
    // SAFETY: see above; a volatile read of a device register has no other effect on
    // memory that Rust knows of.
    unsafe { register.read_volatile() }
}

/// Write `value` to the 32-bit device register at `address` (as [`read`]).
pub fn write(address: usize, value: u32) {
    let register = core::ptr::with_exposed_provenance_mut::<u32>(address);
    // SAFETY: as in `read`.
    unsafe { register.write_volatile(value) }
}

/// Make a change of the FPU's access rights apply to the instructions that follow.
pub fn barriers() {
    // SAFETY: `dsb` and `isb` only order memory accesses and refetch instructions.
    unsafe { core::arch::asm!("dsb", "isb") }
}

/// The pattern painted on the unused stack at reset.
const PAINT: u32 = 0x5A5A_A5A5;

/// The current stack pointer.
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register into a local.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp) };
    sp
}

/// Paint the words from `bottom` up to a little below the current stack pointer (the
/// caller's own frame stays untouched).
pub fn paint_stack(bottom: usize) {
    let top = stack_pointer().saturating_sub(64) & !3;
    let mut at = bottom;
    while at < top {
        let word = core::ptr::with_exposed_provenance_mut::<u32>(at);
        // SAFETY: [bottom, top) is stack memory below everything in use (the stack
        // grows down from the top of RAM and this runs first, at reset): no Rust object
        // lives there yet.
        unsafe { word.write_volatile(PAINT) };
        at += 4;
    }
}

/// The lowest address from `bottom` up whose paint is gone: how deep the stack has
/// grown since [`paint_stack`].
pub fn stack_low_water(bottom: usize, top: usize) -> usize {
    let mut at = bottom;
    while at < top {
        let word = core::ptr::with_exposed_provenance::<u32>(at);
        // SAFETY: reads stack memory as plain words; nothing is formed from it.
        if unsafe { word.read_volatile() } != PAINT {
            return at;
        }
        at += 4;
    }
    top
}

/// End the program through semihosting with `code` as the emulator's exit status
/// (`SYS_EXIT_EXTENDED`, reason `ADP_Stopped_ApplicationExit`).
pub fn exit(code: u32) -> ! {
    const SYS_EXIT_EXTENDED: usize = 0x20;
    const APPLICATION_EXIT: usize = 0x20026;
    let block = [APPLICATION_EXIT, code as usize];
    // SAFETY: the semihosting call reads the two-word block, which lives until it
    // returns; with QEMU's semihosting on, it does not return.
    unsafe { cortex_m_semihosting::syscall(SYS_EXIT_EXTENDED, &block) };
    loop {
        core::hint::spin_loop();
    }
}

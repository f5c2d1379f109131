//! How fast WebAssembly can go over JSON text in Node: four loops over the same bytes,
//! timed side by side by `qmp-wasm/js/bench/throughput.mjs --breakdown`.
//!
//! - [`scanner`]: qmp-core's [`Scanner`] as qmp-wasm's decoder runs it (4 KiB chunks,
//!   the QMP settings), validating every byte.
//! - [`skim`]: a byte-at-a-time loop that follows strings, escapes and nesting and
//!   validates nothing: the least a framer must do byte by byte.
//! - [`index`]: a SIMD128 structural index, the first stage of simdjson: 16 bytes at a
//!   time, the bit masks of quotes, backslashes and structural characters, the quoted
//!   parts masked out by a prefix XOR, then one step per structural character. It
//!   validates nothing and even ignores escaped quotes, so it is a lower bound for any
//!   validator built on such an index.
//! - [`grammar`]: the same index, then the grammar of the structural characters at each
//!   of its positions (objects, arrays, keys, colons, commas, nesting), with strings,
//!   numbers and literals left unchecked: the least such a validator does besides.
//!
//! Each takes the bytes at `ptr..ptr + len` in the module's memory (the caller grows the
//! memory and writes them past everything the module uses; the module allocates
//! nothing) and returns a count, so that no work is optimised away.
#![no_std]
#![cfg(target_arch = "wasm32")]

use core::arch::wasm32::{
    u8x16_bitmask, u8x16_eq, u8x16_splat, unreachable, v128, v128_load, v128_or,
};

use qmp_core::scan::{ScanConfig, Scanner, Step};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    unreachable()
}

/// The caller's bytes.
fn input<'a>(ptr: usize, len: usize) -> &'a [u8] {
    // SAFETY: the caller wrote `len` bytes at `ptr` in memory the module does not use,
    // and nothing writes them while this borrow lives.
    unsafe { core::slice::from_raw_parts(ptr as *const u8, len) }
}

/// qmp-core's scanner, fed 4 KiB at a time; returns the number of messages and errors.
/// After an error it goes on after the offending byte.
#[no_mangle]
pub extern "C" fn scanner(ptr: usize, len: usize) -> u32 {
    let mut scanner = Scanner::with_config(ScanConfig::qmp());
    let mut count = 0u32;
    for chunk in input(ptr, len).chunks(4096) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let (used, step) = scanner.scan(rest);
            rest = &rest[used..];
            match step {
                Step::NeedMore => break,
                Step::Complete => count += 1,
                Step::Error(e) => {
                    count += 1;
                    rest = rest.get(1..).unwrap_or_default();
                    scanner.reset(e.offset + 1, b' ');
                }
            }
        }
    }
    count
}

/// Strings, escapes and nesting, a byte at a time; returns the number of top-level
/// closing brackets.
#[no_mangle]
pub extern "C" fn skim(ptr: usize, len: usize) -> u32 {
    let (mut string, mut escape, mut depth, mut count) = (false, false, 0i32, 0u32);
    for &b in input(ptr, len) {
        if string {
            if escape {
                escape = false;
            } else if b == b'\\' {
                escape = true;
            } else if b == b'"' {
                string = false;
            }
        } else {
            match b {
                b'"' => string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    count += u32::from(depth == 0);
                }
                _ => {}
            }
        }
    }
    count
}

/// The structural index; returns a checksum of the structural positions.
#[no_mangle]
pub extern "C" fn index(ptr: usize, len: usize) -> u32 {
    let mut sum = 0u32;
    // Node has had SIMD128 since version 16 (an engine without it would refuse the
    // whole module, not run this wrongly).
    each_structural(input(ptr, len), |at| sum = sum.wrapping_add(at as u32));
    sum
}

/// The structural index, then the grammar of the structural characters at each one:
/// what a validator built on the index must do at least, with strings, numbers and
/// literals left unchecked (and escaped quotes ignored). Returns the number of
/// top-level values, plus a million for each grammar error (the scan then goes on
/// between values).
#[no_mangle]
pub extern "C" fn grammar(ptr: usize, len: usize) -> u32 {
    // States: a value is expected (`]` too right after `[`), a key (or `}` right after
    // `{`), a colon, a comma or a close; inside a value string, inside a key string.
    const VALUE: u8 = 0;
    const KEY: u8 = 1;
    const COLON: u8 = 2;
    const NEXT: u8 = 3;
    const STRING: u8 = 4;
    const KEY_STRING: u8 = 5;
    let s = input(ptr, len);
    let (mut state, mut depth, mut objects, mut count) = (VALUE, 0u32, 0u64, 0u32);
    each_structural(s, |at| {
        let b = s.get(at).copied().unwrap_or(b' ');
        let object = depth > 0 && objects >> (depth - 1) & 1 != 0;
        state = match (state, b) {
            (STRING, b'"') => NEXT,
            (KEY_STRING, b'"') => COLON,
            (STRING | KEY_STRING, _) => state,
            (VALUE, b'"') => STRING,
            (KEY, b'"') => KEY_STRING,
            (VALUE, b'{' | b'[') if depth < 64 => {
                objects = objects & !(1 << depth) | u64::from(b == b'{') << depth;
                depth += 1;
                if b == b'{' {
                    KEY
                } else {
                    VALUE
                }
            }
            (COLON, b':') => VALUE,
            // From VALUE: a number or literal came before (left unchecked).
            (VALUE | NEXT, b',') if depth > 0 => {
                if object {
                    KEY
                } else {
                    VALUE
                }
            }
            (VALUE | NEXT | KEY, b'}') if object => {
                depth -= 1;
                count += u32::from(depth == 0);
                NEXT
            }
            (VALUE | NEXT, b']') if depth > 0 && !object => {
                depth -= 1;
                count += u32::from(depth == 0);
                NEXT
            }
            _ => {
                count = count.wrapping_add(1_000_000);
                depth = 0;
                VALUE
            }
        };
        if depth == 0 && state == NEXT {
            state = VALUE;
        }
    });
    count
}

/// Calls `at` with the index of every quote, backslash and structural character outside
/// quotes, in order.
#[target_feature(enable = "simd128")]
fn each_structural(s: &[u8], mut at: impl FnMut(usize)) {
    let blocks = s.chunks_exact(16);
    // The last bytes, padded with spaces to a block.
    let mut last = [b' '; 16];
    last[..blocks.remainder().len()].copy_from_slice(blocks.remainder());
    let mut inside_carry = 0u32;
    for (n, block) in blocks.chain([&last[..]]).enumerate() {
        // SAFETY: `block` is 16 readable bytes; v128_load has no alignment requirement.
        let v = unsafe { v128_load(block.as_ptr() as *const v128) };
        let splat = u8x16_splat;
        let quotes = u32::from(u8x16_bitmask(u8x16_eq(v, splat(b'"'))));
        let backslashes = u32::from(u8x16_bitmask(u8x16_eq(v, splat(b'\\'))));
        // `[` and `]` are `{` and `}` without bit 0x20 (and no other byte is), so one
        // OR folds the brackets onto the braces; `:` and `,` are compared apart.
        let folded = v128_or(v, splat(0x20));
        let brackets = v128_or(u8x16_eq(folded, splat(b'{')), u8x16_eq(folded, splat(b'}')));
        let punctuation = v128_or(u8x16_eq(v, splat(b':')), u8x16_eq(v, splat(b',')));
        let structural = u32::from(u8x16_bitmask(v128_or(brackets, punctuation)));
        // Bits inside quotes: a prefix XOR of the quote bits, carried across blocks.
        let mut x = quotes;
        x ^= x << 1;
        x ^= x << 2;
        x ^= x << 4;
        x ^= x << 8;
        let inside = (x ^ inside_carry) & 0xFFFF;
        inside_carry = if inside & 0x8000 != 0 { 0xFFFF } else { 0 };
        let mut bits = (structural & !inside) | quotes | backslashes;
        while bits != 0 {
            at(n * 16 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

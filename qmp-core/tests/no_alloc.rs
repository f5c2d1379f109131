//! Framing makes no heap allocation: a counting global allocator sees none while 10 000
//! messages go through a stack buffer, by `push` + `next` and by `spare_mut` + `commit`.
//!
//! The counter is per thread, so the test harness's own threads do not disturb it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use qmp_core::frame::Framer;

struct Counting;

thread_local! {
    // Const-initialised, so reading it never allocates (and never recurses into us).
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: during thread teardown the slot may already be gone.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` unchanged; the counter only touches a
// const-initialised thread-local `Cell`, which neither allocates nor panics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while running `f`.
fn allocations<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    let after = ALLOCS.with(Cell::get);
    (after - before, r)
}

const COUNT: usize = 10_000;

/// 10 000 varied messages (compact, pretty, escapes, UTF-8, numbers), CRLF-terminated,
/// and the (start, end) of each.
fn stream() -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut data = Vec::new();
    let mut spans = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        let start = data.len();
        let msg = match i % 4 {
            0 => format!("{{\"return\": {{}}, \"id\": {i}}}"),
            1 => format!(
                "{{\"timestamp\": {{\"seconds\": {i}, \"microseconds\": 554287}}, \
                 \"event\": \"SHUTDOWN\", \"data\": {{\"guest\": false, \"reason\": \"host-qmp-quit\"}}}}"
            ),
            2 => format!("{{\n    \"return\": [\n        -{i}.5e-3,\n        true,\n        null\n    ]\n}}"),
            _ => format!("{{\"return\": \"vm-\\u00e9 \u{20ac} \\\"{i}\\\"\\n\"}}"),
        };
        data.extend_from_slice(msg.as_bytes());
        spans.push((start, data.len()));
        data.extend_from_slice(b"\r\n");
    }
    (data, spans)
}

/// Frame `data` with `push` + `next` through `framer`, checking each frame against
/// `spans` without allocating. Returns the number of frames.
fn push_all(framer: &mut Framer<[u8; 4096]>, data: &[u8], spans: &[(usize, usize)]) -> usize {
    let mut seen = 0;
    let mut rest = data;
    let mut step = 1usize;
    while !rest.is_empty() {
        // Vary the chunk size: 1, 2, ... 997, then wrap.
        step = step % 997 + 1;
        let n = framer.push(&rest[..step.min(rest.len())]);
        rest = &rest[n..];
        while let Some(item) = framer.next() {
            let frame = item.expect("no errors in this stream");
            let (s, e) = spans[seen];
            assert_eq!(frame.offset(), s as u64);
            assert!(frame.as_bytes() == &data[s..e]);
            seen += 1;
        }
    }
    framer.finish();
    assert!(framer.next().is_none());
    seen
}

/// The same with `spare_mut` + `commit`.
fn read_all(framer: &mut Framer<[u8; 4096]>, data: &[u8], spans: &[(usize, usize)]) -> usize {
    let mut seen = 0;
    let mut rest = data;
    let mut step = 1usize;
    while !rest.is_empty() {
        step = step % 1499 + 1;
        let spare = framer.spare_mut();
        let n = step.min(rest.len()).min(spare.len());
        spare[..n].copy_from_slice(&rest[..n]);
        framer.commit(n);
        rest = &rest[n..];
        while let Some(item) = framer.next() {
            let frame = item.expect("no errors in this stream");
            let (s, e) = spans[seen];
            assert_eq!(frame.offset(), s as u64);
            assert!(frame.as_bytes() == &data[s..e]);
            seen += 1;
        }
    }
    framer.finish();
    assert!(framer.next().is_none());
    seen
}

#[test]
fn framing_with_push_does_not_allocate() {
    let (data, spans) = stream();
    let (allocs, seen) = allocations(|| {
        let mut framer = Framer::new([0u8; 4096]);
        push_all(&mut framer, &data, &spans)
    });
    assert_eq!(seen, COUNT);
    assert_eq!(allocs, 0, "framing with push allocated {allocs} times");
}

#[test]
fn framing_with_spare_mut_does_not_allocate() {
    let (data, spans) = stream();
    let (allocs, seen) = allocations(|| {
        let mut framer = Framer::new([0u8; 4096]);
        read_all(&mut framer, &data, &spans)
    });
    assert_eq!(seen, COUNT);
    assert_eq!(allocs, 0, "framing with spare_mut allocated {allocs} times");
}

/// Errors and recovery do not allocate either: garbage, an oversized message, a
/// truncated one and a 0xFF reset.
#[test]
fn errors_do_not_allocate() {
    let mut data = b"garbage\r\n{\"return\": \"".to_vec();
    data.resize(data.len() + 10_000, b'x');
    data.extend_from_slice(
        b"\"}\r\n{\"return\": [1,\r\n{\"execute\": \"qu\xff{\"return\": {}}\r\n",
    );
    let (allocs, (errors, frames)) = allocations(|| {
        let mut framer = Framer::new([0u8; 4096]);
        let (mut errors, mut frames) = (0, 0);
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = framer.push(&rest[..rest.len().min(100)]);
            rest = &rest[n..];
            while let Some(item) = framer.next() {
                match item {
                    Ok(_) => frames += 1,
                    Err(e) => {
                        // Display must not need the heap either: format into a stack buffer.
                        let mut buf = [0u8; 256];
                        let mut w = StackWriter(&mut buf, 0);
                        std::fmt::Write::write_fmt(&mut w, format_args!("{e}")).unwrap();
                        assert!(w.1 > 0);
                        errors += 1;
                    }
                }
            }
        }
        framer.finish();
        assert!(framer.next().is_none());
        (errors, frames)
    });
    assert_eq!((errors, frames), (4, 1));
    assert_eq!(allocs, 0, "error handling allocated {allocs} times");
}

struct StackWriter<'a>(&'a mut [u8], usize);

impl std::fmt::Write for StackWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.1 + s.len();
        self.0
            .get_mut(self.1..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.1 = end;
        Ok(())
    }
}

/// The counter works: a deliberate allocation is seen.
#[test]
fn the_counter_sees_allocations() {
    let (allocs, v) = allocations(|| Vec::<u8>::with_capacity(1));
    assert!(allocs >= 1, "the counting allocator missed an allocation");
    drop(v);
    let (allocs, _) = allocations(|| std::hint::black_box(Box::new(7u64)));
    assert!(allocs >= 1, "the counting allocator missed a Box");
    let (allocs, ()) = allocations(|| ());
    assert_eq!(allocs, 0);
}

//! The event queue: whole events as bytes, one after the other, in a fixed array.

/// Each entry: its length (4 bytes, little endian), then its bytes. Entries live in
/// `buf[head..tail]`, oldest first.
pub(super) struct EventQueue<const E: usize> {
    buf: [u8; E],
    head: usize,
    tail: usize,
    len: usize,
    dropped: u64,
}

/// The bytes an entry takes besides its content.
const HEADER: usize = 4;

impl<const E: usize> EventQueue<E> {
    pub(super) const fn new() -> Self {
        Self {
            buf: [0; E],
            head: 0,
            tail: 0,
            len: 0,
            dropped: 0,
        }
    }

    pub(super) const fn len(&self) -> usize {
        self.len
    }

    pub(super) const fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) const fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Queue a copy of `bytes`, or count it as dropped when it does not fit.
    pub(super) fn push(&mut self, bytes: &[u8]) {
        let Some(need) = bytes.len().checked_add(HEADER) else {
            self.dropped += 1;
            return;
        };
        if E - self.tail < need && self.head > 0 {
            // Move the queued entries to the front.
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        let (Ok(len), Some(room)) = (
            u32::try_from(bytes.len()),
            self.buf.get_mut(self.tail..self.tail.saturating_add(need)),
        ) else {
            self.dropped += 1;
            return;
        };
        let (header, content) = room.split_at_mut(HEADER);
        header.copy_from_slice(&len.to_le_bytes());
        content.copy_from_slice(bytes);
        self.tail += need;
        self.len += 1;
    }

    /// The oldest entry, taken off the queue.
    pub(super) fn pop(&mut self) -> Option<&[u8]> {
        if self.len == 0 {
            return None;
        }
        let header = self.buf.get(self.head..self.head + HEADER)?;
        let len = u32::from_le_bytes(header.try_into().ok()?) as usize;
        let start = self.head + HEADER;
        let end = start + len;
        self.len -= 1;
        if self.len == 0 {
            // Empty: start from the front again (the bytes stay until the next push).
            self.head = 0;
            self.tail = 0;
        } else {
            self.head = end;
        }
        self.buf.get(start..end)
    }
}

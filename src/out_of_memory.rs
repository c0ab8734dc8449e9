//! The binary's allocator: the system's, with a one-line message and exit code 1 when the
//! system refuses memory, instead of Rust's abort (exit 134 after "memory allocation of N
//! bytes failed"). The limits (`--max-megapixels`, `--max-answer-mib`, FFmpeg's
//! `av_max_alloc`) refuse hostile input before this is reached; this is the last line under
//! an address-space cap (a container, `ulimit -v`).

use std::alloc::{GlobalAlloc, Layout, System};

pub struct ReportingAllocator;

// SAFETY: every call forwards to the system allocator with the same arguments; a refusal
// ends the process without returning.
unsafe impl GlobalAlloc for ReportingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let pointer = unsafe { System.alloc(layout) };
        if pointer.is_null() {
            refused(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if pointer.is_null() {
            refused(layout.size());
        }
        pointer
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if moved.is_null() {
            refused(new_size);
        }
        moved
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(pointer, layout) }
    }
}

/// Writes the message without allocating (there is no memory) and exits.
fn refused(size: usize) -> ! {
    let mut message = [0u8; 160];
    let mut length = 0;
    let mut put = |bytes: &[u8]| {
        for &b in bytes {
            if length < message.len() {
                message[length] = b;
                length += 1;
            }
        }
    };
    put(b"framekit: out of memory: the system refused ");
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut value = size;
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    put(&digits[at..]);
    put(b" bytes (lower the limits, or give framekit more memory)\n");
    // SAFETY: writes our own stack buffer to stderr, then ends the process at once (no
    // destructors, no further allocation).
    unsafe {
        libc::write(2, message.as_ptr().cast(), length);
        libc::_exit(1);
    }
}

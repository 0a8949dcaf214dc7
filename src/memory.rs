//! Running out of memory: an allocation that fails ends the run with a
//! message and exit status 1 (SPEC section 7), like any other error,
//! instead of Rust's default abort (status 134, no `rbag:` line). The few
//! places that can do without the memory (a record too long to hold)
//! ask for it with [`fallible`] and report their own error instead.
//!
//! The allocator is the system's; this wrapper only looks at failures.
//! It is the second and last use of `unsafe` in rbag: a global allocator
//! cannot be written without it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

thread_local! {
    /// Whether this thread's allocations may fail back to their caller.
    /// (A `const` thread local allocates nothing, so the allocator may
    /// read it.)
    static FALLIBLE: Cell<bool> = const { Cell::new(false) };
}

/// Run `reserve` (a `try_reserve`) so that an allocation that fails in it
/// comes back as its error instead of ending the run.
pub fn fallible<T>(reserve: impl FnOnce() -> T) -> T {
    let before = FALLIBLE.with(|f| f.replace(true));
    let result = reserve();
    FALLIBLE.with(|f| f.set(before));
    result
}

/// The system allocator, ending the run with a message when it fails.
pub struct Allocator;

/// Leave with status 1, saying how much memory was asked for. Nothing
/// here allocates: the message is built on the stack.
#[cold]
fn out_of_memory(layout: Layout) -> ! {
    let mut message = [0u8; 128];
    let mut cursor = std::io::Cursor::new(&mut message[..]);
    let _ = writeln!(
        cursor,
        "rbag: out of memory: {} more bytes could not be allocated",
        layout.size()
    );
    let written = cursor.position() as usize;
    let _ = rustix::io::write(rustix::stdio::stderr(), &message[..written]);
    std::process::exit(crate::error::EXIT_RUNTIME.into())
}

#[allow(unsafe_code)]
// SAFETY: every call is passed to `System` unchanged, with the caller's
// own guarantees; a null result is either handed back (under
// `fallible`, as `GlobalAlloc` allows) or ends the process.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() && !FALLIBLE.with(Cell::get) {
            out_of_memory(layout);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() && !FALLIBLE.with(Cell::get) {
            out_of_memory(layout);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() && !FALLIBLE.with(Cell::get) {
            let asked = Layout::from_size_align(new_size, layout.align()).unwrap_or(layout);
            out_of_memory(asked);
        }
        new
    }
}

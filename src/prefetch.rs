//! The one use of `unsafe` in rbag: asking the processor to start loading
//! a cache line that will be needed soon.
//!
//! A count table too large for the cache misses memory on nearly every
//! lookup; hinting the slots of the next few keys while earlier ones are
//! counted lets those misses overlap instead of following one another.

/// Start loading the cache line that holds `value`.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: a prefetch is only a hint. It reads nothing into the program,
    // writes nothing and cannot fault, whatever the address; this one is
    // even a live reference.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

//! A multi-threaded allocation benchmark: THREADS threads (first argument,
//! default 4) each run ROUNDS (second argument, default 200000) rounds of
//! allocating a Vec of a pseudo-random size (16 B to 4 KiB) into a window of
//! 64 live allocations, freeing the one it replaces: the pattern of a server
//! building small request and response objects on every worker thread.
//! It prints the allocator it was built with and the elapsed time.
use std::time::Instant;

#[cfg(feature = "mimalloc")]
mod mi {
    use std::alloc::{GlobalAlloc, Layout};
    use std::os::raw::c_void;

    extern "C" {
        fn mi_malloc_aligned(size: usize, alignment: usize) -> *mut c_void;
        fn mi_zalloc_aligned(size: usize, alignment: usize) -> *mut c_void;
        fn mi_realloc_aligned(p: *mut c_void, newsize: usize, alignment: usize) -> *mut c_void;
        fn mi_free(p: *mut c_void);
    }

    pub struct MiMalloc;

    // SAFETY: mimalloc's aligned API returns memory of at least `size`
    // bytes aligned to `alignment` (or null), and mi_free and
    // mi_realloc_aligned accept exactly the pointers it returned.
    unsafe impl GlobalAlloc for MiMalloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            mi_free(ptr as *mut c_void)
        }
    }
}

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mi::MiMalloc = mi::MiMalloc;

const ALLOCATOR: &str = if cfg!(feature = "mimalloc") { "mimalloc" } else { "system" };

fn work(seed: u64, rounds: usize) -> u64 {
    let mut x = seed | 1;
    let mut live: Vec<Vec<u8>> = (0..64).map(|_| Vec::new()).collect();
    let mut check = 0u64;
    for _ in 0..rounds {
        // xorshift64: the same sequence for every allocator.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let size = 16 + (x % 4081) as usize;
        let slot = (x >> 32) as usize % live.len();
        let mut v = Vec::with_capacity(size);
        v.resize(size, x as u8);
        check = check.wrapping_add(v[size - 1] as u64);
        live[slot] = v;
    }
    check
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|i| std::thread::spawn(move || work(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1), rounds)))
        .collect();
    let check: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let elapsed = start.elapsed();
    println!(
        "threads: allocator {}, {} threads x {} rounds, checksum {}, elapsed_ns {}",
        ALLOCATOR,
        threads,
        rounds,
        check,
        elapsed.as_nanos()
    );
}

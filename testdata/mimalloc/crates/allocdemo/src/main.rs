//! A binary whose global allocator is mimalloc, called through its C API.
//! It counts the calls it serves and asks mimalloc whether live Rust
//! allocations (Box, Vec, String, an over-aligned Box, a thread's Vec) are
//! in mimalloc's heap, and that a stack and a static address are not, so
//! its output says which allocator served the program.
use std::alloc::{GlobalAlloc, Layout};
use std::os::raw::{c_int, c_void};
use std::process::exit;
use std::sync::atomic::{AtomicUsize, Ordering};

extern "C" {
    fn mi_malloc_aligned(size: usize, alignment: usize) -> *mut c_void;
    fn mi_zalloc_aligned(size: usize, alignment: usize) -> *mut c_void;
    fn mi_realloc_aligned(p: *mut c_void, newsize: usize, alignment: usize) -> *mut c_void;
    fn mi_free(p: *mut c_void);
    fn mi_usable_size(p: *const c_void) -> usize;
    fn mi_is_in_heap_region(p: *const c_void) -> bool;
    fn mi_version() -> c_int;
}

struct MiMalloc;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static REALLOCS: AtomicUsize = AtomicUsize::new(0);
static FREES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: mimalloc's aligned API returns memory of at least `size` bytes
// aligned to `alignment` (or null), and mi_free/mi_realloc_aligned accept
// exactly the pointers it returned.
unsafe impl GlobalAlloc for MiMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS.fetch_add(1, Ordering::Relaxed);
        mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        FREES.fetch_add(1, Ordering::Relaxed);
        mi_free(ptr as *mut c_void)
    }
}

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

#[repr(align(4096))]
struct Page([u8; 4096]);

static NOT_HEAP: [u8; 16] = [7; 16];

fn in_heap(what: &str, p: *const u8, size: usize, failures: &mut Vec<String>) {
    // SAFETY: mimalloc's queries accept any address; p is live when in the heap.
    let (owned, usable) = unsafe {
        let owned = mi_is_in_heap_region(p as *const c_void);
        (owned, if owned { mi_usable_size(p as *const c_void) } else { 0 })
    };
    if !owned {
        failures.push(format!("{} at {:p} is not in mimalloc's heap", what, p));
    } else if usable < size {
        failures.push(format!("{} has {} usable bytes, want {}", what, usable, size));
    }
}

fn main() {
    let mut failures = Vec::new();
    let boxed = Box::new([0x5au64; 64]);
    let mut v: Vec<u32> = Vec::new();
    for i in 0..10_000 {
        v.push(i); // grows through realloc
    }
    let s = format!("{} numbers, sum {}", v.len(), v.iter().map(|&x| x as u64).sum::<u64>());
    let page = Box::new(Page([1; 4096]));
    let zeroed = vec![0u8; 1 << 20];
    let from_thread = std::thread::spawn(|| (0..1000u64).collect::<Vec<_>>()).join().unwrap_or_default();

    in_heap("Box<[u64; 64]>", boxed.as_ptr() as *const u8, 512, &mut failures);
    in_heap("Vec<u32>", v.as_ptr() as *const u8, v.len() * 4, &mut failures);
    in_heap("String", s.as_ptr(), s.len(), &mut failures);
    in_heap("Box<Page> (align 4096)", page.0.as_ptr(), 4096, &mut failures);
    in_heap("vec![0u8; 1 MiB]", zeroed.as_ptr(), zeroed.len(), &mut failures);
    in_heap("a thread's Vec<u64>", from_thread.as_ptr() as *const u8, 8000, &mut failures);
    if (&*page as *const Page as usize) % 4096 != 0 {
        failures.push("Box<Page> is not 4096-aligned".to_string());
    }
    if zeroed.iter().any(|&b| b != 0) || boxed[63] != 0x5a || from_thread[999] != 999 {
        failures.push("allocated memory does not hold what was written".to_string());
    }
    // The check must be able to say no: a stack and a static address.
    let on_stack = 0u64;
    // SAFETY: mimalloc's query accepts any address.
    if unsafe { mi_is_in_heap_region(&on_stack as *const u64 as *const c_void) || mi_is_in_heap_region(NOT_HEAP.as_ptr() as *const c_void) } {
        failures.push("mimalloc claims a stack or static address".to_string());
    }

    let (allocs, reallocs, frees) =
        (ALLOCS.load(Ordering::Relaxed), REALLOCS.load(Ordering::Relaxed), FREES.load(Ordering::Relaxed));
    println!("allocdemo on {}", env!("ALLOCDEMO_TARGET"));
    println!("{}", s);
    // SAFETY: mi_version has no preconditions.
    let version = unsafe { mi_version() };
    if allocs == 0 || reallocs == 0 {
        failures.push(format!("the global allocator served {} allocations and {} reallocations", allocs, reallocs));
    }
    if failures.is_empty() {
        println!(
            "allocator: mimalloc {}, {} allocations, {} reallocations, {} frees, heap check ok",
            version, allocs, reallocs, frees
        );
    } else {
        println!("allocator: mimalloc {}, heap check FAILED: {}", version, failures.join("; "));
        exit(1);
    }
}

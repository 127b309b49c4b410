//! `Allocator`: the process's global allocator, mimalloc with a short path for ordinary
//! alignments, and on the engine's thread a short stack of recently freed small blocks.
//!
//! The `mimalloc` crate sends every request through mimalloc's aligned entry points, which cost
//! a few dozen instructions more than plain `mi_malloc` even when the alignment asked for is the
//! one every block has anyway. A simulation allocates a message envelope and a queue node for
//! each actor message, so that difference is measurable (see BENCHMARKS.md). Requests whose
//! alignment is at most a machine word, which every mimalloc block already has, go to the plain
//! entry points; stricter ones (tokio's cache-padded task cells, for one) keep the aligned ones.
//!
//! **Recent blocks.** mimalloc hands out a page's free blocks in list order and puts freed ones
//! on a second list that it takes up only when the first runs dry, so the block a simulation
//! gets for its next message may have been freed hundreds of blocks ago, and be out of the
//! processor's first-level cache: the first write into it waits (BENCHMARKS.md, twelfth
//! session: the cache simulator counts 65 first-level data misses per attempt with mimalloc
//! alone, 34 with this stack). A thread that calls [`keep_recent_blocks`] (the engine's runner
//! does) keeps up to [`RECENT_DEPTH`] freed blocks per 16-byte size class up to
//! [`RECENT_MAX_BYTES`], and hands the most recently freed one out first. The blocks go back
//! to mimalloc when the thread ends. Other threads never keep any.
//!
//! So that any block of a class can serve any request of that class, a request of up to
//! `RECENT_MAX_BYTES` bytes (word-aligned) is always rounded up to its class's size, on every
//! thread and by `realloc` too: a block freed on the engine's thread may have been allocated on
//! another.
//!
//! It owns that choice and the per-thread stacks; it must not keep anything else.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ffi::c_void;

/// Every mimalloc block is aligned to at least a machine word.
const WORD: usize = std::mem::size_of::<usize>();

/// The width of a size class of recent blocks.
const CLASS_BYTES: usize = 16;
/// The largest request served from recent blocks: the engine's message envelopes, event
/// buffers, call machines and attempt records are all at most this.
pub const RECENT_MAX_BYTES: usize = 512;
const CLASSES: usize = RECENT_MAX_BYTES / CLASS_BYTES;
/// How many freed blocks of one class a thread keeps.
pub const RECENT_DEPTH: usize = 32;

/// One thread's recent blocks: a stack per class, the most recently freed on top.
struct Recent {
    /// False until the thread asks for it, and again once the thread is ending.
    enabled: bool,
    held: [u8; CLASSES],
    blocks: [[*mut u8; RECENT_DEPTH]; CLASSES],
}

thread_local! {
    // No destructor, so it can be reached at any point of the thread's life, its end included:
    // the blocks are given back by `GiveBackAtExit`, and a later free goes straight to mimalloc.
    static RECENT: UnsafeCell<Recent> = const {
        UnsafeCell::new(Recent {
            enabled: false,
            held: [0; CLASSES],
            blocks: [[std::ptr::null_mut(); RECENT_DEPTH]; CLASSES],
        })
    };
    static GIVE_BACK_AT_EXIT: GiveBackAtExit = const { GiveBackAtExit };
}

/// Gives a thread's recent blocks back to mimalloc when the thread ends.
struct GiveBackAtExit;

impl Drop for GiveBackAtExit {
    fn drop(&mut self) {
        give_back_recent_blocks();
    }
}

/// Stops keeping blocks on this thread and gives the ones held back to mimalloc.
fn give_back_recent_blocks() {
    with_recent(|recent| {
        recent.enabled = false;
        for class in 0..CLASSES {
            for &block in &recent.blocks[class][..usize::from(recent.held[class])] {
                // SAFETY: a held block came from mimalloc and is owned by nobody else.
                unsafe { mi::mi_free(block.cast::<c_void>()) };
            }
            recent.held[class] = 0;
        }
    });
}

/// How many freed blocks this thread holds now.
#[cfg(test)]
fn recent_blocks_held() -> usize {
    with_recent(|recent| recent.held.iter().map(|&held| usize::from(held)).sum())
}

/// Runs `work` on this thread's recent blocks. Nothing in `work` may allocate or free through
/// the global allocator (it would reach the same `Recent` again): mimalloc's own calls do not.
#[inline(always)]
fn with_recent<R>(work: impl FnOnce(&mut Recent) -> R) -> R {
    // SAFETY: the `Recent` is this thread's alone, and no caller lets the `&mut` escape or
    // re-enters (see above), so it is the only reference while `work` runs.
    RECENT.with(|recent| work(unsafe { &mut *recent.get() }))
}

/// From now on this thread keeps recently freed small blocks for its next requests (see the
/// module docs). The engine's runner calls it for its thread.
pub fn keep_recent_blocks() {
    // The first touch registers the destructor that gives the blocks back at the thread's end.
    GIVE_BACK_AT_EXIT.with(|_| {});
    with_recent(|recent| recent.enabled = true);
}

/// The size class of a word-aligned request of `size` bytes, if it is small enough to have one.
#[inline(always)]
fn class_of(size: usize) -> Option<usize> {
    (size <= RECENT_MAX_BYTES).then(|| size.saturating_sub(1) / CLASS_BYTES)
}

/// What is asked of mimalloc for a word-aligned request: a small one is rounded up to its
/// class's size (see the module docs).
#[inline(always)]
fn rounded(size: usize) -> usize {
    match class_of(size) {
        Some(class) => (class + 1) * CLASS_BYTES,
        None => size,
    }
}

/// mimalloc, with plain (unaligned) entry points wherever a word's alignment is enough, and
/// recent blocks on threads that keep them.
pub struct Allocator;

// SAFETY: each method forwards to the mimalloc function with the same contract, or hands out a
// block that such a function made. Blocks from `mi_malloc`/`mi_zalloc`/`mi_realloc` are
// word-aligned, which satisfies every layout sent to them (alignment <= WORD); larger alignments
// use mimalloc's aligned functions. A recent block of class `c` was made for a word-aligned
// request rounded up to `(c + 1) * CLASS_BYTES` bytes (every such request is rounded, by every
// method), so it is large enough and aligned for any request of that class, and it is held by
// nobody once freed. mimalloc frees any of its blocks with `mi_free`, however it was allocated.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > WORD {
            return unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 };
        }
        let Some(class) = class_of(layout.size()) else {
            return unsafe { mi::mi_malloc(layout.size()) as *mut u8 };
        };
        let recent = with_recent(|recent| {
            let held = usize::from(recent.held[class]);
            if held == 0 {
                return None;
            }
            recent.held[class] -= 1;
            Some(recent.blocks[class][held - 1])
        });
        match recent {
            Some(block) => block,
            None => unsafe { mi::mi_malloc((class + 1) * CLASS_BYTES) as *mut u8 },
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= WORD {
                mi::mi_zalloc(rounded(layout.size())) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= WORD
            && let Some(class) = class_of(layout.size())
        {
            let kept = with_recent(|recent| {
                let held = usize::from(recent.held[class]);
                if !recent.enabled || held == RECENT_DEPTH {
                    return false;
                }
                recent.blocks[class][held] = ptr;
                recent.held[class] += 1;
                true
            });
            if kept {
                return;
            }
        }
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr as *mut c_void, rounded(new_size)) as *mut u8
            } else {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for() {
        for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in [1, 7, 8, 9, 24, 40, 100, 1000, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                unsafe {
                    let p = Allocator.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xAB, size);
                    let q = Allocator.realloc(p, layout, size * 3);
                    assert_eq!(q as usize % align, 0, "realloc size {size} align {align}");
                    assert_eq!(*q, 0xAB);
                    assert_eq!(*q.add(size - 1), 0xAB);
                    Allocator.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = Allocator.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    Allocator.dealloc(z, layout);
                }
            }
        }
    }

    // In mimalloc's core API, which `libmimalloc-sys` declares only with its `extended` feature.
    unsafe extern "C" {
        fn mi_usable_size(block: *const c_void) -> usize;
    }

    fn on_a_new_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
        std::thread::scope(|scope| scope.spawn(work).join().expect("the thread runs"))
    }

    #[test]
    fn a_thread_that_keeps_recent_blocks_gets_the_last_freed_one_first() {
        on_a_new_thread(|| unsafe {
            keep_recent_blocks();
            let small = Layout::from_size_align(40, 8).unwrap();
            let blocks: Vec<*mut u8> = (0..RECENT_DEPTH + 8)
                .map(|_| Allocator.alloc(small))
                .collect();
            for &block in &blocks {
                Allocator.dealloc(block, small);
            }
            assert_eq!(
                recent_blocks_held(),
                RECENT_DEPTH,
                "the rest went back to mimalloc"
            );
            // Any request of the same class (33 to 48 bytes) gets them back, last freed first.
            let same_class = Layout::from_size_align(48, 8).unwrap();
            let mut taken = Vec::new();
            for &expected in blocks[..RECENT_DEPTH].iter().rev() {
                let block = Allocator.alloc(same_class);
                assert_eq!(block, expected);
                block.write_bytes(0xCD, 48);
                Allocator.dealloc(block, same_class);
                let again = Allocator.alloc(same_class);
                assert_eq!(again, expected);
                // Kept out of the stack so the next round sees the next one.
                taken.push(again);
            }
            assert_eq!(recent_blocks_held(), 0);
            // Another class is a stack of its own; larger or stricter requests keep none.
            let other = Layout::from_size_align(100, 8).unwrap();
            let large = Layout::from_size_align(RECENT_MAX_BYTES + 1, 8).unwrap();
            let aligned = Layout::from_size_align(40, 32).unwrap();
            for layout in [other, large, aligned] {
                let block = Allocator.alloc(layout);
                Allocator.dealloc(block, layout);
            }
            assert_eq!(recent_blocks_held(), 1);
            give_back_recent_blocks();
            assert_eq!(recent_blocks_held(), 0);
            // Once given back (the thread's end), frees go straight to mimalloc.
            let block = Allocator.alloc(small);
            Allocator.dealloc(block, small);
            assert_eq!(recent_blocks_held(), 0);
            for block in taken {
                Allocator.dealloc(block, same_class);
            }
            assert_eq!(recent_blocks_held(), 0);
        });
    }

    #[test]
    fn other_threads_keep_no_blocks() {
        on_a_new_thread(|| unsafe {
            let layout = Layout::from_size_align(24, 8).unwrap();
            let block = Allocator.alloc(layout);
            Allocator.dealloc(block, layout);
            assert_eq!(recent_blocks_held(), 0);
        });
    }

    #[test]
    fn every_small_block_has_its_whole_class_however_it_was_made() {
        on_a_new_thread(|| unsafe {
            for size in 1..=RECENT_MAX_BYTES {
                let class_bytes = rounded(size);
                assert!(class_bytes >= size && class_bytes.is_multiple_of(CLASS_BYTES));
                let layout = Layout::from_size_align(size, 8).unwrap();
                for block in [Allocator.alloc(layout), Allocator.alloc_zeroed(layout)] {
                    assert!(mi_usable_size(block.cast()) >= class_bytes, "size {size}");
                    Allocator.dealloc(block, layout);
                }
                // Grown or shrunk into this class from a larger or smaller block.
                for from in [
                    1,
                    size.saturating_sub(1).max(1),
                    2 * size,
                    RECENT_MAX_BYTES + 100,
                ] {
                    let start = Layout::from_size_align(from, 8).unwrap();
                    let block = Allocator.alloc(start);
                    let moved = Allocator.realloc(block, start, size);
                    assert!(
                        mi_usable_size(moved.cast()) >= class_bytes,
                        "{from} -> {size}"
                    );
                    Allocator.dealloc(moved, layout);
                }
            }
        });
    }
}

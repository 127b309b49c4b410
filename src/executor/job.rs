//! `Job`: one message on its way to an engine actor, with the code that hands it to the actor's
//! handler, held inline rather than in a box of its own.
//!
//! A simulated attempt sends about seven messages. Boxed, each costs an allocation and a free,
//! and the allocator hands back a block last touched long ago, so the first write into it waits
//! for memory (BENCHMARKS.md, twelfth session). Inline, the message travels in the job itself and
//! sits in the receiving actor's inbox, a ring buffer that is reused and warm. A message larger
//! than [`Job::INLINE_BYTES`] (or aligned more strictly than a word) is boxed, inside the job, as
//! every message was before.
//!
//! It owns that storage and nothing else: it must not know about any actor or message type, and
//! the only unsafe code here is the type erasure, each step of which has its SAFETY comment.

use super::actors::Cell;
use std::mem::{ManuallyDrop, MaybeUninit};

/// A message and the handler call that takes it, with the message's type erased.
pub(crate) struct Job {
    /// The message itself (`Inline`) or a `Box` of it (`Boxed`); see `Erased`.
    payload: MaybeUninit<[u64; Job::INLINE_WORDS]>,
    erased: &'static Erased,
}

/// What a job does with its payload, made once per message type.
struct Erased {
    /// Moves the message out of the payload and hands it to the actor in the cell. Returns
    /// whether the actor is still running.
    run: unsafe fn(*mut u8, &mut dyn Cell) -> bool,
    /// Drops the message in the payload (a job dropped undelivered).
    discard: unsafe fn(*mut u8),
}

/// How to take a message of type `M` out of a payload and hand it on. `handle` is the receiving
/// actor's handler call, which downcasts the cell.
trait Delivery<M> {
    const ERASED: Erased;
}

struct Inline<M, H>(std::marker::PhantomData<(M, H)>);
struct Boxed<M, H>(std::marker::PhantomData<(M, H)>);

/// The handler side of a job: hands `message` to the actor in `cell` (if it is of the expected
/// type) and says whether it is still running.
pub(crate) trait Handoff<M>: 'static {
    fn hand(message: M, cell: &mut dyn Cell) -> bool;
}

impl<M: 'static, H: Handoff<M>> Delivery<M> for Inline<M, H> {
    const ERASED: Erased = Erased {
        // SAFETY (both): `Job::new` wrote an `M` at the start of the payload when it chose this
        // delivery, and `Job` calls exactly one of the two, once, on that payload.
        run: |payload, cell| H::hand(unsafe { payload.cast::<M>().read() }, cell),
        discard: |payload| unsafe { payload.cast::<M>().drop_in_place() },
    };
}

impl<M: 'static, H: Handoff<M>> Delivery<M> for Boxed<M, H> {
    const ERASED: Erased = Erased {
        // SAFETY (both): `Job::new` wrote a `Box<M>` at the start of the payload when it chose
        // this delivery, and `Job` calls exactly one of the two, once, on that payload.
        run: |payload, cell| H::hand(*unsafe { payload.cast::<Box<M>>().read() }, cell),
        discard: |payload| unsafe { payload.cast::<Box<M>>().drop_in_place() },
    };
}

impl Job {
    const INLINE_WORDS: usize = 10;
    /// The largest message carried inline: the engine's messages with their in-flight token
    /// (a call's update, a switch command) are 80 bytes at most.
    pub(crate) const INLINE_BYTES: usize = Job::INLINE_WORDS * 8;

    /// A job that hands `message` to `H`'s actor.
    #[inline(always)]
    pub(crate) fn new<M: Send + 'static, H: Handoff<M>>(message: M) -> Job {
        let mut payload = MaybeUninit::<[u64; Job::INLINE_WORDS]>::uninit();
        let fits = size_of::<M>() <= Job::INLINE_BYTES && align_of::<M>() <= align_of::<u64>();
        let erased: &'static Erased = if fits {
            // SAFETY: the payload is at least `size_of::<M>()` bytes and aligned for `M` (just
            // checked), and uninitialised, so nothing is overwritten.
            unsafe { payload.as_mut_ptr().cast::<M>().write(message) };
            &<Inline<M, H> as Delivery<M>>::ERASED
        } else {
            // SAFETY: a `Box` is one word, aligned to a word, and the payload is larger.
            unsafe { payload.as_mut_ptr().cast::<Box<M>>().write(Box::new(message)) };
            &<Boxed<M, H> as Delivery<M>>::ERASED
        };
        Job { payload, erased }
    }

    /// Hands the message to the actor in `cell`. Returns whether the actor is still running.
    #[inline(always)]
    pub(crate) fn run(self, cell: &mut dyn Cell) -> bool {
        // The message leaves the job here: the job must not drop it again.
        let mut job = ManuallyDrop::new(self);
        let run = job.erased.run;
        // SAFETY: the payload holds what `erased` was chosen for (see `Job::new`), and the
        // `ManuallyDrop` keeps `discard` from running on it after `run` has moved it out.
        unsafe { run(job.payload.as_mut_ptr().cast::<u8>(), cell) }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: a job not yet run still holds what `erased` was chosen for.
        unsafe { (self.erased.discard)(self.payload.as_mut_ptr().cast::<u8>()) }
    }
}

// SAFETY: `Job::new` takes only `M: Send`, and the payload is that message (or a box of it);
// `Erased` is a pair of plain functions.
unsafe impl Send for Job {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A cell-less handoff that records what it was given.
    struct Record;

    thread_local! {
        static SEEN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    impl<M: std::fmt::Debug + 'static> Handoff<M> for Record {
        fn hand(message: M, _cell: &mut dyn Cell) -> bool {
            SEEN.with(|seen| seen.borrow_mut().push(format!("{message:?}")));
            true
        }
    }

    struct NoCell;
    impl Cell for NoCell {
        fn start(&mut self) -> bool {
            true
        }
        fn settle(&mut self, _orphaned: bool) -> bool {
            false
        }
    }

    fn seen() -> Vec<String> {
        SEEN.with(|seen| std::mem::take(&mut *seen.borrow_mut()))
    }

    #[test]
    fn small_and_large_messages_reach_the_handler_intact() {
        let small = (1u8, 2u32, String::from("small"));
        let large = [7u64; 16];
        let aligned = Aligned(42);
        Job::new::<_, Record>(small.clone()).run(&mut NoCell);
        Job::new::<_, Record>(large).run(&mut NoCell);
        Job::new::<_, Record>(aligned).run(&mut NoCell);
        Job::new::<_, Record>([3u8; Job::INLINE_BYTES]).run(&mut NoCell);
        assert_eq!(
            seen(),
            [
                format!("{small:?}"),
                format!("{large:?}"),
                "Aligned(42)".to_string(),
                format!("{:?}", [3u8; Job::INLINE_BYTES]),
            ]
        );
    }

    #[derive(Debug)]
    #[repr(align(32))]
    struct Aligned(u8);

    /// Counts its drops through a shared counter.
    #[derive(Debug)]
    struct Counted(Arc<()>);

    #[test]
    fn a_message_is_dropped_exactly_once_whether_run_or_discarded() {
        let token = Arc::new(());
        let small = Job::new::<_, Record>(Counted(token.clone()));
        let large = Job::new::<_, Record>((Counted(token.clone()), [0u64; 16]));
        assert_eq!(Arc::strong_count(&token), 3);
        drop(small);
        assert_eq!(Arc::strong_count(&token), 2);
        drop(large);
        assert_eq!(Arc::strong_count(&token), 1);
        Job::new::<_, Record>(Counted(token.clone())).run(&mut NoCell);
        Job::new::<_, Record>((Counted(token.clone()), [0u64; 16])).run(&mut NoCell);
        assert_eq!(Arc::strong_count(&token), 1);
        seen();
    }
}

//! The `patchbay` binary: everything is in the library; this picks the allocator and
//! hands over to the CLI.

fn main() -> std::process::ExitCode {
    #[cfg(feature = "mimalloc")]
    allocator::return_freed_memory_sooner();
    patchbay::cli::main()
}

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "mimalloc")]
mod allocator {
    use libmimalloc_sys::{mi_option_set, mi_option_t};

    /// `mi_option_purge_delay` in mimalloc 3's `mi_option_t`; the bindings name the
    /// options around it but not this one. The test below checks the index.
    const PURGE_DELAY: mi_option_t = 15;
    /// How long freed memory stays resident before it is returned to the OS.
    /// mimalloc 3's default (1,000 ms) outlasts a whole extraction of 100,000 records,
    /// so the buffers a keyed run outgrew were all still resident at its end (36 MB
    /// instead of 31). At 0 the kernel's share of an extraction grew by a sixth.
    const PURGE_DELAY_MS: i64 = 100;

    /// Sets the purge delay, unless the operator chose one (`MIMALLOC_PURGE_DELAY`).
    pub fn return_freed_memory_sooner() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: sets an integer option; mimalloc reads options atomically.
            unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use libmimalloc_sys::mi_option_get;

        /// A mimalloc upgrade that renumbers its options must not set another one:
        /// the index still holds the purge delay's documented default.
        #[test]
        fn the_index_is_the_purge_delay() {
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                // SAFETY: reads an integer option.
                assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, 1_000);
            }
        }
    }
}

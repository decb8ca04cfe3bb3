//! The `patchbay` binary: everything is in the library; this picks the allocator and
//! hands over to the CLI.

fn main() -> std::process::ExitCode {
    patchbay::cli::main()
}

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

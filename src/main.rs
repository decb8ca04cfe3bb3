fn main() -> std::process::ExitCode {
    patchbay::cli::main()
}

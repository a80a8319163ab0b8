fn main() -> std::process::ExitCode {
    lighthouse::cli::main()
}

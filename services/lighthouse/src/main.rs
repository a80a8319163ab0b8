// mimalloc, overriding malloc for C code too (the shell parser): the policy allocates
// and frees much per call, and glibc's malloc made a call's first run 1.5x slower.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lighthouse::cli::main()
}

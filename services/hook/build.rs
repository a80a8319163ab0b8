//! The hook starts once per tool call: linked as a position-dependent executable, it
//! has no run-time relocations to apply (a PIE build spent about a third of its start
//! there, touching every relocated page), and binds library symbols on first call, not
//! all at start (`-z lazy`: a call uses few of them). GNU toolchains on Linux only.
fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os == "linux" && target_env == "gnu" {
        println!("cargo:rustc-link-arg-bin=lighthouse-hook=-no-pie");
        println!("cargo:rustc-link-arg-bin=lighthouse-hook=-Wl,-z,lazy");
    }
}

//! The hook starts once per tool call: linked as a position-dependent executable, it
//! has no run-time relocations to apply (a PIE build spent about a third of its start
//! there, touching every relocated page).
fn main() {
    println!("cargo:rustc-link-arg-bin=lighthouse-hook=-no-pie");
}

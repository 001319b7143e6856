// `sqlx::migrate!` embeds the files of migrations/ at compile time, but on stable Rust it
// cannot tell cargo to look at the folder: without this, a new migration file alone would not
// rebuild the crate, and the server would start without it.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}

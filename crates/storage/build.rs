// `sqlx::migrate!` embeds the migrations at compile time; without this a migration added
// to a built checkout is silently missing from the binary until something else changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

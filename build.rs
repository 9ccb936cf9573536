//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! `migrations` folder at compile time, and cargo does not otherwise know to look there, so a
//! binary built before a new migration would go on reporting "database is up to date".
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
